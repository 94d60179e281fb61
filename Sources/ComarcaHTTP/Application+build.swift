public import ComarcaCore
public import Hummingbird
public import Logging
import PGClient

/// What `comarca serve` (and the tests) configure.
public struct HTTPConfiguration: Sendable {
    public var host: String
    public var port: Int

    public init(host: String = "127.0.0.1", port: Int = 8080) {
        self.host = host
        self.port = port
    }
}

public typealias AppRequestContext = BasicRequestContext

/// Builds the application; `comarca serve` runs it and the tests drive the same router.
/// The database pool is one of the application's services, so it shuts down after the server.
public func buildApplication(
    configuration: HTTPConfiguration,
    database: Database,
    migrations: MigrationSource,
    logger: Logger
) -> some ApplicationProtocol {
    let router = buildRouter(database: database, migrations: migrations)
    return Application(
        router: router,
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "comarca"),
        services: [database.pool],
        logger: logger
    )
}

public func buildRouter(database: Database, migrations: MigrationSource) -> Router<AppRequestContext> {
    let router = Router(context: AppRequestContext.self)
    router.add(middleware: ProblemMiddleware())
    router.addRoutes(HealthController<AppRequestContext>(database: database, migrations: migrations).endpoints)
    return router
}

/// Turns any error a handler throws into a problem+json response through `ErrorMapping`.
struct ProblemMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            throw Problem(code: "not-found", title: "Not found", status: .notFound)
        } catch let error as HTTPError {
            throw Problem(code: "bad-request", title: error.body ?? "Bad request", status: error.status)
        } catch {
            if !(error is Problem) {
                context.logger.error("request failed", metadata: ["error": "\(error)"])
            }
            throw ErrorMapping.problem(for: error)
        }
    }
}
