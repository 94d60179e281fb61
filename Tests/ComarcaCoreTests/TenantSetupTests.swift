import ComarcaCore
import ComarcaTestSupport
import Foundation
import PGClient
import Testing

@Suite("tenant set-up as configuration-as-code")
struct TenantSetupTests {
    static let acme = """
        tenant: {slug: acme, name: "ACME Distribuciones, S.L."}
        roles:
          - key: supervisor
            name: Supervisor
            scope: zone_subtree
            permissions: {records: [list, view, edit, reassign], accounts: [list, view]}
          - {key: admin}
        zones:
          - code: HQ
            name: Oficina central
            children:
              - code: NORTE
                name: Región Norte
                children: [{code: N-BIO, name: Bilbao}, {code: N-SDR, name: Santander}]
              - code: SUR
                name: Región Sur
                children: [{code: S-SVQ, name: Sevilla}]
        users:
          - {email: " Ana@ACME.es ", name: Ana García, role: admin, zone: HQ}
          - {email: inaki@acme.es, name: Iñaki Etxeberria, role: supervisor, zone: NORTE}
          - {email: aitor@acme.es, name: Aitor Zubizarreta, role: rep, zone: N-BIO}
          - {email: marta@acme.es, name: Marta Ruiz, role: rep, zone: N-SDR}
          - {email: rocio@acme.es, name: Rocío Gallardo, role: manager, zone: SUR}
        """

    static func spec(_ yaml: String = acme) throws -> TenantSpec {
        try TenantSpec.parse(yaml, fileName: "acme.yaml")
    }

    /// The acme file with some text replaced, for "the next version of the file".
    static func edited(_ replacements: [(String, String)]) throws -> TenantSpec {
        var yaml = acme
        for (old, new) in replacements {
            #expect(yaml.contains(old), "fixture does not contain \(old)")
            yaml = yaml.replacingOccurrences(of: old, with: new)
        }
        return try spec(yaml)
    }

    static func withOwner(_ body: (PGConnection) throws -> Void) async throws {
        try await TestDatabase.withMigrated { database in
            try body(try database.connectAsOwner())
        }
    }

    /// Users as `email → zone code (nil when deactivated)`, read under the tenant's settings.
    static func userZones(_ slug: String, on connection: PGConnection) throws -> [String: String?] {
        let tenantID = try #require(try TenantSetup.tenantID(forSlug: slug, on: connection))
        let rows = try connection.transaction(settings: AccessScope.operator_(tenantID: tenantID).settings) { tx in
            try tx.query("""
                SELECT u.email, z.code FROM users u
                  LEFT JOIN zones z ON z.tenant_id = u.tenant_id AND z.zone_id = u.zone_id
                 WHERE u.tenant_id = \(tenantID)
                """).decode((String, String?).self)
        }
        return Dictionary(uniqueKeysWithValues: rows.map { ($0.0, $0.1) })
    }

    static func count(_ table: String, _ slug: String, on connection: PGConnection) throws -> Int {
        guard let tenantID = try TenantSetup.tenantID(forSlug: slug, on: connection) else { return 0 }
        let tables = ["roles", "zones", "users", "records"]
        precondition(tables.contains(table))
        return try connection.transaction(settings: AccessScope.operator_(tenantID: tenantID).settings) { tx in
            try tx.query("SELECT count(*) FROM \(unsafeRaw: table) WHERE tenant_id = \(tenantID)").scalar(Int.self)
        }
    }

    static func insertRecord(_ slug: String, zone: String, on connection: PGConnection) throws {
        let tenantID = try #require(try TenantSetup.tenantID(forSlug: slug, on: connection))
        try connection.transaction(settings: AccessScope.operator_(tenantID: tenantID).settings) { tx in
            try tx.execute("""
                INSERT INTO records (tenant_id, zone_id, display_name)
                SELECT tenant_id, zone_id, 'Talleres Ibarra' FROM zones WHERE tenant_id = \(tenantID) AND code = \(zone)
                """)
        }
    }

