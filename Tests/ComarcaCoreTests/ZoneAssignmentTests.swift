import ComarcaCore
import ComarcaTestSupport
import Foundation
import PGClient
import Testing

@Suite("zone assignment rules: postal prefix, province, default")
struct ZoneAssignmentTests {
    static let yaml = """
        tenant: {slug: acme, name: "ACME Distribuciones, S.L."}
        zones:
          - code: HQ
            name: Oficina central
            children:
              - {code: BCN, name: Barcelona}
              - {code: BCN-C, name: Barcelona centro}
              - {code: GIR, name: Girona}
              - code: NORTE
                name: Región Norte
                children: [{code: N-BIO, name: Bilbao}, {code: N-SDR, name: Santander}]
        users:
          - {email: ana@acme.es, name: Ana García, role: admin, zone: HQ}
          - {email: inaki@acme.es, name: Iñaki Etxeberria, role: manager, zone: NORTE}
          - {email: aitor@acme.es, name: Aitor Zubizarreta, role: rep, zone: N-BIO}
          - {email: marta@acme.es, name: Marta Ruiz, role: rep, zone: N-SDR}
        fields:
          records:
            - {key: cp, label: Código postal, type: postal_code}
            - {key: province, label: Provincia, type: text}
        """

    static let rules = """
        assignment:
          rules:
            - postal_prefix: "08"
              zone: BCN
            - {postal_prefix: "080", zone: BCN-C}
            - {province: Gerona, zone: GIR}
            - {province: "48", zone: N-BIO}
            - {province: Cantabria, zone: N-SDR}
          default_zone: HQ
        """

    static func spec(_ assignment: String = rules) throws -> TenantSpec {
        try TenantSpec.parse(yaml + "\n" + assignment, fileName: "acme.yaml")
    }

    /// The acme tenant (applied with `assignment`), its zones by code, and sessions loaded as a
    /// request loads them on the application role's connection.
    struct Fixture {
        let owner: PGConnection
        let app: PGConnection
        let tenantID: UUID
        let zones: [String: UUID]
        let admin: Session
        let manager: Session
        let rep: Session

        func run<T>(_ session: Session, _ body: (PGConnection) throws -> T) throws -> T {
            try app.transaction(settings: session.accessScope.settings) { tx in try body(tx) }
        }

        func create(_ session: Session, cp: String? = nil, province: String? = nil, zoneId: UUID? = nil) throws -> RecordView {
            var custom: [String: FieldValue] = [:]
            custom["cp"] = cp.map(FieldValue.string)
            custom["province"] = province.map(FieldValue.string)
            return try run(session) { tx in
                try RecordService.create(
                    session, RecordInput(companyName: "Talleres \(UUID().uuidString.prefix(6))", zoneId: zoneId), custom: custom, on: tx)
            }
        }

        /// `records.zone_rule` as stored, read as the operator.
        func storedRule(_ id: UUID) throws -> String? {
            try owner.transaction(settings: AccessScope.operator_(tenantID: tenantID).settings) { tx in
                try tx.query("SELECT zone_rule FROM records WHERE tenant_id = \(tenantID) AND record_id = \(id)").scalar(String?.self)
            }
        }
    }

