import ComarcaCore
import ComarcaTestSupport
import Foundation
import PGClient
import Testing

/// Row-level security as the service meets it: every check connects as the application role and
/// runs in its own transaction with the settings an `AccessScope` gives (or none at all). The data
/// was written by the owner (subject to RLS too, because every table is FORCEd): two tenants with
/// the same zone tree and one row per zone in every zone-scoped table.
@Suite("tenant and zone isolation, as the application role")
struct IsolationTests {
    // MARK: - Tenant against tenant

    @Test("rejects every read of tenant B's rows under tenant A's settings, even by primary key", arguments: TenantTable.allCases)
    func otherTenantIsInvisible(table: TenantTable) async throws {
        try await Self.withTwoTenants { app, t in
            let settings = t.a.admin.settings

            let seen = try Self.visibleKeys(of: table, on: app, settings: settings)
            let leaked = seen.intersection(table.keys(of: t.b))
            #expect(leaked.isEmpty, "tenant A sees \(leaked.count) of tenant B's rows in \(table): \(leaked.sorted())")
            Self.expect(seen, is: table.keys(of: t.a), "tenant A in \(table)")

            let (byKey, byTenant, total) = try app.transaction(settings: settings) { tx in
                (
                    try tx.query("SELECT count(*) FROM \(unsafeRaw: table.name) WHERE tenant_id = \(t.b.tenantID) AND \(table.keyIn(t.b))").scalar(Int.self),
                    try tx.query("SELECT count(*) FROM \(unsafeRaw: table.name) WHERE tenant_id = \(t.b.tenantID)").scalar(Int.self),
                    try tx.query("SELECT count(*) FROM \(unsafeRaw: table.name)").scalar(Int.self)
                )
            }
            #expect(byKey == 0, "tenant A reads \(byKey) of tenant B's rows in \(table) by primary key")
            #expect(byTenant == 0, "tenant A reads \(byTenant) rows of \(table) with tenant_id = B")
            #expect(total == table.keys(of: t.a).count, "count(*) of \(table) under tenant A is \(total), A has \(table.keys(of: t.a).count)")
        }
    }

    @Test("rejects updates and deletes of tenant B's rows under tenant A's settings: B's rows stay as they were", arguments: TenantTable.allCases)
    func otherTenantCannotBeChanged(table: TenantTable) async throws {
        try await Self.withTwoTenants { app, t in
            let before = try Self.snapshot(of: table, on: app, settings: t.b.admin.settings)

            for (verb, query) in [("UPDATE", table.update(of: t.b)), ("DELETE", table.delete(of: t.b))] {
                switch try Self.attempt(query, on: app, settings: t.a.admin.settings) {
                case .affected(let rows):
                    #expect(rows == 0, "tenant A's \(verb) hit \(rows) of tenant B's rows in \(table)")
                case .failed(let error):
                    #expect(error.code == .insufficientPrivilege, "tenant A's \(verb) on \(table) failed for another reason: \(String(reflecting: error))")
                }
            }
            // Without a WHERE clause these need no SELECT right, so only the UPDATE and DELETE
            // policies stand between tenant A and B's rows. Failures (foreign keys, grants) are fine.
            _ = try Self.attempt(table.updateAll(), on: app, settings: t.a.admin.settings)
            _ = try Self.attempt("DELETE FROM \(unsafeRaw: table.name)", on: app, settings: t.a.admin.settings)

            let after = try Self.snapshot(of: table, on: app, settings: t.b.admin.settings)
            #expect(after == before, "tenant B's rows in \(table) changed after tenant A's UPDATE and DELETE")
        }
    }

    @Test("rejects inserting a row with tenant B's tenant_id under tenant A's settings: nothing is written", arguments: TenantTable.allCases)
    func otherTenantCannotBeInsertedInto(table: TenantTable) async throws {
        try await Self.withTwoTenants { app, t in
            let before = try Self.snapshot(of: table, on: app, settings: t.b.admin.settings)

            let error = try Self.attempt(table.insert(into: t.b, zone: .n1), on: app, settings: t.a.admin.settings).error
            Self.expectRowSecurityRefusal(error, "tenant A's INSERT into \(table) with tenant_id = B")

            let after = try Self.snapshot(of: table, on: app, settings: t.b.admin.settings)
            #expect(after == before, "tenant B's rows in \(table) changed after tenant A's INSERT")
        }
    }

    @Test("rejects moving tenant A's rows into tenant B by updating tenant_id", arguments: TenantTable.allCases)
    func rowsCannotBeMovedToOtherTenant(table: TenantTable) async throws {
        try await Self.withTwoTenants { app, t in
            let before = try Self.snapshot(of: table, on: app, settings: t.b.admin.settings)
            // With a WHERE clause the new row must also pass the SELECT policy; without one, only
            // the UPDATE policy's WITH CHECK can refuse it.
            let moves: [(String, PGQuery)] = [
                ("by key", "UPDATE \(unsafeRaw: table.name) SET tenant_id = \(t.b.tenantID) WHERE \(table.keyIn(t.a))"),
                ("without WHERE", "UPDATE \(unsafeRaw: table.name) SET tenant_id = \(t.b.tenantID)"),
            ]
            for (how, query) in moves {
                let error = try Self.attempt(query, on: app, settings: t.a.admin.settings).error
                if table == .recordEvents {
                    Self.expectPermissionDenied(error, "UPDATE of record_events (tenant_id to B, \(how))")
                } else {
                    Self.expectRowSecurityRefusal(error, "tenant A's UPDATE moving \(table) rows to tenant_id = B (\(how))")
                }
            }
            let after = try Self.snapshot(of: table, on: app, settings: t.b.admin.settings)
            #expect(after == before, "tenant B's rows in \(table) changed after tenant A tried to move rows into it")
        }
    }

