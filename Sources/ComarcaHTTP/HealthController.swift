import ComarcaCore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import PGClient

/// Liveness, readiness and metrics for load balancers, orchestrators and Prometheus.
struct HealthController: Sendable {
    let database: Database
    let migrations: MigrationSource
    let metrics: HTTPMetrics

    struct Health: ResponseEncodable {
        let status: String
        let migrations: Int?
    }

    var endpoints: RouteCollection<AppRequestContext> {
        let routes = RouteCollection(context: AppRequestContext.self)
        // Alive means the process answers; it does not touch the database.
        routes.get("/healthz") { _, _ in Health(status: "ok", migrations: nil) }
        routes.get("/readyz") { _, _ in try await ready() }
        routes.get("/metrics") { _, _ in
            let text = await metrics.render(pool: database.pool)
            return Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: text)))
        }
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