    static func with(assignment: String = rules, _ body: (Fixture) throws -> Void) async throws {
        try await TestDatabase.withMigrated { database in
            let owner = try database.connectAsOwner()
            try TenantSetup.apply(try spec(assignment), on: owner)
            let tenantID = try #require(try TenantSetup.tenantID(forSlug: "acme", on: owner))
            let (zones, users) = try owner.transaction(settings: AccessScope.operator_(tenantID: tenantID).settings) { tx in
                (
                    try tx.query("SELECT code, zone_id FROM zones WHERE tenant_id = \(tenantID)").decode((String, UUID).self),
                    try tx.query("SELECT email, user_id FROM users WHERE tenant_id = \(tenantID)").decode((String, UUID).self)
                )
            }
            let userIDs = Dictionary(uniqueKeysWithValues: users)
            let app = try database.connectAsApp()
            func session(_ email: String) throws -> Session {
                try SessionLoader.load(tenantID: tenantID, userID: try #require(userIDs[email]), on: app)
            }
            try body(Fixture(
                owner: owner, app: app, tenantID: tenantID, zones: Dictionary(uniqueKeysWithValues: zones),
                admin: try session("ana@acme.es"), manager: try session("inaki@acme.es"), rep: try session("aitor@acme.es")))
        }
    }

    // MARK: - The tenant file

    @Test("the assignment section parses: prefixes as text, provinces by name or code to their INE code, the default zone")
    func sectionParses() throws {
        let assignment = try #require(try Self.spec().assignment)
        #expect(assignment.rules.map(\.match) == [.postalPrefix("08"), .postalPrefix("080"), .province(17), .province(48), .province(39)])
        #expect(assignment.rules.map(\.zone) == ["BCN", "BCN-C", "GIR", "N-BIO", "N-SDR"])
        #expect(assignment.defaultZone == "HQ")
        #expect(try Self.spec("").assignment == nil)
        #expect(try Self.spec("assignment: {}").assignment == TenantSpec.AssignmentSpec())
    }

    struct ParseCase: Sendable, CustomTestStringConvertible {
        let rule: String
        let section: String
        /// "line:column: path: message fragment", lines counted within `section` (+ the fixture's).
        let expected: String
        var testDescription: String { rule }
    }

    /// The fixture has this many lines before the section.
    static let fixtureLines = yaml.split(separator: "\n", omittingEmptySubsequences: false).count

    static let parseCases: [ParseCase] = [
        ParseCase(rule: "unknown zone", section: "assignment:\n  rules: [{postal_prefix: \"08\", zone: MAD}]", expected: "2:39: assignment.rules[0].zone: unknown zone 'MAD'"),
        ParseCase(rule: "unknown default zone", section: "assignment:\n  default_zone: MAD", expected: "2:17: assignment.default_zone: unknown zone 'MAD'"),
        ParseCase(rule: "prefix with a letter", section: "assignment:\n  rules: [{postal_prefix: \"08a\", zone: BCN}]", expected: "2:27: assignment.rules[0].postal_prefix: postal prefix '08a' must be 1 to 5 digits"),
        ParseCase(rule: "prefix too long", section: "assignment:\n  rules: [{postal_prefix: \"080010\", zone: BCN}]", expected: "2:27: assignment.rules[0].postal_prefix: postal prefix '080010' must be 1 to 5 digits"),
        ParseCase(rule: "prefix that lost its leading zero", section: "assignment:\n  rules: [{postal_prefix: 8, zone: BCN}]", expected: "2:27: assignment.rules[0].postal_prefix: postal prefix '8' matches no Spanish postal code (they start with a province number 01-52); if a leading zero was lost, write \"08\""),
        ParseCase(rule: "prefix outside 01-52", section: "assignment:\n  rules: [{postal_prefix: \"60\", zone: BCN}]", expected: "2:27: assignment.rules[0].postal_prefix: postal prefix '60' matches no Spanish postal code"),
        ParseCase(rule: "unknown province", section: "assignment:\n  rules: [{province: Narnia, zone: GIR}]", expected: "2:22: assignment.rules[0].province: unknown province 'Narnia'"),
        ParseCase(rule: "province code out of range", section: "assignment:\n  rules: [{province: \"53\", zone: GIR}]", expected: "2:22: assignment.rules[0].province: unknown province '53'"),
        ParseCase(rule: "the same province twice, by two of its names", section: "assignment:\n  rules:\n    - {province: Girona, zone: GIR}\n    - {province: gerona, zone: BCN}", expected: "4:18: assignment.rules[1]: a second rule for province:17 (Girona) (first at line \(fixtureLines + 3)); a prefix or province has one rule"),
        ParseCase(rule: "the same prefix twice", section: "assignment:\n  rules:\n    - {postal_prefix: \"08\", zone: BCN}\n    - {postal_prefix: \"08\", zone: GIR}", expected: "4:23: assignment.rules[1]: a second rule for postal_prefix:08"),
        ParseCase(rule: "prefix and province in one rule", section: "assignment:\n  rules: [{postal_prefix: \"08\", province: Girona, zone: BCN}]", expected: "2:33: assignment.rules[0].province: a rule has postal_prefix or province, not both"),
        ParseCase(rule: "a rule without a match", section: "assignment:\n  rules: [{zone: BCN}]", expected: "2:11: assignment.rules[0]: a rule needs postal_prefix or province"),
        ParseCase(rule: "a rule without a zone", section: "assignment:\n  rules: [{postal_prefix: \"08\"}]", expected: "2:11: assignment.rules[0].zone: missing field 'zone'"),
        ParseCase(rule: "unknown key", section: "assignment:\n  rules: [{postal_prefix: \"08\", city: Vic, zone: BCN}]", expected: "2:33: assignment.rules[0].city: unknown key 'city'"),
        ParseCase(rule: "unknown key in the section", section: "assignment:\n  default: HQ", expected: "2:3: assignment.default: unknown key 'default'"),
    ]

    @Test("each problem of the assignment section is reported with line, column and path", arguments: parseCases)
    func parserProblem(_ testCase: ParseCase) throws {
        let problems = TenantSpec.problems(in: Self.yaml + "\n" + testCase.section)
        // Lines in `expected` are counted within the section.
        let parts = testCase.expected.split(separator: ":", maxSplits: 1)
        let expected = "\(Int(parts[0])! + Self.fixtureLines):" + parts[1]
        #expect(problems.count == 1, "\(problems)")
        #expect(problems.first.map { $0.description.hasPrefix(expected) } == true, "\(problems)")
        let error = #expect(throws: CoreError.self) { try Self.spec(testCase.section) }
        #expect(error?.code == .invalidInput)
    }

    @Test("apply stores the rules, a second apply plans nothing, and export round-trips them")
    func applyIsIdempotentAndExportRoundTrips() async throws {
        try await TestDatabase.withMigrated { database in
            let owner = try database.connectAsOwner()
            let spec = try Self.spec()
            let plan = try TenantSetup.apply(spec, on: owner)
            #expect(plan.lines.contains("+ assignment rule postal_prefix:08 → BCN"))
            #expect(plan.lines.contains("+ assignment rule province:17 (Girona) → GIR"))
            #expect(plan.lines.contains("+ assignment rule default → HQ"))
            #expect(try TenantSetup.plan(spec, on: owner).isEmpty)
            #expect(try TenantSetup.apply(spec, on: owner).isEmpty)

            let yaml = try TenantSetup.export(slug: "acme", on: owner)
            #expect(yaml.contains("- {postal_prefix: \"08\", zone: BCN}"), "\(yaml)")
            #expect(yaml.contains("- {province: Girona, zone: GIR}"), "\(yaml)")
            #expect(yaml.contains("default_zone: HQ"), "\(yaml)")
            let reparsed = try TenantSpec.parse(yaml, fileName: "export.yaml")
            #expect(reparsed == spec.canonical)
            #expect(try TenantSetup.plan(reparsed, on: owner).isEmpty)
            #expect(try TenantSetup.export(slug: "acme", on: owner) == yaml)
        }
    }

    @Test("a changed file changes, adds and removes rules; a file without the section leaves them; an empty section removes them all")
    func planChangesRules() async throws {
        try await TestDatabase.withMigrated { database in
            let owner = try database.connectAsOwner()
            try TenantSetup.apply(try Self.spec(), on: owner)
            let next = try Self.spec("""
                assignment:
                  rules:
                    - {postal_prefix: "08", zone: GIR}
                    - {province: Girona, zone: GIR}
                    - {province: Barcelona, zone: BCN}
                """)
            let plan = try TenantSetup.apply(next, on: owner)
            #expect(plan.lines == [
                "~ assignment rule postal_prefix:08: zone BCN → GIR",
                "+ assignment rule province:08 (Barcelona) → BCN",
                "- assignment rule postal_prefix:080 (→ BCN-C) removed",
                "- assignment rule province:39 (Cantabria) (→ N-SDR) removed",
                "- assignment rule province:48 (Bizkaia) (→ N-BIO) removed",
                "- assignment rule default (→ HQ) removed",
            ])
            #expect(try TenantSetup.plan(try Self.spec(""), on: owner).isEmpty)
            #expect(try TenantSetup.currentSpec(slug: "acme", on: owner).assignment == next.canonical.assignment)

            let cleared = try TenantSetup.apply(try Self.spec("assignment: {rules: []}"), on: owner)
            #expect(cleared.lines == ["- assignment rule postal_prefix:08 (→ GIR) removed", "- assignment rule province:08 (Barcelona) (→ BCN) removed", "- assignment rule province:17 (Girona) (→ GIR) removed"])
            #expect(try TenantSetup.currentSpec(slug: "acme", on: owner).assignment == nil)
        }
    }

    @Test("a zone used by a rule cannot be removed: the plan names the rules and nothing is written")
    func zoneUsedByRuleIsKept() async throws {
        try await TestDatabase.withMigrated { database in
            let owner = try database.connectAsOwner()
            try TenantSetup.apply(try Self.spec(), on: owner)
            // The next file drops zone GIR and says nothing about the rules.
            let withoutGirona = try TenantSpec.parse(Self.yaml.replacingOccurrences(of: "      - {code: GIR, name: Girona}\n", with: ""))
            let plan = try TenantSetup.plan(withoutGirona, on: owner)
            #expect(plan.errors == [
                "zone GIR (Girona) is not in the file but cannot be removed: still used by assignment rule province:17 (Girona); keep it in the file or move them to another zone first",
            ])
            let error = try #require(#expect(throws: CoreError.self) { try TenantSetup.apply(withoutGirona, on: owner) })
            #expect(error.code == .conflict)
            #expect(try TenantSetup.currentSpec(slug: "acme", on: owner).flattenedZones.map(\.zone.code).contains("GIR"))

            // With the rule gone from the file as well, the zone goes.
            let alsoRules = try TenantSpec.parse(
                Self.yaml.replacingOccurrences(of: "      - {code: GIR, name: Girona}\n", with: "")
                    + "\nassignment:\n  rules: [{postal_prefix: \"08\", zone: BCN}]")
            let applied = try TenantSetup.apply(alsoRules, on: owner)
            #expect(applied.lines.contains("- zone GIR removed"))
            #expect(applied.lines.contains("- assignment rule province:17 (Girona) (→ GIR) removed"))
        }
    }

    // MARK: - Deciding (pure)

    static let decider = ZoneAssignmentRules([
        .init(match: .postalPrefix("08"), zoneID: zone(1), zoneCode: "BCN"),
        .init(match: .postalPrefix("080"), zoneID: zone(2), zoneCode: "BCN-C"),
        .init(match: .postalPrefix("0801"), zoneID: zone(3), zoneCode: "BCN-EIX"),
        .init(match: .province(17), zoneID: zone(4), zoneCode: "GIR"),
        .init(match: .province(15), zoneID: zone(5), zoneCode: "GAL"),
        .init(match: .province(1), zoneID: zone(6), zoneCode: "EUS"),
        .init(match: .defaultZone, zoneID: zone(9), zoneCode: "HQ"),
    ])

    static func zone(_ n: Int) -> UUID { UUID(uuidString: "00000000-0000-0000-0000-00000000000\(n)")! }

    struct DecideCase: Sendable, CustomTestStringConvertible {
        let postalCode: String?
        let province: String?
        let zone: String
        let rule: String
        var testDescription: String { "\(postalCode ?? "-") / \(province ?? "-") → \(zone) (\(rule))" }
    }

    static let decideCases: [DecideCase] = [
        // The longest matching prefix wins.
        .init(postalCode: "08012", province: nil, zone: "BCN-EIX", rule: "postal_prefix:0801"),
        .init(postalCode: "08020", province: nil, zone: "BCN-C", rule: "postal_prefix:080"),
        .init(postalCode: "08301", province: nil, zone: "BCN", rule: "postal_prefix:08"),
        // A prefix rule beats a province value that disagrees.
        .init(postalCode: "08301", province: "Girona", zone: "BCN", rule: "postal_prefix:08"),
        // A postal code implies its province.
        .init(postalCode: "17001", province: nil, zone: "GIR", rule: "province:17"),
        .init(postalCode: " 17001 ", province: nil, zone: "GIR", rule: "province:17"),
        // A 4-digit code lost its leading zero.
        .init(postalCode: "1001", province: nil, zone: "EUS", rule: "province:01"),
        // Province by official name, other names, case and accents, and code.
        .init(postalCode: nil, province: "Girona", zone: "GIR", rule: "province:17"),
        .init(postalCode: nil, province: "GERONA", zone: "GIR", rule: "province:17"),
        .init(postalCode: nil, province: "A Coruña", zone: "GAL", rule: "province:15"),
        .init(postalCode: nil, province: "la coruna", zone: "GAL", rule: "province:15"),
        .init(postalCode: nil, province: "Coruña, A", zone: "GAL", rule: "province:15"),
        .init(postalCode: nil, province: "Álava", zone: "EUS", rule: "province:01"),
        .init(postalCode: nil, province: "Araba/Álava", zone: "EUS", rule: "province:01"),
        .init(postalCode: nil, province: "17", zone: "GIR", rule: "province:17"),
        .init(postalCode: nil, province: "1", zone: "EUS", rule: "province:01"),
        // An invalid postal code is ignored; the province still decides.
        .init(postalCode: "ABCDE", province: "Gerona", zone: "GIR", rule: "province:17"),
        .init(postalCode: "99001", province: "Gerona", zone: "GIR", rule: "province:17"),
        // Nothing matches: the default.
        .init(postalCode: "28001", province: "Madrid", zone: "HQ", rule: "default"),
        .init(postalCode: nil, province: "Narnia", zone: "HQ", rule: "default"),
        .init(postalCode: nil, province: nil, zone: "HQ", rule: "default"),
    ]

    @Test("assign: longest prefix, then the postal code's province, then the province value, then the default", arguments: decideCases)
    func decides(_ testCase: DecideCase) {
        let decision = Self.decider.assign(postalCode: testCase.postalCode, province: testCase.province)
        #expect(decision?.zoneCode == testCase.zone)
        #expect(decision?.rule == testCase.rule)
    }

    @Test("assign without a default decides nothing when no rule matches, and nothing at all without rules")
    func noDefaultNoDecision() {
        let rules = ZoneAssignmentRules([.init(match: .province(17), zoneID: Self.zone(4), zoneCode: "GIR")])
        #expect(rules.assign(postalCode: "08001", province: "Barcelona") == nil)
        #expect(rules.assign(postalCode: "17600", province: nil)?.zoneID == Self.zone(4))
        #expect(ZoneAssignmentRules.none.assign(postalCode: "17600", province: "Girona") == nil)
    }

    static let bilingual: [(String, Int)] = [
        ("A Coruña", 15), ("La Coruña", 15), ("Gipuzkoa", 20), ("Guipúzcoa", 20), ("Bizkaia", 48), ("Vizcaya", 48),
        ("Araba/Álava", 1), ("Illes Balears", 7), ("Baleares", 7), ("València", 46), ("Valencia", 46), ("Alacant", 3),
        ("Alicante", 3), ("Castelló", 12), ("Castellón", 12), ("Lleida", 25), ("Lérida", 25), ("Girona", 17), ("Gerona", 17),
        ("Ourense", 32), ("Orense", 32), ("Las Palmas", 35), ("Santa Cruz de Tenerife", 38), ("Ceuta", 51), ("Melilla", 52),
        ("Alicante / Alacant", 3), ("ÁVILA", 5), ("cadiz", 11), ("08", 8),
    ]

    @Test("every province is known by its official and common bilingual names, any case or accent, and by code", arguments: bilingual)
    func provinceNames(_ name: String, _ code: Int) {
        #expect(SpanishProvinces.code(for: name) == code)
    }

    @Test("the provinces table covers 01-52 once each")
    func provincesTableIsComplete() {
        #expect((1...52).allSatisfy { SpanishProvinces.name(of: $0) != nil })
        #expect(SpanishProvinces.name(of: 53) == nil)
        #expect(SpanishProvinces.code(for: "53") == nil)
        #expect(SpanishProvinces.code(for: "Narnia") == nil)
    }

    // MARK: - Online creation

    @Test("an admin creating a record with postal code 08xxx lands in BCN with zone_rule postal_prefix:08")
    func adminLandsInRuleZone() async throws {
        try await Self.with { f in
            let record = try f.create(f.admin, cp: "08301")
            #expect(record.zoneId == f.zones["BCN"])
            #expect(record.zoneRule == "postal_prefix:08")
            #expect(try f.storedRule(record.id) == "postal_prefix:08")
            #expect(record.ownerId == f.admin.userID)

            let longer = try f.create(f.admin, cp: "08012")
            #expect(longer.zoneId == f.zones["BCN-C"])
            #expect(longer.zoneRule == "postal_prefix:080")

            let byProvince = try f.create(f.admin, province: "Gerona")
            #expect(byProvince.zoneId == f.zones["GIR"])
            #expect(byProvince.zoneRule == "province:17")

            let implied = try f.create(f.admin, cp: "17600")
            #expect(implied.zoneId == f.zones["GIR"])
            #expect(implied.zoneRule == "province:17")

            let fallback = try f.create(f.admin, cp: "28001")
            #expect(fallback.zoneId == f.zones["HQ"])
            #expect(fallback.zoneRule == "default")

            // Lists carry it too, typed and as the JSON PostgreSQL writes.
            var filter = RecordQuery.Filter()
            filter.zoneIDs = [try #require(f.zones["BCN"])]
            let listed = try f.run(f.admin) { try RecordQuery.list(f.admin, filter: filter, page: try PageRequest(limit: 10, cursor: nil), on: $0) }
            #expect(listed.items.map(\.zoneRule) == ["postal_prefix:08"])
            let json = try f.run(f.admin) { try RecordQuery.listJSON(f.admin, filter: filter, page: try PageRequest(limit: 10, cursor: nil), on: $0) }
            #expect(json.contains(#""zoneRule" : "postal_prefix:08""#) || json.contains(#""zoneRule":"postal_prefix:08""#), "\(json)")
        }
    }

    @Test("rejects placing a rep's record outside the rep's zone: a rule pointing elsewhere leaves it in their own zone (creator)")
    func repStaysInOwnZone() async throws {
        try await Self.with { f in
            let record = try f.create(f.rep, cp: "08301")
            #expect(record.zoneId == f.rep.zoneID)
            #expect(record.zoneRule == "creator")
            #expect(try f.storedRule(record.id) == "creator")

            // A rule pointing at the rep's own zone applies as such.
            let own = try f.create(f.rep, province: "Vizcaya")
            #expect(own.zoneId == f.zones["N-BIO"])
            #expect(own.zoneRule == "province:48")

            // The default (HQ) is outside the rep's zone too.
            let defaulted = try f.create(f.rep, cp: "28001")
            #expect(defaulted.zoneId == f.rep.zoneID)
            #expect(defaulted.zoneRule == "creator")
        }
    }

    @Test("a manager's record goes to a zone of their subtree that a rule names")
    func managerLandsInSubtree() async throws {
        try await Self.with { f in
            let record = try f.create(f.manager, cp: "39001")
            #expect(record.zoneId == f.zones["N-SDR"])
            #expect(record.zoneRule == "province:39")
            let outside = try f.create(f.manager, cp: "08001")
            #expect(outside.zoneId == f.manager.zoneID)
            #expect(outside.zoneRule == "creator")
        }
    }

    @Test("a zone the caller names wins over the rules (explicit); one the caller cannot see falls back to their own (creator)")
    func explicitZone() async throws {
        try await Self.with { f in
            let named = try f.create(f.admin, cp: "08301", zoneId: f.zones["GIR"])
            #expect(named.zoneId == f.zones["GIR"])
            #expect(named.zoneRule == "explicit")
            let invisible = try f.create(f.rep, cp: "48001", zoneId: f.zones["GIR"])
            #expect(invisible.zoneId == f.rep.zoneID)
            #expect(invisible.zoneRule == "creator")
        }
    }

    @Test("rejects a records.zone_rule that names no rule; every documented one is accepted")
    func zoneRuleValuesAreChecked() async throws {
        try await Self.with { f in
            func insert(_ rule: String) throws {
                _ = try f.run(f.admin) { tx in
                    try tx.execute("""
                        INSERT INTO records (tenant_id, zone_id, display_name, zone_rule)
                        VALUES (\(f.tenantID), \(f.admin.zoneID), 'Talleres Ibarra', \(rule))
                        """)
                }
            }
            for rule in ["explicit", "zone_column", "owner", "default", "creator", "postal_prefix:08", "postal_prefix:08001", "province:17"] {
                try insert(rule)
            }
            for rule in ["importer", "province:53", "postal_prefix:", "postal_prefix:080010", "Default"] {
                let error = try #require(#expect(throws: PGError.self) { try insert(rule) }, "\(rule)")
                #expect(error.constraint == "records_zone_rule_valid", "\(rule)")
            }
        }
    }

    @Test("without rules a record stays in its creator's zone (creator)")
    func noRulesCreator() async throws {
        try await Self.with(assignment: "") { f in
            let record = try f.create(f.admin, cp: "08301", province: "Barcelona")
            #expect(record.zoneId == f.admin.zoneID)
            #expect(record.zoneRule == "creator")
        }
    }
}