    @Test("rejects pointing tenant A's rows at tenant B's rows through a foreign key, and gives no hint that they exist")
    func foreignKeysStayInsideTheTenant() async throws {
        try await Self.withTwoTenants { app, t in
            let a = t.a
            // Each case: a row of A that references B's row, and the same row referencing an id
            // that exists nowhere.
            let cases: [(String, UUID, (UUID) -> PGQuery)] = [
                ("records.zone_id", t.b.zones[.n1], { id in "INSERT INTO records (tenant_id, zone_id, display_name) VALUES (\(a.tenantID), \(id), 'x')" }),
                ("records.account_id", t.b.accounts[.n1], { id in "INSERT INTO records (tenant_id, zone_id, account_id, display_name) VALUES (\(a.tenantID), \(a.zones[.n1]), \(id), 'x')" }),
                ("records.owner_user_id", t.b.users[.n1], { id in "UPDATE records SET owner_user_id = \(id) WHERE tenant_id = \(a.tenantID) AND record_id = \(a.records[.n1])" }),
                ("activities.record_id", t.b.records[.n1], { id in "INSERT INTO activities (tenant_id, zone_id, kind, subject, record_id) VALUES (\(a.tenantID), \(a.zones[.n1]), 'note', 'x', \(id))" }),
                ("record_events.record_id", t.b.records[.n1], { id in "INSERT INTO record_events (tenant_id, record_id, zone_id, to_stage) VALUES (\(a.tenantID), \(id), \(a.zones[.n1]), 'potential')" }),
                ("users.role_id", t.b.repRole, { id in "INSERT INTO users (tenant_id, email, display_name, role_id, deactivated_at) VALUES (\(a.tenantID), 'x@a.example', 'x', \(id), now())" }),
                ("zones.parent_zone_id", t.b.zones[.hq], { id in "INSERT INTO zones (tenant_id, parent_zone_id, code, name) VALUES (\(a.tenantID), \(id), 'X', 'x')" }),
            ]
            for (column, target, makeQuery) in cases {
                let toB = try Self.attempt(makeQuery(target), on: app, settings: a.admin.settings).error
                let toNowhere = try Self.attempt(makeQuery(UUID()), on: app, settings: a.admin.settings).error
                // Refused by the foreign key, or (for references 0004 checks) by the write policy.
                #expect(toB?.code == .foreignKeyViolation || toB?.code == .insufficientPrivilege, "\(column) of tenant A accepted tenant B's id: \(toB.map { String(reflecting: $0) } ?? "no error")")
                #expect(toB?.code == toNowhere?.code && toB?.constraint == toNowhere?.constraint,
                        "\(column): referencing B's existing row fails differently from referencing nothing, which tells A that B's row exists")
            }
        }
    }

    // MARK: - Zones inside a tenant

    @Test("rejects a rep's reads outside their zone: only the N1 rows exist for them", arguments: TenantTable.zoneScoped)
    func repSeesOnlyOwnZone(table: TenantTable) async throws {
        try await Self.withTwoTenants { app, t in
            let settings = t.a.rep(of: .n1).settings
            let seen = try Self.visibleKeys(of: table, on: app, settings: settings)
            let expected = table.keys(of: t.a, in: [.n1])
            Self.expect(seen, is: expected, "the N1 rep in \(table)")

            let others = FixtureZone.allCases.filter { $0 != .n1 }
            let byKey = try app.transaction(settings: settings) { tx in
                try tx.query("SELECT count(*) FROM \(unsafeRaw: table.name) WHERE tenant_id = \(t.a.tenantID) AND \(table.keyIn(t.a, zones: others))").scalar(Int.self)
            }
            #expect(byKey == 0, "the N1 rep reads \(byKey) rows of \(table) in other zones by primary key")
        }
    }

    @Test("rejects a rep's updates and deletes of rows in other zones, while their own zone stays writable", arguments: TenantTable.zoneScopedWritable)
    func repCannotChangeOtherZones(table: TenantTable) async throws {
        try await Self.withTwoTenants { app, t in
            let rep = t.a.rep(of: .n1).settings
            let others = FixtureZone.allCases.filter { $0 != .n1 }
            let outsideN1: PGQuery = "zone_id <> \(t.a.zones[.n1])"
            let before = try Self.snapshot(of: table, on: app, settings: t.a.admin.settings, where: outsideN1)

            let updated = try Self.attempt(table.update(of: t.a, zones: others), on: app, settings: rep)
            #expect(updated.affected == 0, "the N1 rep's UPDATE of other zones' \(table): \(updated)")
            let deleted = try Self.attempt(table.delete(of: t.a, zones: [.s1]), on: app, settings: rep)
            #expect(deleted.affected == 0, "the N1 rep's DELETE of S1's \(table): \(deleted)")

            // The same statement on their own zone works, so the refusal above is the zone's doing.
            let own = try Self.attempt(table.update(of: t.a, zones: [.n1]), on: app, settings: rep)
            #expect(own.affected == 1, "the N1 rep cannot update their own \(table) row: \(own)")

            // Without a WHERE clause no SELECT right is needed, so only the UPDATE and DELETE
            // policies decide. The DELETE may fail on foreign keys; other zones must not change.
            let blind = try Self.attempt(table.updateAll(), on: app, settings: rep)
            #expect(blind.affected == 1, "the N1 rep's UPDATE of \(table) without WHERE should touch only their own row: \(blind)")
            _ = try Self.attempt("DELETE FROM \(unsafeRaw: table.name)", on: app, settings: rep)

            let after = try Self.snapshot(of: table, on: app, settings: t.a.admin.settings, where: outsideN1)
            #expect(after == before, "rows of \(table) outside N1 changed after the N1 rep's UPDATEs and DELETEs")
        }
    }

    @Test("rejects a rep's inserts into another zone, while their own zone accepts them", arguments: TenantTable.zoneScoped)
    func repCannotInsertIntoOtherZones(table: TenantTable) async throws {
        try await Self.withTwoTenants { app, t in
            let rep = t.a.rep(of: .n1).settings
            let before = try Self.snapshot(of: table, on: app, settings: t.a.admin.settings)

            for zone in [FixtureZone.s1, .norte, .hq] {
                let error = try Self.attempt(table.insert(into: t.a, zone: zone), on: app, settings: rep).error
                Self.expectRowSecurityRefusal(error, "the N1 rep's INSERT into \(table) in zone \(zone)")
            }
            let after = try Self.snapshot(of: table, on: app, settings: t.a.admin.settings)
            #expect(after == before, "rows of \(table) changed after the N1 rep's INSERTs into other zones")

            let own = try Self.attempt(table.insert(into: t.a, zone: .n1), on: app, settings: rep)
            #expect(own.affected == 1, "the N1 rep cannot insert into \(table) in their own zone: \(own)")
        }
    }

    @Test("rejects a rep moving a row of their zone into another zone (WITH CHECK)", arguments: TenantTable.zoneScopedWritable)
    func repCannotMoveRowsOut(table: TenantTable) async throws {
        try await Self.withTwoTenants { app, t in
            let rep = t.a.rep(of: .n1).settings
            let before = try Self.snapshot(of: table, on: app, settings: t.a.admin.settings)
            // Without WHERE the SELECT policy is not applied to the new row: only WITH CHECK refuses.
            let moves: [(String, PGQuery)] = [
                ("by key", "UPDATE \(unsafeRaw: table.name) SET zone_id = \(t.a.zones[.s1]) WHERE \(table.keyIn(t.a, zones: [.n1]))"),
                ("without WHERE", "UPDATE \(unsafeRaw: table.name) SET zone_id = \(t.a.zones[.s1])"),
            ]
            for (how, move) in moves {
                let error = try Self.attempt(move, on: app, settings: rep).error
                Self.expectRowSecurityRefusal(error, "the N1 rep's UPDATE moving their \(table) row to S1 (\(how))")
            }
            let after = try Self.snapshot(of: table, on: app, settings: t.a.admin.settings)
            #expect(after == before, "rows of \(table) changed after the N1 rep tried to move one to S1")
        }
    }

    @Test("rejects a rep attaching rows of their zone to another zone's record or account, and gives no hint that it exists")
    func repCannotReferenceOtherZones() async throws {
        try await Self.withTwoTenants { app, t in
            let a = t.a
            let rep = a.rep(of: .n1).settings
            // Foreign key checks bypass RLS, so only a policy can stop these. Each case: a row in
            // N1 that points at S1's row, and the same row pointing at an id that exists nowhere.
            let cases: [(String, UUID, (UUID) -> PGQuery)] = [
                ("activities.record_id", a.records[.s1], { id in
                    "INSERT INTO activities (tenant_id, zone_id, kind, subject, record_id) VALUES (\(a.tenantID), \(a.zones[.n1]), 'note', 'x', \(id))" }),
                ("activities.account_id", a.accounts[.s1], { id in
                    "INSERT INTO activities (tenant_id, zone_id, kind, subject, account_id) VALUES (\(a.tenantID), \(a.zones[.n1]), 'note', 'x', \(id))" }),
                ("record_events.record_id", a.records[.s1], { id in
                    "INSERT INTO record_events (tenant_id, record_id, zone_id, to_stage) VALUES (\(a.tenantID), \(id), \(a.zones[.n1]), 'contact')" }),
                ("records.account_id", a.accounts[.s1], { id in
                    "UPDATE records SET account_id = \(id) WHERE tenant_id = \(a.tenantID) AND record_id = \(a.records[.n1])" }),
            ]
            for (column, target, makeQuery) in cases {
                let toS1 = try Self.attempt(makeQuery(target), on: app, settings: rep)
                let toNowhere = try Self.attempt(makeQuery(UUID()), on: app, settings: rep)
                #expect(toS1.error != nil, "the N1 rep wrote \(column) = S1's row, which does not exist for them: \(toS1)")
                #expect(toS1.error?.code == toNowhere.error?.code,
                        "\(column): pointing at S1's row (\(toS1)) differs from pointing at nothing (\(toNowhere)), which tells the N1 rep that S1's row exists")
            }
        }
    }

    @Test("a manager sees exactly their subtree's rows: NORTE and N1, nothing of HQ, SUR or S1", arguments: TenantTable.zoneScoped)
    func managerSeesSubtree(table: TenantTable) async throws {
        try await Self.withTwoTenants { app, t in
            for region in [FixtureZone.norte, .sur] {
                let seen = try Self.visibleKeys(of: table, on: app, settings: t.a.manager(of: region).settings)
                let expected = table.keys(of: t.a, in: region.subtree)
                Self.expect(seen, is: expected, "the \(region) manager in \(table)")
            }
        }
    }

    @Test("rejects a zone list naming another tenant's zones: it shows nothing of that tenant", arguments: TenantTable.zoneScoped)
    func zoneListCannotReachOtherTenant(table: TenantTable) async throws {
        try await Self.withTwoTenants { app, t in
            let foreignZones = AccessScope(tenantID: t.a.tenantID, actorID: t.a.users[.n1], visibility: .zones(FixtureZone.allCases.map { t.b.zones[$0] }))
            let seen = try Self.visibleKeys(of: table, on: app, settings: foreignZones.settings)
            #expect(seen.isEmpty, "tenant A with B's zone ids as its zone list sees \(seen.count) rows of \(table)")
        }
    }

    // MARK: - Missing and malformed settings

    @Test("without settings nothing is visible or insertable, also in a pooled session after a committed transaction", arguments: TenantTable.allCases)
    func noSettingsNoRows(table: TenantTable) async throws {
        try await Self.withTwoTenants { app, t in
            let count: PGQuery = "SELECT count(*) FROM \(unsafeRaw: table.name)"

            #expect(try app.query("SELECT current_setting('comarca.tenant_id', true)").scalar(String?.self) == nil,
                    "control: a new session has never set comarca.tenant_id")
            #expect(try app.query(count).scalar(Int.self) == 0, "\(table) shows rows outside a transaction with no setting ever made")
            #expect(try app.transaction { try $0.query(count).scalar(Int.self) } == 0, "\(table) shows rows in a transaction with no settings")
            Self.expectRowSecurityRefusal(try Self.attempt(table.insert(into: t.a, zone: .n1), on: app, settings: []).error,
                                          "INSERT into \(table) with no settings")

            // A request with settings, committed: the session now reads the names as ''.
            let withSettings = try app.transaction(settings: t.a.admin.settings) { try $0.query(count).scalar(Int.self) }
            #expect(withSettings == table.keys(of: t.a).count, "control: tenant A's settings show A's rows of \(table)")
            #expect(try app.query("SELECT current_setting('comarca.tenant_id', true)").scalar(String?.self) == "",
                    "after COMMIT the session should read the setting as '' (the pooled-session case)")

            #expect(try app.query(count).scalar(Int.self) == 0, "\(table) shows rows outside a transaction after a committed request")
            #expect(try app.transaction { try $0.query(count).scalar(Int.self) } == 0, "\(table) shows rows in the next transaction without settings")
            Self.expectRowSecurityRefusal(try Self.attempt(table.insert(into: t.a, zone: .n1), on: app, settings: []).error,
                                          "INSERT into \(table) with '' settings after a committed request")
        }
    }

    @Test("rejects a malformed tenant setting with an error instead of showing rows", arguments: TenantTable.allCases)
    func malformedTenantIsAnError(table: TenantTable) async throws {
        try await Self.withTwoTenants { app, t in
            let settings = try Self.settings(tenant: "not-a-uuid", scope: "tenant", zones: "{}")
            let result = try Self.attempt("SELECT count(*) FROM \(unsafeRaw: table.name)", on: app, settings: settings)
            switch result {
            case .affected(let rows):
                Issue.record("tenant_id 'not-a-uuid' read \(table) without error (\(rows) rows)")
            case .failed(let error):
                #expect(error.code == .invalidTextRepresentation, "tenant_id 'not-a-uuid' on \(table) failed with an unexpected error: \(String(reflecting: error))")
            }
        }
    }

    @Test("rejects a malformed zone list with an error instead of showing rows", arguments: TenantTable.zoneScoped)
    func malformedZonesIsAnError(table: TenantTable) async throws {
        try await Self.withTwoTenants { app, t in
            for zones in ["{not-a-uuid}", "not-an-array", "{\(t.a.zones[.n1].uuidString.lowercased()),x}"] {
                let settings = try Self.settings(tenant: t.a.tenantID.uuidString.lowercased(), scope: "zones", zones: zones)
                switch try Self.attempt("SELECT count(*) FROM \(unsafeRaw: table.name)", on: app, settings: settings) {
                case .affected(let rows):
                    Issue.record("zone_ids '\(zones)' read \(table) without error (\(rows) rows)")
                case .failed(let error):
                    #expect(error.code?.errorClass == "22", "zone_ids '\(zones)' on \(table) failed with an unexpected error: \(String(reflecting: error))")
                }
            }
        }
    }

    @Test("a scope other than exactly 'tenant' or 'zones' shows no zone-scoped row", arguments: TenantTable.zoneScoped)
    func unknownScopeSeesNothing(table: TenantTable) async throws {
        try await Self.withTwoTenants { app, t in
            for scope in ["TENANT", "Tenant", "tenant ", "all", "", "*"] {
                let settings = try Self.settings(tenant: t.a.tenantID.uuidString.lowercased(), scope: scope, zones: "")
                let seen = try Self.visibleKeys(of: table, on: app, settings: settings)
                #expect(seen.isEmpty, "scope '\(scope)' shows \(seen.count) rows of \(table)")
            }
        }
    }

    // MARK: - Configuration and history

    @Test("rejects a rep's writes to configuration: inserts fail and updates and deletes touch nothing", arguments: TenantTable.configuration)
    func repCannotWriteConfiguration(table: TenantTable) async throws {
        try await Self.withTwoTenants { app, t in
            let rep = t.a.rep(of: .n1).settings
            let before = try Self.snapshot(of: table, on: app, settings: t.a.admin.settings)

            Self.expectRowSecurityRefusal(try Self.attempt(table.insert(into: t.a, zone: .n1), on: app, settings: rep).error,
                                          "the N1 rep's INSERT into \(table)")
            for (verb, query) in [("UPDATE", table.update(of: t.a)), ("DELETE", table.delete(of: t.a))] {
                switch try Self.attempt(query, on: app, settings: rep) {
                case .affected(let rows):
                    #expect(rows == 0, "the N1 rep's \(verb) hit \(rows) rows of \(table)")
                case .failed(let error):
                    #expect(error.code == .insufficientPrivilege, "the N1 rep's \(verb) on \(table) failed for another reason: \(String(reflecting: error))")
                }
            }
            let after = try Self.snapshot(of: table, on: app, settings: t.a.admin.settings)
            #expect(after == before, "\(table) changed after the N1 rep's writes")

            // Control: the tenant admin's identical UPDATE does reach the rows.
            let admin = try Self.attempt(table.update(of: t.a), on: app, settings: t.a.admin.settings)
            #expect(admin.affected == table.keys(of: t.a).count, "control: the admin's UPDATE of \(table): \(admin)")
        }
    }

    @Test("rejects UPDATE, DELETE and TRUNCATE of record_events by the app, even in its own zone; events can only be added")
    func recordEventsAreAppendOnly() async throws {
        try await Self.withTwoTenants { app, t in
            let table = TenantTable.recordEvents
            let before = try Self.snapshot(of: table, on: app, settings: t.a.admin.settings)

            for (who, scope) in [("the N1 rep", t.a.rep(of: .n1)), ("the tenant admin", t.a.admin)] {
                let attempts: [(String, PGQuery)] = [
                    ("UPDATE", table.update(of: t.a, zones: [.n1])),
                    ("DELETE", table.delete(of: t.a, zones: [.n1])),
                    ("TRUNCATE", "TRUNCATE record_events"),
                ]
                for (verb, query) in attempts {
                    Self.expectPermissionDenied(try Self.attempt(query, on: app, settings: scope.settings).error, "\(who)'s \(verb) of record_events")
                }
            }
            let after = try Self.snapshot(of: table, on: app, settings: t.a.admin.settings)
            #expect(after == before, "record_events changed after UPDATE, DELETE and TRUNCATE attempts")

            let rep = t.a.rep(of: .n1).settings
            #expect(try Self.visibleKeys(of: table, on: app, settings: rep) == table.keys(of: t.a, in: [.n1]), "control: the rep reads their zone's event")
            #expect(try Self.attempt(table.insert(into: t.a, zone: .n1), on: app, settings: rep).affected == 1, "control: the rep appends an event")
        }
    }
}

