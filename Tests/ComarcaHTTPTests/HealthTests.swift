import ComarcaCore
import ComarcaHTTP
import ComarcaTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import PGClient
import Testing

@Suite("health and readiness through the real router")
struct HealthTests {
    /// The application as `comarca serve` builds it, connected as the application role.
    static func withApp(migrated: Bool, _ body: @escaping @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let scope: (TestDatabase) async throws -> Void = { database in
            let pool = PGPool(configuration: database.appPoolConfiguration(maxConnections: 2))
            let app = buildApplication(
                configuration: HTTPConfiguration(host: "127.0.0.1", port: 0),
                dependencies: AppDependencies(
                    database: Database(pool: pool),
                    migrations: try MigrationSource(directory: TestDatabase.migrationsDirectory)),
                logger: Logger(label: "test")
            )
            try await app.test(.router, body)
            await pool.close()
        }
        if migrated {
            try await TestDatabase.withMigrated(scope)
        } else {
            try await TestDatabase.withEmpty { database in
                // The app role must be able to connect, even to a database with no migrations.
                let owner = try database.connectAsOwner()
                try owner.simpleQuery(unsafeSQL: "GRANT CONNECT ON DATABASE \(database.name) TO \(database.appRole)")
                try await scope(database)
            }
        }
    }

    @Test("healthz answers ok without touching the database")
    func healthzAnswers() async throws {
        try await Self.withApp(migrated: true) { client in
            try await client.execute(uri: "/healthz", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body).contains("\"status\":\"ok\""))
            }
        }
    }

    @Test("readyz is 200 with the migration count when the schema is current")
    func readyzWhenCurrent() async throws {
        try await Self.withApp(migrated: true) { client in
            try await client.execute(uri: "/readyz", method: .get) { response in
                #expect(response.status == .ok)
                let count = try MigrationSource(directory: TestDatabase.migrationsDirectory).migrations.count
                #expect(String(buffer: response.body).contains("\"migrations\":\(count)"))
            }
        }
    }

    @Test("readyz is a 503 problem with Retry-After when migrations are pending")
    func readyzWhenPending() async throws {
        try await Self.withApp(migrated: false) { client in
            try await client.execute(uri: "/readyz", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(response.headers[.contentType] == "application/problem+json")
                #expect(response.headers[.retryAfter] == "5")
                let body = String(buffer: response.body)
                #expect(body.contains("urn:comarca:problem:not-ready"))
            }
        }
    }

    @Test("an unknown route is a 404 problem+json with a stable type")
    func unknownRouteIsProblem() async throws {
        try await Self.withApp(migrated: true) { client in
            try await client.execute(uri: "/v1/nothing-here", method: .get) { response in
                #expect(response.status == .notFound)
                #expect(response.headers[.contentType] == "application/problem+json")
                #expect(String(buffer: response.body).contains("urn:comarca:problem:not-found"))
            }
        }
    }
}

@Suite("error mapping")
struct ErrorMappingTests {
    @Test(
        "PostgreSQL errors map to stable problems without leaking SQL",
        arguments: [
            (PGError.Code.uniqueViolation, 409, "conflict"),
            (.foreignKeyViolation, 409, "reference-conflict"),
            (.checkViolation, 422, "invalid-input"),
            (.insufficientPrivilege, 404, "not-found"),
            (.serializationFailure, 503, "retry"),
            (.syntaxError, 500, "internal"),
        ]
    )
    func sqlstateMapping(code: PGError.Code, status: Int, problem: String) {
        let error = PGError(kind: .server, code: code, message: "secret detail: SELECT * FROM records", detail: "Key (email)=(ana@x.es)")
        let mapped = ErrorMapping.problem(for: error)
        #expect(mapped.statusCode == status)
        #expect(mapped.type == "urn:comarca:problem:\(problem)")
        #expect(mapped.detail == nil)
    }

    @Test("a lost connection or an exhausted pool is a 503 with Retry-After")
    func connectionLossIs503() {
        for error in [
            PGError(kind: .connection, message: "server closed the connection"),
            PGError(kind: .poolTimeout, message: "exhausted"),
            PGError(kind: .server, code: .adminShutdown, message: "terminating"),
        ] {
            let mapped = ErrorMapping.problem(for: error)
            #expect(mapped.statusCode == 503)
            #expect(mapped.retryAfter != nil)
        }
    }
}

@Suite("observability")
struct ObservabilityTests {
    @Test("every response carries a request id; a plain incoming id is kept, an unsafe one replaced")
    func requestIDs() async throws {
        try await HealthTests.withApp(migrated: true) { client in
            try await client.execute(uri: "/healthz", method: .get) { response in
                let id = try #require(response.headers[HTTPField.Name("X-Request-Id")!])
                #expect(id.count == 32)
            }
            try await client.execute(uri: "/healthz", method: .get, headers: [HTTPField.Name("X-Request-Id")!: "trace-abc.123"]) { response in
                #expect(response.headers[HTTPField.Name("X-Request-Id")!] == "trace-abc.123")
            }
            try await client.execute(uri: "/healthz", method: .get, headers: [HTTPField.Name("X-Request-Id")!: "bad id\"{}"]) { response in
                #expect(response.headers[HTTPField.Name("X-Request-Id")!] != "bad id\"{}")
            }
            try await client.execute(uri: "/nope", method: .get) { response in
                #expect(response.headers[HTTPField.Name("X-Request-Id")!] != nil)
            }
        }
    }

    @Test("/metrics counts requests by route and status and reports the pool")
    func metricsExposition() async throws {
        try await HealthTests.withApp(migrated: true) { client in
            for _ in 0..<3 { try await client.execute(uri: "/healthz", method: .get) { _ in } }
            try await client.execute(uri: "/missing", method: .get) { _ in }
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.status == .ok)
                let text = String(buffer: response.body)
                #expect(text.contains(#"comarca_http_requests_total{method="GET",route="/healthz",status="200"} 3"#))
                #expect(text.contains(#"status="404""#))
                #expect(text.contains("comarca_http_request_duration_seconds_bucket"))
                #expect(text.contains("comarca_db_pool_connections_max 2"))
                #expect(text.contains("comarca_db_pool_waiting 0"))
            }
        }
    }
}
