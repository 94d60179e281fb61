import ComarcaCore
import ComarcaHTTP
import ComarcaTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import PGClient
import Testing

/// Two tenants set up the way an operator would (TenantSetup from a spec), API tokens for the
/// interesting callers, and a record in each rep zone — behind the real router.
struct HTTPFixture: Sendable {
    struct Tenant: Sendable {
        let id: UUID
        let slug: String
        var zones: [String: UUID] = [:]
        var users: [String: UUID] = [:]
        var tokens: [String: String] = [:]
        var tokenIDs: [String: UUID] = [:]
        var records: [String: UUID] = [:]
        var accounts: [String: UUID] = [:]
        var activities: [String: UUID] = [:]
        var opportunities: [String: UUID] = [:]
    }

    let a: Tenant
    let b: Tenant
    let database: TestDatabase

    static func spec(slug: String, everyTable: Bool = true) throws -> TenantSpec {
        try TenantSpec.parse("""
            tenant: {slug: \(slug), name: "Empresa \(slug)"}
            \(slug == "alfa" ? "roles: [{key: supervisor, name: Supervisor, scope: zone_subtree, permissions: {records: [list, view]}}]" : "")
            zones:
              - code: HQ
                name: Oficina central
                children:
                  - code: NORTE
                    name: Norte
                    children: [{code: N1, name: Bilbao}, {code: N2, name: Santander}]
                  - code: SUR
                    name: Sur
                    children: [{code: S1, name: Sevilla}]
            users:
              - {email: admin@\(slug).test, name: Admin, role: admin, zone: HQ}
              - {email: norte@\(slug).test, name: Manager Norte, role: manager, zone: NORTE}
              - {email: n1@\(slug).test, name: Rep N1, role: rep, zone: N1}
              - {email: s1@\(slug).test, name: Rep S1, role: rep, zone: S1}
            \(everyTable ? """
            assignment:
              rules: [{postal_prefix: "48", zone: N1}]
            fields:
              records: [{key: ref_erp, label: {es: Referencia ERP}, type: text, unique: true}]
            """ : "")
            """)
    }

    /// `everyTable: false` leaves out the rows `fillTheRestOfTheSchema` adds (an import job among
    /// them), for suites that count the tenant's imports from zero.
    static func setUpTenant(slug: String, on owner: PGConnection, database: TestDatabase, everyTable: Bool = true) throws -> Tenant {
        _ = try TenantSetup.apply(try spec(slug: slug, everyTable: everyTable), on: owner)
        let id = try #require(try TenantSetup.tenantID(forSlug: slug, on: owner))
        var tenant = Tenant(id: id, slug: slug)
        try owner.transaction(settings: AccessScope.operator_(tenantID: id).settings) { tx in
            for (zoneID, code) in try tx.query("SELECT zone_id, code FROM zones").decode((UUID, String).self) {
                tenant.zones[code] = zoneID
            }
            for (userID, email) in try tx.query("SELECT user_id, email FROM users").decode((UUID, String).self) {
                tenant.users[String(email.split(separator: "@")[0])] = userID
            }
            for code in ["N1", "N2", "S1"] {
                tenant.records[code] = try tx.query("""
                    INSERT INTO records (tenant_id, zone_id, display_name) VALUES (\(id), \(tenant.zones[code]!), \("Cliente " + code))
                    RETURNING record_id
                    """).scalar(UUID.self)
                tenant.accounts[code] = try tx.query("""
                    INSERT INTO accounts (tenant_id, zone_id, name) VALUES (\(id), \(tenant.zones[code]!), \("Empresa " + code + " " + slug))
                    RETURNING account_id
                    """).scalar(UUID.self)
                tenant.activities[code] = try tx.query("""
                    INSERT INTO activities (tenant_id, zone_id, kind, subject, record_id, due_at)
                    VALUES (\(id), \(tenant.zones[code]!), 'call', \("Llamar " + code), \(tenant.records[code]!), now() - interval '1 day')
                    RETURNING activity_id
                    """).scalar(UUID.self)
                tenant.opportunities[code] = try tx.query("""
                    INSERT INTO opportunities (tenant_id, zone_id, account_id, record_id, name, amount)
                    VALUES (\(id), \(tenant.zones[code]!), \(tenant.accounts[code]!), \(tenant.records[code]!), \("Venta " + code), 1200.50)
                    RETURNING opportunity_id
                    """).scalar(UUID.self)
            }
        }
        if everyTable { try fillTheRestOfTheSchema(tenant, on: owner, database: database) }
        let auth = AuthService()
        for user in ["admin", "norte", "n1", "s1"] {
            let issued = try auth.createAPIToken(tenantSlug: slug, email: "\(user)@\(slug).test", name: "test \(user)", on: owner)
            tenant.tokens[user] = issued.token
            tenant.tokenIDs[user] = issued.tokenID
        }
        return tenant
    }