// MARK: - Helpers

extension IsolationTests {
    /// Runs `body` with an application-role connection to a fresh migrated database holding
    /// tenants A and B.
    static func withTwoTenants(_ body: (PGConnection, TwoTenants) throws -> Void) async throws {
        try await TestDatabase.withMigrated { database in
            let owner = try database.connectAsOwner()
            let tenants = TwoTenants(
                a: try FixtureTenant.insert(slug: "tenant-a", on: owner),
                b: try FixtureTenant.insert(slug: "tenant-b", on: owner))
            // TestDatabase drops the database WITH (FORCE) as the owner, which fails when a
            // backend of another role is still attached: wait for ours to be gone first.
            var backend: Int32 = 0
            defer { waitForForeignBackends(app: backend, database: database.name, owner: owner) }
            try withApp(database) { app in
                backend = app.backendPID
                try body(app, tenants)
            }
        }
    }

    /// Gives `body` a connection that is closed when this function returns.
    private static func withApp(_ database: TestDatabase, _ body: (PGConnection) throws -> Void) throws {
        let app = try database.connectAsApp()
        try body(app)
    }

    /// Waits (up to 5 s) until no backend the owner may not terminate is attached to the database:
    /// the app's, and autovacuum workers (they have no role, and the churn of test databases brings
    /// them in). A closing backend leaves pg_stat_activity a moment before it leaves the process
    /// array that DROP DATABASE checks; when the server runs on this machine, the app's process
    /// title, which names the database, closes that gap. Two clear looks 20 ms apart cover an
    /// autovacuum worker that is starting up. This narrows the race; only TestDatabase can close it.
    static func waitForForeignBackends(app pid: Int32, database name: String, owner: PGConnection) {
        func clear() -> Bool {
            let attached = (try? owner.query("""
                SELECT count(*) FROM pg_stat_activity
                 WHERE datname = current_database() AND (pid = \(Int(pid)) OR usename IS NULL)
                """).scalar(Int.self)) ?? 0
            let title = (try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)) ?? ""
            return attached == 0 && !title.contains(name)
        }
        let deadline = ContinuousClock.now + .seconds(5)
        while ContinuousClock.now < deadline {
            if clear() {
                Thread.sleep(forTimeInterval: 0.02)
                if clear() { return }
            }
            Thread.sleep(forTimeInterval: 0.005)
        }
    }

    /// What a statement did: the rows it affected (or returned), or the error it failed with.
    enum Outcome: CustomStringConvertible {
        case affected(Int)
        case failed(PGError)

        var affected: Int? {
            if case .affected(let rows) = self { return rows }
            return nil
        }

        var error: PGError? {
            if case .failed(let error) = self { return error }
            return nil
        }

        var description: String {
            switch self {
            case .affected(let rows): return "affected \(rows) rows"
            case .failed(let error): return "failed: \(String(reflecting: error))"
            }
        }
    }

    /// Runs `query` in a transaction of its own with `settings`; commits when it succeeds, so a
    /// write that should have been refused stays visible to the checks that follow.
    static func attempt(_ query: PGQuery, on connection: PGConnection, settings: [PGSetting]) throws -> Outcome {
        do {
            return .affected(try connection.transaction(settings: settings) { tx in
                let rows = try tx.query(query)
                // A SELECT count(*) reports its count; commands report affected rows.
                if rows.columns.count == 1, rows.count == 1, let count = try? rows.scalar(Int.self) { return count }
                return rows.affectedRows
            })
        } catch let error as PGError where error.kind == .server {
            return .failed(error)
        }
    }

    static func visibleKeys(of table: TenantTable, on connection: PGConnection, settings: [PGSetting]) throws -> Set<String> {
        try connection.transaction(settings: settings) { tx in
            Set(try tx.query("SELECT \(unsafeRaw: table.keyColumn)::text FROM \(unsafeRaw: table.name)").map { try $0.decode(String.self, at: 0) })
        }
    }

    /// Count and digest of every row of `table` visible with `settings`.
    static func snapshot(of table: TenantTable, on connection: PGConnection, settings: [PGSetting], where filter: PGQuery = "true") throws -> String {
        try connection.transaction(settings: settings) { tx in
            try tx.query("""
                SELECT count(*)::text || ' rows, md5 ' || coalesce(md5(string_agg(x::text, '|' ORDER BY x::text)), '-')
                  FROM \(unsafeRaw: table.name) x
                 WHERE \(filter)
                """).scalar(String.self)
        }
    }

    /// `seen` must be exactly `expected`: rows beyond it leaked, rows missing from it mean the
    /// check itself is broken (it would pass by seeing nothing).
    static func expect(_ seen: Set<String>, is expected: Set<String>, _ who: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let extra = seen.subtracting(expected)
        let missing = expected.subtracting(seen)
        #expect(extra.isEmpty, "\(who): \(extra.count) rows visible that should not be: \(extra.sorted())", sourceLocation: sourceLocation)
        #expect(missing.isEmpty, "\(who): \(missing.count) of the rows that should be visible are not: \(missing.sorted())", sourceLocation: sourceLocation)
    }

    /// Hand-made settings, for values `AccessScope` would never produce.
    static func settings(tenant: String, scope: String, zones: String) throws -> [PGSetting] {
        [
            try PGSetting(AccessScope.tenantSetting, tenant),
            try PGSetting(AccessScope.actorSetting, ""),
            try PGSetting(AccessScope.scopeSetting, scope),
            try PGSetting(AccessScope.zonesSetting, zones),
        ]
    }

    /// The statement must have failed on a row-level security policy (42501, "new row violates
    /// row-level security policy"), not on a grant or a constraint.
    static func expectRowSecurityRefusal(_ error: PGError?, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        guard let error else {
            Issue.record("\(what) succeeded", sourceLocation: sourceLocation)
            return
        }
        #expect(error.code == .insufficientPrivilege && error.message.contains("row-level security"),
                "\(what) failed, but not on row-level security: \(String(reflecting: error))", sourceLocation: sourceLocation)
    }

    /// The statement must have failed on a missing grant (42501, "permission denied").
    static func expectPermissionDenied(_ error: PGError?, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        guard let error else {
            Issue.record("\(what) succeeded", sourceLocation: sourceLocation)
            return
        }
        #expect(error.code == .insufficientPrivilege && error.message.contains("permission denied"),
                "\(what) failed, but not on a missing privilege: \(String(reflecting: error))", sourceLocation: sourceLocation)
    }
}