    // MARK: - Apply

    @Test("applying a file creates the tenant, the built-in and custom roles, the zone tree and the users")
    func applyCreatesEverything() async throws {
        try await Self.withOwner { owner in
            let plan = try TenantSetup.apply(try Self.spec(), on: owner)
            #expect(plan.changes.first == .createTenant(slug: "acme", name: "ACME Distribuciones, S.L."))
            #expect(plan.lines.contains("+ zone N-BIO (Bilbao) under NORTE"))
            #expect(plan.lines.contains("+ zone HQ (Oficina central) at the top"))
            #expect(plan.lines.contains("+ user ana@acme.es (Ana García): admin in HQ"))

            let tenantID = try #require(try TenantSetup.tenantID(forSlug: "acme", on: owner))
            let roles = try owner.transaction(settings: AccessScope.operator_(tenantID: tenantID).settings) { tx in
                try tx.query("SELECT key, builtin, scope, permissions::text FROM roles WHERE tenant_id = \(tenantID) ORDER BY key")
                    .decode((String, Bool, String, String).self)
            }
            #expect(roles.map(\.0) == ["admin", "manager", "rep", "supervisor", "viewer"])
            #expect(roles.filter(\.1).map(\.0) == ["admin", "manager", "rep", "viewer"])
            let supervisor = try #require(roles.first { $0.0 == "supervisor" })
            #expect(supervisor.2 == "zone_subtree")
            #expect(try RoleDefinition.permissions(fromJSON: supervisor.3) == [.records: [.list, .view, .edit, .reassign], .accounts: [.list, .view]])

            let parents = try owner.transaction(settings: AccessScope.operator_(tenantID: tenantID).settings) { tx in
                try tx.query("""
                    SELECT z.code, p.code FROM zones z
                      LEFT JOIN zones p ON p.tenant_id = z.tenant_id AND p.zone_id = z.parent_zone_id
                     WHERE z.tenant_id = \(tenantID)
                    """).decode((String, String?).self)
            }
            #expect(Dictionary(uniqueKeysWithValues: parents.map { ($0.0, $0.1) })
                == ["HQ": nil, "NORTE": "HQ", "SUR": "HQ", "N-BIO": "NORTE", "N-SDR": "NORTE", "S-SVQ": "SUR"])
            #expect(try Self.userZones("acme", on: owner) == [
                "ana@acme.es": "HQ", "inaki@acme.es": "NORTE", "aitor@acme.es": "N-BIO",
                "marta@acme.es": "N-SDR", "rocio@acme.es": "SUR",
            ])
        }
    }

    @Test("applying the same file twice changes nothing: the second plan is empty")
    func applyTwiceIsNoOp() async throws {
        try await Self.withOwner { owner in
            let spec = try Self.spec()
            #expect(!(try TenantSetup.apply(spec, on: owner)).isEmpty)
            let tenantID = try #require(try TenantSetup.tenantID(forSlug: "acme", on: owner))
            let stamp = {
                try owner.transaction(settings: AccessScope.operator_(tenantID: tenantID).settings) { tx in
                    try tx.query("SELECT max(updated_at)::text FROM users WHERE tenant_id = \(tenantID)").scalar(String.self)
                }
            }
            let before = try stamp()
            #expect(try TenantSetup.plan(spec, on: owner).isEmpty)
            let second = try TenantSetup.apply(spec, on: owner)
            #expect(second.isEmpty)
            #expect(second.changes == [])
            #expect(try stamp() == before)
        }
    }

    @Test("a dry run plans everything and writes nothing")
    func dryRunWritesNothing() async throws {
        try await Self.withOwner { owner in
            let plan = try TenantSetup.plan(try Self.spec(), on: owner)
            #expect(plan.changes.count == 1 + 5 + 6 + 5)  // tenant, 4 built-in + 1 custom role, 6 zones, 5 users
            #expect(try TenantSetup.tenantID(forSlug: "acme", on: owner) == nil)

            try TenantSetup.apply(try Self.spec(), on: owner)
            let moved = try Self.edited([("zone: N-BIO}", "zone: S-SVQ}")])
            let next = try TenantSetup.plan(moved, on: owner)
            #expect(next.lines == ["~ user aitor@acme.es: zone N-BIO → S-SVQ"])
            #expect(try Self.userZones("acme", on: owner)["aitor@acme.es"] == "N-BIO")
        }
    }

    @Test("an invalid file lists every problem with its line and column, and changes nothing")
    func invalidFileChangesNothing() async throws {
        try await Self.withOwner { owner in
            try TenantSetup.apply(try Self.spec(), on: owner)
            let exportBefore = try TenantSetup.export(slug: "acme", on: owner)
            let broken = Self.acme
                .replacingOccurrences(of: "zone: N-BIO}", with: "zone: N-XXX}")
                .replacingOccurrences(of: "role: manager, zone: SUR}", with: "role: boss, zone: SUR}")
                .replacingOccurrences(of: "scope: zone_subtree", with: "scope: galaxy")
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("comarca-tenant-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let file = directory.appendingPathComponent("acme.yaml")
            try broken.write(to: file, atomically: true, encoding: .utf8)

            let error = try #require(#expect(throws: CoreError.self) { try TenantSpec.load(contentsOf: file) })
            #expect(error.code == .invalidInput)
            let lines = error.message.split(separator: "\n").map(String.init)
            #expect(lines == [
                "acme.yaml: 3 problems",
                "acme.yaml:5:12: roles[0].scope: unknown scope 'galaxy' (expected one of: own_zone, zone_subtree, tenant)",
                "acme.yaml:21:70: users[2].zone: unknown zone 'N-XXX' (not listed under zones)",
                "acme.yaml:23:56: users[4].role: unknown role 'boss' (built-in: admin, manager, rep, viewer; others must be listed under roles)",
            ])
            #expect(try TenantSetup.export(slug: "acme", on: owner) == exportBefore)
        }
    }

    @Test("export writes the same YAML back: parsing it gives the applied spec, and applying it changes nothing")
    func exportRoundTrips() async throws {
        try await Self.withOwner { owner in
            let spec = try Self.spec()
            try TenantSetup.apply(spec, on: owner)
            let yaml = try TenantSetup.export(slug: "acme", on: owner)
            #expect(yaml.hasPrefix("tenant: {slug: acme, name: 'ACME Distribuciones, S.L.'}\n"))
            #expect(yaml.contains("{email: ana@acme.es, name: Ana García, role: admin, zone: HQ}"))
            let reparsed = try TenantSpec.parse(yaml, fileName: "export.yaml")
            #expect(reparsed == spec.canonical)
            #expect(try TenantSetup.plan(reparsed, on: owner).isEmpty)
            #expect(try TenantSetup.apply(reparsed, on: owner).isEmpty)
            #expect(try TenantSetup.export(slug: "acme", on: owner) == yaml)
        }
    }

    @Test("export quotes values YAML would read as something other than text")
    func exportQuotesAmbiguousText() throws {
        let spec = TenantSpec(
            slug: "acme", name: "yes",
            zones: [.init(code: "007", name: "- dash"), .init(code: "true", name: "null")],
            users: [.init(email: "a@acme.es", name: "#1: Ana", role: "rep", zone: "007")])
        let yaml = try TenantSetup.yaml(for: spec)
        #expect(try TenantSpec.parse(yaml) == spec.canonical)
        #expect(yaml.contains("\"yes\""))
    }

    // MARK: - Users and zones leaving the file

    @Test("a user missing from the file is deactivated and frees the zone for a new user in the same apply")
    func removedUserIsDeactivated() async throws {
        try await Self.withOwner { owner in
            try TenantSetup.apply(try Self.spec(), on: owner)
            let next = try Self.edited([
                ("{email: aitor@acme.es, name: Aitor Zubizarreta, role: rep, zone: N-BIO}",
                 "{email: jon@acme.es, name: Jon Ander, role: rep, zone: N-BIO}"),
            ])
            let plan = try TenantSetup.apply(next, on: owner)
            #expect(plan.lines == [
                "- user aitor@acme.es deactivated (frees zone N-BIO)",
                "+ user jon@acme.es (Jon Ander): rep in N-BIO",
            ])
            let zones = try Self.userZones("acme", on: owner)
            #expect(zones["aitor@acme.es"] == .some(nil))
            #expect(zones["jon@acme.es"] == "N-BIO")
            #expect(try Self.count("users", "acme", on: owner) == 6)
            #expect(try TenantSetup.plan(next, on: owner).isEmpty)

            // Back in the file: reactivated, in a free zone.
            let back = try Self.edited([
                ("{email: aitor@acme.es, name: Aitor Zubizarreta, role: rep, zone: N-BIO}",
                 "{email: jon@acme.es, name: Jon Ander, role: rep, zone: N-BIO}\n  - {email: aitor@acme.es, name: Aitor Zubizarreta, role: rep, zone: S-SVQ}"),
            ])
            #expect(try TenantSetup.apply(back, on: owner).lines == ["~ user aitor@acme.es: reactivated in zone S-SVQ"])
        }
    }

    @Test("a zone still used by records cannot be removed: the plan names it and what uses it, and nothing changes")
    func zoneInUseIsNotRemoved() async throws {
        try await Self.withOwner { owner in
            try TenantSetup.apply(try Self.spec(), on: owner)
            try Self.insertRecord("acme", zone: "N-SDR", on: owner)
            let next = try Self.edited([
                (", {code: N-SDR, name: Santander}", ""),
                ("\n  - {email: marta@acme.es, name: Marta Ruiz, role: rep, zone: N-SDR}", ""),
            ])
            let plan = try TenantSetup.plan(next, on: owner)
            #expect(plan.errors.count == 1)
            #expect(plan.errors.first?.contains("zone N-SDR (Santander)") == true)
            #expect(plan.errors.first?.contains("1 record") == true)

            let error = try #require(#expect(throws: CoreError.self) { try TenantSetup.apply(next, on: owner) })
            #expect(error.code == .conflict)
            #expect(error.message.contains("N-SDR"))
            #expect(try Self.userZones("acme", on: owner)["marta@acme.es"] == "N-SDR")
            #expect(try Self.count("zones", "acme", on: owner) == 6)

            // An unused zone goes, with its user deactivated first.
            let withoutSevilla = try Self.edited([("\n        children: [{code: S-SVQ, name: Sevilla}]", "")])
            #expect(try TenantSetup.apply(withoutSevilla, on: owner).lines == ["- zone S-SVQ removed"])
            #expect(try Self.count("zones", "acme", on: owner) == 5)
        }
    }

    @Test("a custom role missing from the file is removed when unused, and kept with a note while users hold it")
    func customRoleRemoval() async throws {
        try await Self.withOwner { owner in
            try TenantSetup.apply(try Self.spec(), on: owner)
            // Iñaki (supervisor) leaves and the role with him: kept, deactivated users still hold it.
            let next = try Self.edited([
                ("\n  - key: supervisor\n    name: Supervisor\n    scope: zone_subtree\n    permissions: {records: [list, view, edit, reassign], accounts: [list, view]}", ""),
                ("\n  - {email: inaki@acme.es, name: Iñaki Etxeberria, role: supervisor, zone: NORTE}", ""),
            ])
            let plan = try TenantSetup.apply(next, on: owner)
            #expect(plan.lines.first == "- user inaki@acme.es deactivated (frees zone NORTE)")
            #expect(plan.notes.count == 1)
            #expect(try Self.count("roles", "acme", on: owner) == 5)

            let unused = try Self.spec(Self.acme.replacingOccurrences(of: "key: supervisor", with: "key: auditor")
                .replacingOccurrences(of: "role: supervisor", with: "role: auditor"))
            let changed = try TenantSetup.apply(unused, on: owner)
            #expect(changed.lines.contains("+ role auditor (Supervisor), scope zone_subtree"))
            #expect(changed.lines.contains("~ user inaki@acme.es: reactivated in zone NORTE"))
            #expect(changed.lines.contains("~ user inaki@acme.es: role supervisor → auditor"))
            // Inaki is back with another role, so nobody keeps supervisor: removed in the same apply.
            #expect(changed.lines.last == "- role supervisor removed")
            #expect(changed.notes.isEmpty)
            #expect(try TenantSetup.plan(unused, on: owner).isEmpty)
            #expect(try Self.count("roles", "acme", on: owner) == 5)
        }
    }

    // MARK: - Moves and swaps

    @Test("two reps swap zones in one apply")
    func repsSwapZones() async throws {
        try await Self.withOwner { owner in
            try TenantSetup.apply(try Self.spec(), on: owner)
            let swapped = try Self.edited([
                ("role: rep, zone: N-BIO}", "role: rep, zone: TMP}"),
                ("role: rep, zone: N-SDR}", "role: rep, zone: N-BIO}"),
                ("role: rep, zone: TMP}", "role: rep, zone: N-SDR}"),
            ])
            let plan = try TenantSetup.apply(swapped, on: owner)
            #expect(Set(plan.lines) == ["~ user aitor@acme.es: zone N-BIO → N-SDR", "~ user marta@acme.es: zone N-SDR → N-BIO"])
            let zones = try Self.userZones("acme", on: owner)
            #expect(zones["aitor@acme.es"] == "N-SDR")
            #expect(zones["marta@acme.es"] == "N-BIO")
        }
    }

    @Test("the zone tree can be reshaped in one apply, a child becoming its parent's parent")
    func treeReshaped() async throws {
        try await Self.withOwner { owner in
            try TenantSetup.apply(try Self.spec(), on: owner)
            // HQ > NORTE > N-BIO becomes HQ > N-BIO > NORTE, and SUR is renamed.
            let reshaped = try Self.edited([
                ("""
                      - code: NORTE
                        name: Región Norte
                        children: [{code: N-BIO, name: Bilbao}, {code: N-SDR, name: Santander}]
                """, """
                      - code: N-BIO
                        name: Bilbao
                        children:
                          - code: NORTE
                            name: Región Norte
                            children: [{code: N-SDR, name: Santander}]
                """),
                ("name: Región Sur", "name: Región Sur y Canarias"),
            ])
            let plan = try TenantSetup.apply(reshaped, on: owner)
            #expect(plan.lines == [
                "~ zone N-BIO: parent NORTE → HQ",
                "~ zone NORTE: parent HQ → N-BIO",
                "~ zone SUR: name \"Región Sur\" → \"Región Sur y Canarias\"",
            ])
            #expect(try TenantSetup.plan(reshaped, on: owner).isEmpty)
            #expect(try TenantSetup.currentSpec(slug: "acme", on: owner) == reshaped.canonical)
        }
    }

    @Test("handover: the previous rep is deactivated, or moved to a free zone; records stay with the zone")
    func handover() async throws {
        try await Self.withOwner { owner in
            try TenantSetup.apply(try Self.spec(), on: owner)
            try Self.insertRecord("acme", zone: "N-BIO", on: owner)
            let tenantID = try #require(try TenantSetup.tenantID(forSlug: "acme", on: owner))

            // Marta (N-SDR) takes N-BIO; Aitor goes to the zone Marta leaves.
            let swap = try ZoneService.handover(tenantID: tenantID, zone: "N-BIO", to: "Marta@acme.es", moveTo: "N-SDR", on: owner)
            #expect(swap.previousRep == "aitor@acme.es")
            #expect(swap.lines == ["~ zone N-BIO: rep aitor@acme.es → marta@acme.es", "~ user aitor@acme.es: zone N-BIO → N-SDR"])
            var zones = try Self.userZones("acme", on: owner)
            #expect(zones["marta@acme.es"] == "N-BIO")
            #expect(zones["aitor@acme.es"] == "N-SDR")

            // Without a destination the previous rep is deactivated.
            let plain = try ZoneService.handover(tenantID: tenantID, zone: "N-BIO", to: "rocio@acme.es", on: owner)
            #expect(plain.lines == ["~ zone N-BIO: rep marta@acme.es → rocio@acme.es", "- user marta@acme.es deactivated", "~ zone SUR is now free"])
            zones = try Self.userZones("acme", on: owner)
            #expect(zones["marta@acme.es"] == .some(nil))
            #expect(zones["rocio@acme.es"] == "N-BIO")

            let records = try owner.transaction(settings: AccessScope.operator_(tenantID: tenantID).settings) { tx in
                try tx.query("""
                    SELECT z.code FROM records r JOIN zones z ON z.tenant_id = r.tenant_id AND z.zone_id = r.zone_id
                     WHERE r.tenant_id = \(tenantID)
                    """).decode((String).self)
            }
            #expect(records == ["N-BIO"])

            // Moving the previous rep onto a taken zone is refused and changes nothing.
            let refused = try #require(#expect(throws: CoreError.self) {
                try ZoneService.handover(tenantID: tenantID, zone: "N-BIO", to: "marta@acme.es", moveTo: "HQ", on: owner)
            })
            #expect(refused.code == .conflict)
            #expect(try Self.userZones("acme", on: owner) == zones)

            #expect(throws: CoreError.self) { try ZoneService.handover(tenantID: tenantID, zone: "NOPE", to: "marta@acme.es", on: owner) }
            #expect(throws: CoreError.self) { try ZoneService.handover(tenantID: tenantID, zone: "N-BIO", to: "nobody@acme.es", on: owner) }
        }
    }

    @Test("moving a user to an occupied zone is refused and changes nothing; to a free zone it works")
    func moveUser() async throws {
        try await Self.withOwner { owner in
            try TenantSetup.apply(try Self.spec(), on: owner)
            let tenantID = try #require(try TenantSetup.tenantID(forSlug: "acme", on: owner))
            let before = try Self.userZones("acme", on: owner)
            let error = try #require(#expect(throws: CoreError.self) {
                try UserService.move(tenantID: tenantID, email: "aitor@acme.es", toZone: "N-SDR", on: owner)
            })
            #expect(error.code == .conflict)
            #expect(error.message.contains("marta@acme.es"))
            #expect(try Self.userZones("acme", on: owner) == before)

            // Free S-SVQ: nobody holds it in the fixture.
            let moved = try UserService.move(tenantID: tenantID, email: "AITOR@acme.es", toZone: "S-SVQ", on: owner)
            #expect(moved.line == "~ user aitor@acme.es: zone N-BIO → S-SVQ")
            #expect(try Self.userZones("acme", on: owner)["aitor@acme.es"] == "S-SVQ")
            // The file still says N-BIO: the next plan moves Aitor back.
            #expect(try TenantSetup.plan(try Self.spec(), on: owner).lines == ["~ user aitor@acme.es: zone S-SVQ → N-BIO"])
        }
    }

    @Test("a session without zones: edit may not hand a zone over")
    func handoverNeedsPermission() async throws {
        try await Self.withOwner { owner in
            try TenantSetup.apply(try Self.spec(), on: owner)
            let tenantID = try #require(try TenantSetup.tenantID(forSlug: "acme", on: owner))
            let session = Session(
                tenantID: tenantID, tenantSlug: "acme", userID: UUID(), zoneID: UUID(), role: BuiltinRoles.rep,
                visibleZoneIDs: [], tokenID: nil)
            let error = try #require(#expect(throws: CoreError.self) {
                try ZoneService.handover(session: session, zone: "N-BIO", to: "marta@acme.es", on: owner)
            })
            #expect(error.code == .forbidden)
            let moveError = try #require(#expect(throws: CoreError.self) {
                try UserService.move(session: session, email: "marta@acme.es", toZone: "S-SVQ", on: owner)
            })
            #expect(moveError.code == .forbidden)
        }
    }

    @Test("tenant create makes the tenant with the built-in roles and refuses a taken slug")
    func createTenant() async throws {
        try await Self.withOwner { owner in
            try TenantSetup.create(slug: "globex", name: "Globex Ibérica", on: owner)
            #expect(try Self.count("roles", "globex", on: owner) == 4)
            let error = try #require(#expect(throws: CoreError.self) {
                try TenantSetup.create(slug: "globex", name: "Again", on: owner)
            })
            #expect(error.code == .conflict)
            #expect(try TenantSetup.list(on: owner).map(\.slug) == ["globex"])
            // A file for an existing tenant with only its built-ins: the tenant is renamed, nothing else.
            let plan = try TenantSetup.plan(TenantSpec(slug: "globex", name: "Globex"), on: owner)
            #expect(plan.lines == ["~ tenant name: \"Globex Ibérica\" → \"Globex\""])
        }
    }

    // MARK: - Validation rules

    struct ParseCase: Sendable, CustomTestStringConvertible {
        let rule: String
        let yaml: String
        /// "line:column: path: message fragment"
        let expected: String
        var testDescription: String { rule }
    }

    static let parseCases: [ParseCase] = [
        ParseCase(rule: "unknown top-level key", yaml: "tenant: {slug: acme, name: A}\nzone: []\n", expected: "2:1: zone: unknown key 'zone'"),
        ParseCase(rule: "unknown key in a user", yaml: "tenant: {slug: acme, name: A}\nzones: [{code: HQ, name: H}]\nusers:\n  - {email: a@a.es, name: A, role: rep, zone: HQ, phone: 1}\n", expected: "4:51: users[0].phone: unknown key 'phone'"),
        ParseCase(rule: "missing tenant section", yaml: "zones: []\n", expected: "1:1: tenant: missing section 'tenant'"),
        ParseCase(rule: "missing field", yaml: "tenant: {slug: acme}\n", expected: "1:9: tenant.name: missing field 'name'"),
        ParseCase(rule: "missing user field", yaml: "tenant: {slug: acme, name: A}\nzones: [{code: HQ, name: H}]\nusers:\n  - {email: a@a.es, name: A, zone: HQ}\n", expected: "4:5: users[0].role: missing field 'role'"),
        ParseCase(rule: "bad slug", yaml: "tenant: {slug: Acme_SL, name: A}\n", expected: "1:16: tenant.slug: slug 'Acme_SL' must be"),
        ParseCase(rule: "bad zone code", yaml: "tenant: {slug: acme, name: A}\nzones:\n  - {code: 'H Q', name: H}\n", expected: "3:12: zones[0].code: zone code 'H Q' must be"),
        ParseCase(rule: "duplicate zone code in the tree", yaml: "tenant: {slug: acme, name: A}\nzones:\n  - code: HQ\n    name: H\n    children: [{code: HQ, name: Again}]\n", expected: "5:23: zones[0].children[0].code: zone code 'HQ' is used twice (first at line 3)"),
        ParseCase(rule: "duplicate e-mail, case-insensitive", yaml: "tenant: {slug: acme, name: A}\nzones: [{code: A, name: A}, {code: B, name: B}]\nusers:\n  - {email: ana@a.es, name: A, role: rep, zone: A}\n  - {email: ' ANA@A.ES', name: A, role: rep, zone: B}\n", expected: "5:13: users[1].email: e-mail ana@a.es is used twice (first at line 4)"),
        ParseCase(rule: "user with an unknown zone", yaml: "tenant: {slug: acme, name: A}\nusers:\n  - {email: a@a.es, name: A, role: rep, zone: HQ}\n", expected: "3:47: users[0].zone: unknown zone 'HQ'"),
        ParseCase(rule: "user with an unknown role", yaml: "tenant: {slug: acme, name: A}\nzones: [{code: HQ, name: H}]\nusers:\n  - {email: a@a.es, name: A, role: boss, zone: HQ}\n", expected: "4:36: users[0].role: unknown role 'boss'"),
        ParseCase(rule: "two users on one zone", yaml: "tenant: {slug: acme, name: A}\nzones: [{code: HQ, name: H}]\nusers:\n  - {email: a@a.es, name: A, role: rep, zone: HQ}\n  - {email: b@a.es, name: B, role: rep, zone: HQ}\n", expected: "5:47: users[1].zone: zone 'HQ' already has a user (a@a.es, line 4)"),
        ParseCase(rule: "unknown entity in permissions", yaml: "tenant: {slug: acme, name: A}\nroles:\n  - {key: boss, name: B, scope: tenant, permissions: {widgets: [view]}}\n", expected: "3:55: roles[0].permissions.widgets: unknown entity 'widgets'"),
        ParseCase(rule: "unknown action in permissions", yaml: "tenant: {slug: acme, name: A}\nroles:\n  - {key: boss, name: B, scope: tenant, permissions: {records: [view, fly]}}\n", expected: "3:71: roles[0].permissions.records[1]: unknown action 'fly'"),
        ParseCase(rule: "redefining a built-in role", yaml: "tenant: {slug: acme, name: A}\nroles:\n  - {key: rep, name: Comercial, scope: own_zone}\n", expected: "3:11: roles[0].key: 'rep' is a built-in role and cannot be redefined"),
        ParseCase(rule: "unknown role scope", yaml: "tenant: {slug: acme, name: A}\nroles:\n  - {key: boss, name: B, scope: everywhere}\n", expected: "3:33: roles[0].scope: unknown scope 'everywhere'"),
        ParseCase(rule: "bad e-mail", yaml: "tenant: {slug: acme, name: A}\nzones: [{code: HQ, name: H}]\nusers:\n  - {email: ana.acme.es, name: A, role: rep, zone: HQ}\n", expected: "4:13: users[0].email: 'ana.acme.es' is not an e-mail address"),
        ParseCase(rule: "not YAML", yaml: "tenant: {slug: acme\nzones: [\n", expected: "2:6: not valid YAML"),
        ParseCase(rule: "empty file", yaml: "", expected: "1:1: the file is empty"),
    ]

    @Test("each validation rule reports its problem with line, column and path", arguments: parseCases)
    func validationRule(_ testCase: ParseCase) throws {
        let problems = TenantSpec.problems(in: testCase.yaml)
        #expect(problems.count == 1, "\(problems)")
        #expect(problems.first.map { $0.description.hasPrefix(testCase.expected) } == true, "\(problems)")
        let error = #expect(throws: CoreError.self) { try TenantSpec.parse(testCase.yaml, fileName: "rule.yaml") }
        #expect(error?.code == .invalidInput)
        #expect(error?.message.contains("rule.yaml:" + testCase.expected) == true)
    }

    @Test("listing a built-in role by its key alone is allowed and ignored")
    func builtinListedByKey() throws {
        let spec = try TenantSpec.parse("tenant: {slug: acme, name: A}\nroles: [{key: admin}, {key: rep}]\n")
        #expect(spec.roles.isEmpty)
    }
}
