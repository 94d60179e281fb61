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

/// Every route, three outsiders: an anonymous caller, tenant B's admin, and a rep of another
/// zone of tenant A. None of them may read or change tenant A's data (404/401/403), and a
/// request that fails changes nothing.
@Suite("isolation over HTTP, through the real router")
struct HTTPIsolationTests {
    struct Case: Sendable, CustomStringConvertible {
        let method: HTTPRequest.Method
        /// The route as the router names it, e.g. /v1/zones/{id}.
        let route: String
        /// The concrete path aimed at tenant A.
        let path: @Sendable (HTTPFixture) -> String
        let body: (@Sendable (HTTPFixture) -> String)?
        /// What a rep of zone S1 of tenant A gets when aiming at N1's things.
        let repStatus: Int
        /// What tenant B's admin gets when aiming at tenant A's ids (nil: a list or a create
        /// in their own tenant, checked for leaks instead).
        let otherTenantStatus: Int?

        var description: String { "\(method) \(route)" }
    }

    static let cases: [Case] = [
        Case(method: .get, route: "/v1/me", path: { _ in "/v1/me" }, body: nil, repStatus: 200, otherTenantStatus: nil),
        Case(method: .get, route: "/v1/me/access", path: { _ in "/v1/me/access" }, body: nil, repStatus: 200, otherTenantStatus: nil),
        Case(method: .get, route: "/v1/tenant", path: { _ in "/v1/tenant" }, body: nil, repStatus: 403, otherTenantStatus: nil),
        Case(method: .patch, route: "/v1/tenant", path: { _ in "/v1/tenant" }, body: { _ in #"{"name":"Renamed"}"# }, repStatus: 403, otherTenantStatus: nil),
        Case(method: .get, route: "/v1/zones", path: { _ in "/v1/zones" }, body: nil, repStatus: 200, otherTenantStatus: nil),
        Case(method: .post, route: "/v1/zones", path: { _ in "/v1/zones" },
             body: { f in #"{"code":"NEW","name":"Nueva","parentId":"\#(f.a.zones["HQ"]!)"}"# }, repStatus: 403, otherTenantStatus: 404),
        Case(method: .get, route: "/v1/zones/{id}", path: { f in "/v1/zones/\(f.a.zones["N1"]!)" }, body: nil, repStatus: 200, otherTenantStatus: 404),
        Case(method: .patch, route: "/v1/zones/{id}", path: { f in "/v1/zones/\(f.a.zones["N1"]!)" }, body: { _ in #"{"name":"Tomada"}"# }, repStatus: 403, otherTenantStatus: 404),
        Case(method: .delete, route: "/v1/zones/{id}", path: { f in "/v1/zones/\(f.a.zones["N2"]!)" }, body: nil, repStatus: 403, otherTenantStatus: 404),
        Case(method: .post, route: "/v1/zones/{id}/handover", path: { f in "/v1/zones/\(f.a.zones["N1"]!)/handover" },
             body: { f in #"{"userId":"\#(f.a.users["s1"]!)"}"# }, repStatus: 403, otherTenantStatus: 404),
        Case(method: .get, route: "/v1/users", path: { _ in "/v1/users" }, body: nil, repStatus: 200, otherTenantStatus: nil),
        Case(method: .post, route: "/v1/users", path: { _ in "/v1/users" },
             body: { f in #"{"email":"nuevo@alfa.test","displayName":"Nuevo","role":"rep","zoneId":"\#(f.a.zones["N2"]!)"}"# }, repStatus: 403, otherTenantStatus: 404),
        Case(method: .get, route: "/v1/users/{id}", path: { f in "/v1/users/\(f.a.users["n1"]!)" }, body: nil, repStatus: 200, otherTenantStatus: 404),
        Case(method: .patch, route: "/v1/users/{id}", path: { f in "/v1/users/\(f.a.users["n1"]!)" }, body: { _ in #"{"role":"admin"}"# }, repStatus: 403, otherTenantStatus: 404),
        Case(method: .delete, route: "/v1/users/{id}", path: { f in "/v1/users/\(f.a.users["n1"]!)" }, body: nil, repStatus: 403, otherTenantStatus: 404),
        Case(method: .post, route: "/v1/users/{id}/move", path: { f in "/v1/users/\(f.a.users["n1"]!)/move" },
             body: { f in #"{"zoneId":"\#(f.a.zones["N2"]!)"}"# }, repStatus: 403, otherTenantStatus: 404),
        Case(method: .get, route: "/v1/roles", path: { _ in "/v1/roles" }, body: nil, repStatus: 403, otherTenantStatus: nil),
        Case(method: .post, route: "/v1/roles", path: { _ in "/v1/roles" },
             body: { _ in #"{"key":"fromoutside","name":"X","scope":"tenant","permissions":{"records":["list"]}}"# }, repStatus: 403, otherTenantStatus: nil),
        Case(method: .put, route: "/v1/roles/{key}", path: { _ in "/v1/roles/supervisor" },
             body: { _ in #"{"name":"X","scope":"tenant","permissions":{"records":["list","view","delete"]}}"# }, repStatus: 403, otherTenantStatus: 404),
        Case(method: .delete, route: "/v1/roles/{key}", path: { _ in "/v1/roles/supervisor" }, body: nil, repStatus: 403, otherTenantStatus: 404),
        Case(method: .get, route: "/v1/tokens", path: { _ in "/v1/tokens" }, body: nil, repStatus: 200, otherTenantStatus: nil),
        Case(method: .post, route: "/v1/tokens", path: { _ in "/v1/tokens" }, body: { _ in #"{"name":"integration"}"# }, repStatus: 403, otherTenantStatus: nil),
        Case(method: .delete, route: "/v1/tokens/{id}", path: { f in "/v1/tokens/\(f.a.tokenIDs["n1"]!)" }, body: nil, repStatus: 404, otherTenantStatus: 404),
        Case(method: .get, route: "/v1/records/{id}/access", path: { f in "/v1/records/\(f.a.records["N1"]!)/access" }, body: nil, repStatus: 404, otherTenantStatus: 404),
        Case(method: .get, route: "/v1/records", path: { _ in "/v1/records?limit=200" }, body: nil, repStatus: 200, otherTenantStatus: nil),
        Case(method: .get, route: "/v1/records", path: { _ in "/v1/records?q=cliente" }, body: nil, repStatus: 200, otherTenantStatus: nil),
        // Creating is allowed; a zone the caller cannot see is not honoured (checked below).
        Case(method: .post, route: "/v1/records", path: { _ in "/v1/records" },
             body: { f in #"{"firstName":"Nuevo","lastName":"Cliente","zoneId":"\#(f.a.zones["N1"]!)"}"# }, repStatus: 201, otherTenantStatus: nil),
        Case(method: .get, route: "/v1/records/{id}", path: { f in "/v1/records/\(f.a.records["N1"]!)" }, body: nil, repStatus: 404, otherTenantStatus: 404),
        Case(method: .patch, route: "/v1/records/{id}", path: { f in "/v1/records/\(f.a.records["N1"]!)" }, body: { _ in #"{"firstName":"Tomado"}"# }, repStatus: 404, otherTenantStatus: 404),
        // Reps may not delete at all: the role check answers before any lookup, for every id alike.
        Case(method: .delete, route: "/v1/records/{id}", path: { f in "/v1/records/\(f.a.records["N1"]!)" }, body: nil, repStatus: 403, otherTenantStatus: 404),
        Case(method: .get, route: "/v1/records/{id}/history", path: { f in "/v1/records/\(f.a.records["N1"]!)/history" }, body: nil, repStatus: 404, otherTenantStatus: 404),
        Case(method: .post, route: "/v1/records/{id}/promote", path: { f in "/v1/records/\(f.a.records["N1"]!)/promote" }, body: nil, repStatus: 404, otherTenantStatus: 404),
        Case(method: .post, route: "/v1/records/{id}/disqualify", path: { f in "/v1/records/\(f.a.records["N1"]!)/disqualify" },
             body: { _ in #"{"reason":"duplicate"}"# }, repStatus: 404, otherTenantStatus: 404),
        Case(method: .post, route: "/v1/records/{id}/reopen", path: { f in "/v1/records/\(f.a.records["N1"]!)/reopen" }, body: nil, repStatus: 404, otherTenantStatus: 404),
        Case(method: .post, route: "/v1/records/{id}/reassign", path: { f in "/v1/records/\(f.a.records["N1"]!)/reassign" },
             body: { f in #"{"zoneId":"\#(f.a.zones["S1"]!)"}"# }, repStatus: 403, otherTenantStatus: 404),
        Case(method: .post, route: "/v1/records/{id}/convert", path: { f in "/v1/records/\(f.a.records["N1"]!)/convert" }, body: nil, repStatus: 404, otherTenantStatus: 404),
        Case(method: .get, route: "/v1/accounts", path: { _ in "/v1/accounts?limit=200" }, body: nil, repStatus: 200, otherTenantStatus: nil),
        Case(method: .post, route: "/v1/accounts", path: { _ in "/v1/accounts" },
             body: { f in #"{"name":"Nueva Empresa","zoneId":"\#(f.a.zones["N1"]!)"}"# }, repStatus: 201, otherTenantStatus: nil),
        Case(method: .get, route: "/v1/accounts/{id}", path: { f in "/v1/accounts/\(f.a.accounts["N1"]!)" }, body: nil, repStatus: 404, otherTenantStatus: 404),
        Case(method: .patch, route: "/v1/accounts/{id}", path: { f in "/v1/accounts/\(f.a.accounts["N1"]!)" }, body: { _ in #"{"sector":"otro"}"# }, repStatus: 404, otherTenantStatus: 404),
        Case(method: .delete, route: "/v1/accounts/{id}", path: { f in "/v1/accounts/\(f.a.accounts["N1"]!)" }, body: nil, repStatus: 403, otherTenantStatus: 404),
        Case(method: .get, route: "/v1/accounts/{id}/activities", path: { f in "/v1/accounts/\(f.a.accounts["N1"]!)/activities" }, body: nil, repStatus: 404, otherTenantStatus: 404),
        Case(method: .get, route: "/v1/records/{id}/activities", path: { f in "/v1/records/\(f.a.records["N1"]!)/activities" }, body: nil, repStatus: 404, otherTenantStatus: 404),
        Case(method: .get, route: "/v1/activities", path: { _ in "/v1/activities?limit=200" }, body: nil, repStatus: 200, otherTenantStatus: nil),
        Case(method: .post, route: "/v1/activities", path: { _ in "/v1/activities" },
             body: { f in #"{"kind":"note","subject":"Intruso","recordId":"\#(f.a.records["N1"]!)"}"# }, repStatus: 404, otherTenantStatus: 404),
        Case(method: .get, route: "/v1/activities/{id}", path: { f in "/v1/activities/\(f.a.activities["N1"]!)" }, body: nil, repStatus: 404, otherTenantStatus: 404),
        Case(method: .patch, route: "/v1/activities/{id}", path: { f in "/v1/activities/\(f.a.activities["N1"]!)" }, body: { _ in #"{"subject":"Tomada"}"# }, repStatus: 404, otherTenantStatus: 404),
        Case(method: .delete, route: "/v1/activities/{id}", path: { f in "/v1/activities/\(f.a.activities["N1"]!)" }, body: nil, repStatus: 403, otherTenantStatus: 404),
        Case(method: .post, route: "/v1/activities/{id}/complete", path: { f in "/v1/activities/\(f.a.activities["N1"]!)/complete" }, body: nil, repStatus: 404, otherTenantStatus: 404),
        // The team lists: a rep asking for the whole scope still sees only their zone.
        Case(method: .get, route: "/v1/activities", path: { _ in "/v1/activities?mine=false&limit=200" }, body: nil, repStatus: 200, otherTenantStatus: nil),
        Case(method: .get, route: "/v1/activities", path: { _ in "/v1/activities?mine=false&done=true" }, body: nil, repStatus: 200, otherTenantStatus: nil),
        Case(method: .get, route: "/v1/activities", path: { f in "/v1/activities?zoneId=\(f.a.zones["N1"]!)" }, body: nil, repStatus: 404, otherTenantStatus: 404),
        Case(method: .get, route: "/v1/activities", path: { f in "/v1/activities?mine=false&ownerId=\(f.a.users["n1"]!)" }, body: nil, repStatus: 200, otherTenantStatus: nil),
        Case(method: .get, route: "/v1/opportunities", path: { _ in "/v1/opportunities?limit=200" }, body: nil, repStatus: 200, otherTenantStatus: nil),
        Case(method: .get, route: "/v1/opportunities", path: { f in "/v1/opportunities?zoneId=\(f.a.zones["N1"]!)" }, body: nil, repStatus: 404, otherTenantStatus: 404),
        Case(method: .get, route: "/v1/opportunities", path: { f in "/v1/opportunities?accountId=\(f.a.accounts["N1"]!)&status=open" }, body: nil, repStatus: 200, otherTenantStatus: nil),
        Case(method: .get, route: "/v1/opportunities/{id}", path: { f in "/v1/opportunities/\(f.a.opportunities["N1"]!)" }, body: nil, repStatus: 404, otherTenantStatus: 404),
        Case(method: .get, route: "/v1/fields/{entity}", path: { _ in "/v1/fields/records" }, body: nil, repStatus: 200, otherTenantStatus: nil),
        // Imports: reps may not import at all (403 before any lookup or upload); tenant B's admin
        // finds none of tenant A's jobs, and what they upload or save is tenant B's own.
        Case(method: .post, route: "/v1/imports", path: { _ in "/v1/imports" }, body: nil, repStatus: 403, otherTenantStatus: nil),
        Case(method: .get, route: "/v1/imports", path: { _ in "/v1/imports" }, body: nil, repStatus: 403, otherTenantStatus: nil),
        Case(method: .get, route: "/v1/imports/{id}", path: { f in "/v1/imports/\(importOfA(f))" }, body: nil, repStatus: 403, otherTenantStatus: 404),
        Case(method: .get, route: "/v1/imports/{id}/reports/{kind}", path: { f in "/v1/imports/\(importOfA(f))/reports/errors" }, body: nil,
             repStatus: 403, otherTenantStatus: 404),
        Case(method: .post, route: "/v1/imports/{id}/cancel", path: { f in "/v1/imports/\(importOfA(f))/cancel" }, body: nil, repStatus: 403, otherTenantStatus: 404),
        Case(method: .post, route: "/v1/imports/{id}/undo", path: { f in "/v1/imports/\(importOfA(f))/undo" }, body: nil, repStatus: 403, otherTenantStatus: 404),
        Case(method: .get, route: "/v1/imports/templates/{entity}", path: { _ in "/v1/imports/templates/records" }, body: nil, repStatus: 403, otherTenantStatus: nil),
        Case(method: .get, route: "/v1/import-mappings", path: { _ in "/v1/import-mappings" }, body: nil, repStatus: 403, otherTenantStatus: nil),
        Case(method: .put, route: "/v1/import-mappings/{name}", path: { _ in "/v1/import-mappings/clientes" },
             body: { _ in #"{"entity":"records","mapping":{"columns":{"Mail":"email"}}}"# }, repStatus: 403, otherTenantStatus: nil),
        // Last: it revokes the caller's own token (never someone else's).
        Case(method: .post, route: "/v1/auth/logout", path: { _ in "/v1/auth/logout" }, body: nil, repStatus: 204, otherTenantStatus: nil),
    ]

    /// Routes anyone may call; everything else needs a session.
    static let publicRoutes: Set<String> = [
        "GET /healthz", "GET /readyz", "GET /metrics", "GET /openapi.json", "POST /v1/auth/login", "POST /v1/auth/accept-invite",
    ]

    /// Tenant A's identifiers and e-mails: none may appear in a response to an outsider.
    static func secretsOfA(_ f: HTTPFixture) -> [String] {
        var ids: [UUID] = Array(f.a.zones.values) + Array(f.a.users.values) + Array(f.a.records.values)
        ids += Array(f.a.tokenIDs.values) + Array(f.a.accounts.values) + Array(f.a.activities.values)
        ids += Array(f.a.opportunities.values) + [importOfA(f)]
        return ids.map { $0.uuidString.lowercased() } + ["@alfa.test", "alfa"]
    }

    /// An import job of tenant A (queued by its admin, never run), made on first use.
    static func importOfA(_ f: HTTPFixture) -> UUID {
        do {
            let app = try f.database.connectAsApp()
            let session = try SessionLoader.load(tenantID: f.a.id, userID: try #require(f.a.users["admin"]), on: app)
            return try app.transaction(settings: session.accessScope.settings) { tx in
                if let existing = try ImportService.list(session, page: try PageRequest(limit: 1, cursor: nil), on: tx).items.first {
                    return existing.id
                }
                let url = FileManager.default.temporaryDirectory.appendingPathComponent("comarca-isolation-import.csv")
                try Data("Nombre;Apellidos\r\nAna;Sanz\r\n".utf8).write(to: url, options: .atomic)
                return try ImportService.create(session, ImportRequest(entity: .records, fileURL: url, fileName: "alfa.csv"), on: tx).id
            }
        } catch {
            Issue.record("cannot make an import of tenant A: \(error)")
            return UUID()
        }
    }

    @Test("every protected route answers an anonymous caller 401 and changes nothing")
    func anonymousGets401() async throws {
        try await HTTPFixture.withApp { f, client in
            let before = try f.snapshotOfA()
            for c in Self.cases {
                let response = try await client.send(c.method, c.path(f), json: c.body?(f))
                #expect(response.status.code == 401, "\(c): anonymous got \(response.status.code)")
                #expect(response.headers[.contentType] == "application/problem+json", "\(c)")
                let forged = try await client.send(c.method, c.path(f), token: "cmk_forged-token-value", json: c.body?(f))
                #expect(forged.status.code == 401, "\(c): a forged token got \(forged.status.code)")
            }
            #expect(try f.snapshotOfA() == before, "an anonymous request changed tenant A")
        }
    }

    @Test("rejects tenant B's admin on every route: tenant A's things are 404 and never appear in a response")
    func otherTenantSeesNothing() async throws {
        try await HTTPFixture.withApp { f, client in
            let before = try f.snapshotOfA()
            let secrets = Self.secretsOfA(f)
            for c in Self.cases {
                let response = try await client.send(c.method, c.path(f), token: f.b.tokens["admin"], json: c.body?(f))
                if let expected = c.otherTenantStatus {
                    #expect(response.status.code == expected, "\(c): tenant B's admin got \(response.status.code), expected \(expected)")
                }
                // Lower-cased: JSON carries UUIDs in upper case, the secrets are lower case.
                let text = String(buffer: response.body).lowercased()
                for secret in secrets {
                    #expect(!text.contains(secret), "\(c): the response to tenant B contains tenant A's \(secret)")
                }
                #expect(try f.snapshotOfA() == before, "\(c) by tenant B's admin changed tenant A")
            }
        }
    }

    @Test("the leak check sees tenant A's ids when tenant A's own admin asks (a control for the test above)")
    func leakCheckControl() async throws {
        try await HTTPFixture.withApp { f, client in
            for path in ["/v1/zones", "/v1/users", "/v1/me"] {
                let text = String(buffer: try await client.send(.get, path, token: f.a.tokens["admin"]).body).lowercased()
                #expect(Self.secretsOfA(f).contains { text.contains($0) }, "\(path) as A's admin shows none of A's ids: the leak check would be blind")
            }
        }
    }

    @Test("rejects a rep of another zone: no writes, no records of other zones, nothing changed")
    func repOfAnotherZone() async throws {
        try await HTTPFixture.withApp { f, client in
            var before = try f.snapshotOfA()
            for c in Self.cases {
                let response = try await client.send(c.method, c.path(f), token: f.a.tokens["s1"], json: c.body?(f))
                #expect(response.status.code == c.repStatus, "\(c): the S1 rep got \(response.status.code), expected \(c.repStatus)")
                // Records, accounts and activities of other zones never appear, whatever the route.
                let text = String(buffer: response.body).lowercased()
                for code in ["N1", "N2"] {
                    for id in [f.a.records[code]!, f.a.accounts[code]!, f.a.activities[code]!, f.a.opportunities[code]!] {
                        #expect(!text.contains(id.uuidString.lowercased()), "\(c): the S1 rep saw something of zone \(code)")
                    }
                }
                if c.method == .post && ["/v1/records", "/v1/accounts", "/v1/activities"].contains(c.route) {
                    // A legitimate create in the rep's own zone: that is the new baseline.
                    before = try f.snapshotOfA()
                } else if c.method != .get && c.route != "/v1/auth/logout" {
                    #expect(try f.snapshotOfA() == before, "\(c) by the S1 rep changed tenant A")
                }
            }
        }
    }

    /// Tenant tables the fixture may leave empty, each with why no route can reach it.
    static let unreachableTables: [String: String] = [
        "login_failures": "sign-in bookkeeping: the app role has no grant, only comarca.login_* functions touch it",
        "login_known_pairs": "sign-in bookkeeping: the app role has no grant, only comarca.login_* functions touch it",
    ]

    @Test("the fixture holds rows of every tenant table for both tenants, so a new table cannot go unprobed")
    func fixtureFillsEveryTenantTable() async throws {
        try await HTTPFixture.withApp { f, _ in
            _ = Self.importOfA(f)
            let owner = try f.database.connectAsOwner()
            let tables = try owner.query("""
                SELECT c.relname::text FROM pg_catalog.pg_class c
                  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                  JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
                 WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
                 ORDER BY 1
                """).decode(String.self)
            #expect(tables.count > 10)
            var empty: [String] = []
            for table in tables {
                if Self.unreachableTables[table] != nil {
                    // The exemption holds only while the app really cannot reach the table.
                    let reachable = try owner.query("""
                        SELECT has_table_privilege(\(f.database.appRole), \("public." + table), 'SELECT,INSERT,UPDATE,DELETE')
                        """).scalar(Bool.self)
                    #expect(!reachable, "\(table) is exempt from the fixture but the app role can reach it")
                    continue
                }
                for tenant in [f.a, f.b] {
                    let rows = try owner.transaction(settings: AccessScope.operator_(tenantID: tenant.id).settings) { tx in
                        try tx.query("SELECT count(*) FROM \(unsafeRaw: try tx.escapeIdentifier(table)) WHERE tenant_id = \(tenant.id)").scalar(Int.self)
                    }
                    if rows == 0 { empty.append("\(table) (\(tenant.slug))") }
                }
            }
            #expect(empty.isEmpty, "tenant tables with no fixture rows, which the isolation suite therefore never probes: \(empty)")
        }
    }

    @Test("every protected route of the router is covered by these isolation cases")
    func everyRouteIsCovered() throws {
        let router = buildRouter(AppDependencies(
            database: Database(pool: PGPool(configuration: .init(conninfo: "", maxConnections: 1))),
            migrations: try MigrationSource(directory: TestDatabase.migrationsDirectory)))
        let routes = Set(router.routes.map { "\($0.method) \($0.path)" })
        let covered = Set(Self.cases.map { "\($0.method) \($0.route)" }).union(Self.publicRoutes)
        #expect(routes.subtracting(covered).isEmpty, "routes without isolation cases: \(routes.subtracting(covered).sorted())")
        #expect(covered.subtracting(routes).isEmpty, "cases for routes that do not exist: \(covered.subtracting(routes).sorted())")
    }

    @Test("rejects tenantId, zoneId and role smuggled into a body where they are not fields")
    func bodiesCannotSetProtectedFields() async throws {
        try await HTTPFixture.withApp { f, client in
            let before = try f.snapshotOfA()
            let admin = f.a.tokens["admin"]
            let smuggled = try await client.send(.post, "/v1/zones", token: admin,
                json: #"{"code":"X9","name":"X","tenantId":"\#(f.b.id)"}"#)
            #expect(smuggled.status.code == 422)
            #expect(String(buffer: smuggled.body).contains("\"field\":\"tenantId\""))
            let zoneByPatch = try await client.send(.patch, "/v1/users/\(f.a.users["n1"]!)", token: admin,
                json: #"{"zoneId":"\#(f.a.zones["N2"]!)"}"#)
            #expect(zoneByPatch.status.code == 422, "a zone change must go through /move")
            let ownRole = try await client.send(.patch, "/v1/users/\(f.a.users["n1"]!)", token: f.a.tokens["n1"], json: #"{"role":"admin"}"#)
            #expect(ownRole.status.code == 403, "a rep made themselves admin")
            let ownerField = try await client.send(.post, "/v1/tokens", token: admin, json: #"{"name":"x","ownerId":"\#(f.a.users["n1"]!)"}"#)
            #expect(ownerField.status.code == 422)
            #expect(try f.snapshotOfA() == before)
        }
    }

    @Test("a manager sees exactly their zone subtree")
    func managerSeesSubtree() async throws {
        try await HTTPFixture.withApp { f, client in
            let access = try await client.send(.get, "/v1/me/access", token: f.a.tokens["norte"])
            #expect(access.status == .ok)
            let summary = try JSONDecoder().decode(DirectoryService.AccessSummary.self, from: Data(buffer: access.body))
            #expect(summary.visibleZones?.map(\.code) == ["N1", "N2", "NORTE"])
            let own = try await client.send(.get, "/v1/records/\(f.a.records["N1"]!)/access", token: f.a.tokens["norte"])
            #expect(own.status.code == 403, "the record exists for the manager, who just may not ask who else sees it")
            let outside = try await client.send(.get, "/v1/records/\(f.a.records["S1"]!)/access", token: f.a.tokens["norte"])
            #expect(outside.status.code == 404)
            let admin = try await client.send(.get, "/v1/records/\(f.a.records["N1"]!)/access", token: f.a.tokens["admin"])
            let explained = try JSONDecoder().decode(DirectoryService.RecordAccess.self, from: Data(buffer: admin.body))
            #expect(Set(explained.visibleTo.map(\.email)) == ["admin@alfa.test", "norte@alfa.test", "n1@alfa.test"])
        }
    }
}

extension Data {
    init(buffer: ByteBuffer) {
        self.init(buffer.readableBytesView)
    }
}

@Suite("OpenAPI document")
struct OpenAPIDocumentTests {
    static func documentedRoutes() throws -> Set<String> {
        let url = TestDatabase.repositoryRoot.appendingPathComponent("Sources/ComarcaHTTP/Resources/openapi.json")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        #expect(document["openapi"] as? String == "3.1.0")
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        var routes = Set<String>()
        for (path, operations) in paths {
            for method in operations.keys where ["get", "post", "put", "patch", "delete"].contains(method) {
                routes.insert("\(method.uppercased()) \(path)")
            }
        }
        return routes
    }

    @Test("the OpenAPI document and the router list exactly the same routes")
    func documentMatchesRouter() throws {
        let router = buildRouter(AppDependencies(
            database: Database(pool: PGPool(configuration: .init(conninfo: "", maxConnections: 1))),
            migrations: try MigrationSource(directory: TestDatabase.migrationsDirectory)))
        let served = Set(router.routes.map { "\($0.method) \($0.path)" })
        let documented = try Self.documentedRoutes()
        #expect(served.subtracting(documented).isEmpty, "routes missing from openapi.json: \(served.subtracting(documented).sorted())")
        #expect(documented.subtracting(served).isEmpty, "documented routes the router lacks: \(documented.subtracting(served).sorted())")
    }

    @Test("/openapi.json serves the document from the build")
    func documentIsServed() async throws {
        try await HealthTests.withApp(migrated: true) { client in
            try await client.execute(uri: "/openapi.json", method: .get) { response in
                #expect(response.status == .ok)
                let document = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]
                #expect(document?["openapi"] as? String == "3.1.0")
            }
        }
    }
}