// MARK: - Fixture

/// The zone tree of every fixture tenant: HQ → NORTE → N1 and HQ → SUR → S1.
enum FixtureZone: String, CaseIterable, Sendable, CustomStringConvertible {
    case hq = "HQ", norte = "NORTE", sur = "SUR", n1 = "N1", s1 = "S1"

    var parent: FixtureZone? {
        switch self {
        case .hq: return nil
        case .norte, .sur: return .hq
        case .n1: return .norte
        case .s1: return .sur
        }
    }

    /// This zone and every zone below it.
    var subtree: [FixtureZone] {
        Self.allCases.filter { zone in
            var current: FixtureZone? = zone
            while let step = current {
                if step == self { return true }
                current = step.parent
            }
            return false
        }
    }

    var description: String { rawValue }
}

/// One value per fixture zone.
struct PerZone<Value: Sendable>: Sendable {
    private var values: [Value]

    init(_ make: (FixtureZone) throws -> Value) rethrows {
        values = try FixtureZone.allCases.map(make)
    }

    subscript(zone: FixtureZone) -> Value {
        // allCases order is fixed and `values` was built from it, so the index always exists.
        values[FixtureZone.allCases.firstIndex(of: zone)!]
    }

    func values(in zones: [FixtureZone]) -> [Value] { zones.map { self[$0] } }
}

