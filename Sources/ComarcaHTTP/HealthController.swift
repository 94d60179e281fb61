import ComarcaCore
import Foundation
import Hummingbird
import PGClient

/// Liveness and readiness for load balancers and orchestrators.
struct HealthController<Context: RequestContext>: Sendable {
    let database: Database
    let migrations: MigrationSource

    struct Health: ResponseEncodable {
        let status: String
        let migrations: Int?
    }

    var endpoints: RouteCollection<Context> {
        let routes = RouteCollection(context: Context.self)
        // Alive means the process answers; it does not touch the database.
        routes.get("/healthz") { _, _ in Health(status: "ok", migrations: nil) }
        routes.get("/readyz") { _, _ in try await ready() }
        return routes
    }

    /// Ready means the database answers and has exactly the migrations this build ships.
    func ready() async throws -> Health {
        let migrator = Migrator(source: migrations)
        let status = try await database.pool.withConnection { try migrator.status(on: $0) }
        guard status.isCurrent else {
            throw CoreError(.migrationsPending, "\(status.pending.count) migrations are pending")
        }
        return Health(status: "ready", migrations: status.applied.count)
    }
}
