public import ComarcaCore
public import Hummingbird
public import Logging
import PGClient
import HTTPTypes
import HummingbirdCore

/// What `comarca serve` (and the tests) configure.
public struct HTTPConfiguration: Sendable {
    public var host: String
    public var port: Int

    public init(host: String = "127.0.0.1", port: Int = 8080) {
        self.host = host
        self.port = port
    }
}

/// Everything the routes need, built once per application.
public struct AppDependencies: Sendable {
    public let database: Database
    public let migrations: MigrationSource
    public let metrics: HTTPMetrics
    public let auth: AuthService
    /// Runs import jobs in the background; holds the upload settings (spool, size limit).
    public let imports: ImportJobRunner

    public init(
        database: Database, migrations: MigrationSource, metrics: HTTPMetrics = HTTPMetrics(), auth: AuthService = AuthService(),
        imports: ImportJobRunner? = nil
    ) {
        self.database = database
        self.migrations = migrations
        self.metrics = metrics
        self.auth = auth
        self.imports = imports ?? ImportJobRunner(database: database)
    }
}

/// Builds the application; `comarca serve` runs it and the tests drive the same router.
/// The database pool is one of the application's services, so it shuts down after the server.
public func buildApplication(
    configuration: HTTPConfiguration,
    dependencies: AppDependencies,
    logger: Logger
) -> some ApplicationProtocol {
    Application(
        router: buildRouter(dependencies),
        server: HTTPServerBuilder { responder in ProblemHTTP1Channel(inner: HTTP1Channel(responder: responder)) },
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "comarca"),
        services: [dependencies.database.pool],
        logger: logger
    )
}

public func buildRouter(_ dependencies: AppDependencies) -> Router<AppRequestContext> {
    let router = Router(context: AppRequestContext.self)
    router.add(middleware: RequestObservabilityMiddleware(metrics: dependencies.metrics))
    router.add(middleware: ProblemMiddleware())
    router.addRoutes(HealthController(database: dependencies.database, migrations: dependencies.migrations, metrics: dependencies.metrics).endpoints)
    OpenAPIDocument.addRoutes(to: router)

    let database = dependencies.database
    let authController = AuthController(database: database, auth: dependencies.auth)
    let api = router.group("/v1")
        .add(middleware: AuthenticationMiddleware(authenticator: CoreSessionAuthenticator(auth: dependencies.auth, pool: database.pool)))
    authController.addPublicRoutes(to: api)
    // Below here a handler cannot run without a session: AuthenticatedContext's init throws 401.
    let signedIn = api.group(context: AuthenticatedContext.self)
    authController.addRoutes(to: signedIn)
    DirectoryController(database: database).addRoutes(to: signedIn)
    ConfigurationController(database: database).addRoutes(to: signedIn)
    RecordsController(database: database).addRoutes(to: signedIn)
    AccountsActivitiesController(database: database).addRoutes(to: signedIn)
    FieldsController(database: database).addRoutes(to: signedIn)
    ImportsController(database: database, runner: dependencies.imports).addRoutes(to: signedIn)
    // Added last, so it wraps only the not-found responder: a known path with another method.
    router.add(middleware: MethodNotAllowedMiddleware(routes: router.routes.map { ($0.path.description, $0.method) }))
    return router
}

/// A request for a path the router has, with a method it does not take there: 405 with `Allow`
/// listing the methods the router registered for that path (not a hand-kept list).
struct MethodNotAllowedMiddleware<Context: RequestContext>: RouterMiddleware {
    let routes: [(segments: [Substring], method: HTTPRequest.Method)]

    init(routes: [(path: String, method: HTTPRequest.Method)]) {
        self.routes = routes.map { (segments: $0.path.split(separator: "/"), method: $0.method) }
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            let segments = request.uri.path.split(separator: "/")
            let allowed = Set(routes.filter { Self.matches($0.segments, segments) }.map(\.method.rawValue)).sorted()
            guard !allowed.isEmpty else { throw error }
            let problem = Problem(
                code: "method-not-allowed", title: "Method not allowed", status: .methodNotAllowed,
                detail: "This path takes \(allowed.joined(separator: ", ")).")
            var response = try problem.response(from: request, context: context)
            response.headers[.allow] = allowed.joined(separator: ", ")
            return response
        }
    }

    static func matches(_ template: [Substring], _ path: [Substring]) -> Bool {
        guard template.count == path.count else { return template.last == "**" && path.count >= template.count - 1 }
        return zip(template, path).allSatisfy { t, p in t == p || t == "*" || t.hasPrefix(":") || t.hasPrefix("{") }
    }
}

/// Turns any error a handler throws into a problem+json response through `ErrorMapping`.
struct ProblemMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            let request = QueryProblem.formDecoded(request)
            try QueryProblem.rejectRepeated(request)
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            throw Problem(code: "not-found", title: "Not found", status: .notFound)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw Problem(code: "body-too-large", title: "Request body too large", status: .contentTooLarge)
        } catch let error as HTTPError {
            // Never the error's own text: Hummingbird's messages can echo what the client sent.
            throw Problem(code: "bad-request", title: "Bad request", status: error.status)
        } catch let error as any HTTPResponseError where !(error is Problem) {
            // Hummingbird's and NIO's own errors (e.g. a body over maxUploadSize).
            if error.status == .contentTooLarge {
                throw Problem(code: "body-too-large", title: "Request body too large", status: .contentTooLarge)
            }
            throw Problem(code: "bad-request", title: "Bad request", status: error.status)
        } catch let error as DecodingError {
            throw ErrorMapping.problem(for: JSONBodyDecoder.problem(for: error))
        } catch {
            if !(error is Problem) && !(error is CoreError) {
                context.logger.error("request failed", metadata: ["error": "\(error)"])
            }
            throw ErrorMapping.problem(for: error)
        }
    }
}