/// The ids of one tenant's fixture rows. Every zone has a user (HQ the admin, NORTE and SUR
/// managers, N1 and S1 reps), an account, a record of that account, an activity on the record and
/// one record_event.
struct FixtureTenant: Sendable {
    let tenantID: UUID
    let slug: String
    let zones: PerZone<UUID>
    let adminRole: UUID
    let managerRole: UUID
    let repRole: UUID
    let users: PerZone<UUID>
    let accounts: PerZone<UUID>
    let records: PerZone<UUID>
    let activities: PerZone<UUID>
    let events: PerZone<Int>

    var roles: [UUID] { [adminRole, managerRole, repRole] }

    var admin: AccessScope { AccessScope(tenantID: tenantID, actorID: users[.hq], visibility: .wholeTenant) }

    func rep(of zone: FixtureZone) -> AccessScope {
        AccessScope(tenantID: tenantID, actorID: users[zone], visibility: .zones([zones[zone]]))
    }

    func manager(of zone: FixtureZone) -> AccessScope {
        AccessScope(tenantID: tenantID, actorID: users[zone], visibility: .zones(zones.values(in: zone.subtree)))
    }

    /// Inserts one tenant as the owner. FORCE applies RLS to the owner too, so it works under the
    /// operator's settings for the new tenant, as the admin CLI does.
    static func insert(slug: String, on owner: PGConnection) throws -> FixtureTenant {
        let tenantID = UUID()
        let zones = PerZone { _ in UUID() }
        let (adminRole, managerRole, repRole) = (UUID(), UUID(), UUID())
        let users = PerZone { _ in UUID() }
        let accounts = PerZone { _ in UUID() }
        let records = PerZone { _ in UUID() }
        let activities = PerZone { _ in UUID() }

        let events = try owner.transaction(settings: AccessScope.operator_(tenantID: tenantID).settings) { tx in
            try tx.execute("INSERT INTO tenants (tenant_id, slug, name) VALUES (\(tenantID), \(slug), \("Empresa " + slug))")
            for zone in FixtureZone.allCases {
                try tx.execute("""
                    INSERT INTO zones (tenant_id, zone_id, parent_zone_id, code, name)
                    VALUES (\(tenantID), \(zones[zone]), \(zone.parent.map { zones[$0] }), \(zone.rawValue), \("Zona " + zone.rawValue))
                    """)
            }
            for (id, key, scope) in [(adminRole, "admin", "tenant"), (managerRole, "manager", "zone_subtree"), (repRole, "rep", "own_zone")] {
                try tx.execute("INSERT INTO roles (tenant_id, role_id, key, name, scope) VALUES (\(tenantID), \(id), \(key), \(key.capitalized), \(scope))")
            }
            for zone in FixtureZone.allCases {
                let role = zone == .hq ? adminRole : (zone.parent == .hq ? managerRole : repRole)
                try tx.execute("""
                    INSERT INTO users (tenant_id, user_id, email, display_name, role_id, zone_id)
                    VALUES (\(tenantID), \(users[zone]), \(zone.rawValue.lowercased() + "@" + slug + ".example"),
                            \("Usuario " + zone.rawValue), \(role), \(zones[zone]))
                    """)
                try tx.execute("""
                    INSERT INTO accounts (tenant_id, account_id, zone_id, name)
                    VALUES (\(tenantID), \(accounts[zone]), \(zones[zone]), \("Cuenta " + zone.rawValue))
                    """)
                try tx.execute("""
                    INSERT INTO records (tenant_id, record_id, zone_id, owner_user_id, account_id, display_name)
                    VALUES (\(tenantID), \(records[zone]), \(zones[zone]), \(users[zone]), \(accounts[zone]), \("Registro " + zone.rawValue))
                    """)
                try tx.execute("""
                    INSERT INTO activities (tenant_id, activity_id, zone_id, kind, subject, record_id, account_id, owner_user_id)
                    VALUES (\(tenantID), \(activities[zone]), \(zones[zone]), 'call', \("Llamada " + zone.rawValue),
                            \(records[zone]), \(accounts[zone]), \(users[zone]))
                    """)
            }
            return try PerZone { zone in
                try tx.query("""
                    INSERT INTO record_events (tenant_id, record_id, zone_id, from_stage, to_stage)
                    VALUES (\(tenantID), \(records[zone]), \(zones[zone]), NULL, 'target')
                    RETURNING event_id
                    """).scalar(Int.self)
            }
        }
        return FixtureTenant(
            tenantID: tenantID, slug: slug, zones: zones, adminRole: adminRole, managerRole: managerRole, repRole: repRole,
            users: users, accounts: accounts, records: records, activities: activities, events: events)
    }
}