    /// Rows in every other tenant table (the isolation suite checks that none is left empty), made
    /// the way the product makes them: a password, a record through the service (its events and
    /// unique values), a disqualify reason, a saved mapping, and an import that rejects its row.
    static func fillTheRestOfTheSchema(_ tenant: Tenant, on owner: PGConnection, database: TestDatabase) throws {
        try AuthService().setPassword(tenantSlug: tenant.slug, email: "n1@\(tenant.slug).test", password: "contraseña larga 2026", on: owner)
        let id = tenant.id
        try owner.transaction(settings: AccessScope.operator_(tenantID: id).settings) { tx in
            try tx.execute("INSERT INTO disqualify_reasons (tenant_id, code, label) VALUES (\(id), 'competencia', 'Se fue a la competencia')")
        }
        let app = try database.connectAsApp()
        let admin = try SessionLoader.load(tenantID: id, userID: try #require(tenant.users["admin"]), on: app)
        let csv = FileManager.default.temporaryDirectory.appendingPathComponent("comarca-fixture-\(tenant.slug)-\(UUID()).csv")
        try Data("Nombre;Email\r\nAna;no es un correo\r\n".utf8).write(to: csv, options: .atomic)
        defer { try? FileManager.default.removeItem(at: csv) }
        let job = try app.transaction(settings: admin.accessScope.settings) { tx in
            _ = try RecordService.create(admin, RecordInput(firstName: "Fija", lastName: "Fixture", email: "fija@\(tenant.slug).example", zoneId: tenant.zones["N2"]),
                                     custom: ["ref_erp": .string("ERP-\(tenant.slug)")], on: tx)
            try ImportService.saveMapping(admin, name: "clientes", entity: .records, mapping: try ImportMapping.parse("columns: {Nombre: first_name}", fileName: "m"), on: tx)
            return try ImportService.create(admin, ImportRequest(entity: .records, fileURL: csv, fileName: "\(tenant.slug).csv"), on: tx)
        }
        let finished = try ImportService.run(admin, jobID: job.id, on: app)
        try #require(finished.counts.rejected == 1, "the fixture's import should reject its one row: \(finished)")
    }

    /// Runs `body` with the fixture and a client of the application as `comarca serve` builds it.
    static func withApp(_ body: @escaping @Sendable (HTTPFixture, any TestClientProtocol) async throws -> Void) async throws {
        try await TestDatabase.withMigrated { database in
            let owner = try database.connectAsOwner()
            let fixture = HTTPFixture(
                a: try setUpTenant(slug: "alfa", on: owner, database: database), b: try setUpTenant(slug: "beta", on: owner, database: database), database: database)
            let pool = PGPool(configuration: database.appPoolConfiguration(maxConnections: 4))
            let app = buildApplication(
                configuration: HTTPConfiguration(host: "127.0.0.1", port: 0),
                dependencies: AppDependencies(
                    database: Database(pool: pool),
                    migrations: try MigrationSource(directory: TestDatabase.migrationsDirectory)),
                logger: Logger(label: "test"))
            try await app.test(.router) { client in try await body(fixture, client) }
            await pool.close()
        }
    }

    /// Everything of tenant A an HTTP request could change, read as the operator.
    func snapshotOfA() throws -> String {
        let owner = try database.connectAsOwner()
        return try owner.transaction(settings: AccessScope.operator_(tenantID: a.id).settings) { tx in
            try tx.query("""
                SELECT concat_ws('|',
                  (SELECT string_agg(concat_ws(',', name, status), ';') FROM tenants WHERE tenant_id = \(a.id)),
                  (SELECT string_agg(concat_ws(',', zone_id, code, name, parent_zone_id), ';' ORDER BY code) FROM zones WHERE tenant_id = \(a.id)),
                  (SELECT string_agg(concat_ws(',', user_id, email, display_name, role_id, zone_id, deactivated_at), ';' ORDER BY email) FROM users WHERE tenant_id = \(a.id)),
                  (SELECT string_agg(concat_ws(',', key, name, scope, permissions::text), ';' ORDER BY key) FROM roles WHERE tenant_id = \(a.id)),
                  (SELECT string_agg(concat_ws(',', record_id, zone_id, display_name, version), ';' ORDER BY record_id) FROM records WHERE tenant_id = \(a.id)),
                  (SELECT string_agg(concat_ws(',', account_id, zone_id, name, version), ';' ORDER BY account_id) FROM accounts WHERE tenant_id = \(a.id)),
                  (SELECT string_agg(concat_ws(',', activity_id, zone_id, subject, due_at, done_at), ';' ORDER BY activity_id) FROM activities WHERE tenant_id = \(a.id)),
                  (SELECT count(*) FROM auth_tokens WHERE tenant_id = \(a.id) AND revoked_at IS NULL))
                """).scalar(String.self)
        }
    }
}

extension TestClientProtocol {
    /// Sends a request with an optional bearer token and JSON body.
    func send(_ method: HTTPRequest.Method, _ path: String, token: String? = nil, json: String? = nil) async throws -> TestResponse {
        var headers: HTTPFields = [:]
        if let token { headers[.authorization] = "Bearer \(token)" }
        if json != nil { headers[.contentType] = "application/json" }
        return try await execute(uri: path, method: method, headers: headers, body: json.map { ByteBuffer(string: $0) })
    }
}