struct TwoTenants: Sendable {
    let a: FixtureTenant
    let b: FixtureTenant
}

/// The tables that carry tenant_id, and the statements the checks run against each.
enum TenantTable: String, CaseIterable, Sendable, CustomStringConvertible {
    case tenants, zones, roles, users, accounts, records, activities
    case recordEvents = "record_events"

    /// Tenant-wide configuration: every scope reads it, only tenant scope writes it.
    static let configuration: [TenantTable] = [.tenants, .zones, .roles, .users]
    /// Rows that belong to a zone: visible and writable only within the scope's zones.
    static let zoneScoped: [TenantTable] = [.accounts, .records, .activities, .recordEvents]
    /// Zone-scoped tables the app may also UPDATE and DELETE (record_events is append-only).
    static let zoneScopedWritable: [TenantTable] = [.accounts, .records, .activities]

    var name: String { rawValue }
    var description: String { rawValue }

    var keyColumn: String {
        switch self {
        case .tenants: return "tenant_id"
        case .zones: return "zone_id"
        case .roles: return "role_id"
        case .users: return "user_id"
        case .accounts: return "account_id"
        case .records: return "record_id"
        case .activities: return "activity_id"
        case .recordEvents: return "event_id"
        }
    }

    private func uuids(of tenant: FixtureTenant, in zones: [FixtureZone]) -> [UUID] {
        switch self {
        case .tenants: return [tenant.tenantID]
        case .zones: return tenant.zones.values(in: zones)
        case .roles: return tenant.roles
        case .users: return tenant.users.values(in: zones)
        case .accounts: return tenant.accounts.values(in: zones)
        case .records: return tenant.records.values(in: zones)
        case .activities: return tenant.activities.values(in: zones)
        case .recordEvents: return []
        }
    }

    /// Primary keys, as text, of `tenant`'s rows in this table that belong to `zones` (tenants
    /// and roles belong to no zone: all of them).
    func keys(of tenant: FixtureTenant, in zones: [FixtureZone] = FixtureZone.allCases) -> Set<String> {
        if self == .recordEvents { return Set(tenant.events.values(in: zones).map(String.init)) }
        return Set(uuids(of: tenant, in: zones).map { $0.uuidString.lowercased() })
    }

    /// `<key> = ANY($n)` over the rows `keys(of:in:)` names.
    func keyIn(_ tenant: FixtureTenant, zones: [FixtureZone] = FixtureZone.allCases) -> PGQuery {
        if self == .recordEvents { return "event_id = ANY(\(tenant.events.values(in: zones)))" }
        return "\(unsafeRaw: keyColumn) = ANY(\(uuids(of: tenant, in: zones)))"
    }

    /// A row that would be valid in `tenant` (and `zone`, where the table has zones) if policies
    /// allowed it: its references exist, so only RLS can refuse it.
    func insert(into tenant: FixtureTenant, zone: FixtureZone) -> PGQuery {
        let t = tenant.tenantID
        let z = tenant.zones[zone]
        switch self {
        case .tenants:
            return "INSERT INTO tenants (tenant_id, slug, name) VALUES (\(t), 'intruder', 'Intruder')"
        case .zones:
            return "INSERT INTO zones (tenant_id, parent_zone_id, code, name) VALUES (\(t), \(z), 'INTRUDER', 'Intruder')"
        case .roles:
            return "INSERT INTO roles (tenant_id, key, name, scope) VALUES (\(t), 'intruder', 'Intruder', 'tenant')"
        case .users:
            return """
                INSERT INTO users (tenant_id, email, display_name, role_id, zone_id, deactivated_at)
                VALUES (\(t), 'intruder@example.com', 'Intruder', \(tenant.adminRole), NULL, now())
                """
        case .accounts:
            return "INSERT INTO accounts (tenant_id, zone_id, name) VALUES (\(t), \(z), 'Intruder SL')"
        case .records:
            return "INSERT INTO records (tenant_id, zone_id, display_name) VALUES (\(t), \(z), 'Intruder')"
        case .activities:
            return "INSERT INTO activities (tenant_id, zone_id, kind, subject, record_id) VALUES (\(t), \(z), 'note', 'Intruder', \(tenant.records[zone]))"
        case .recordEvents:
            return "INSERT INTO record_events (tenant_id, record_id, zone_id, to_stage) VALUES (\(t), \(tenant.records[zone]), \(z), 'potential')"
        }
    }

    private var textColumn: String {
        switch self {
        case .tenants, .zones, .roles, .accounts: return "name"
        case .users, .records: return "display_name"
        case .activities: return "subject"
        case .recordEvents: return "reason"
        }
    }

    /// Renames the rows `keys(of:in:)` names.
    func update(of tenant: FixtureTenant, zones: [FixtureZone] = FixtureZone.allCases) -> PGQuery {
        "UPDATE \(unsafeRaw: name) SET \(unsafeRaw: textColumn) = 'Pwned' WHERE \(keyIn(tenant, zones: zones))"
    }

    /// The same change on every row the policies let through, with no WHERE clause.
    func updateAll() -> PGQuery {
        "UPDATE \(unsafeRaw: name) SET \(unsafeRaw: textColumn) = 'Pwned'"
    }

    func delete(of tenant: FixtureTenant, zones: [FixtureZone] = FixtureZone.allCases) -> PGQuery {
        "DELETE FROM \(unsafeRaw: name) WHERE \(keyIn(tenant, zones: zones))"
    }
}
