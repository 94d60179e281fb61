import ComarcaCore
import ComarcaTestSupport
import Foundation
import PGClient
import Testing

@Suite("field specs: validation, spec changes that never lose data, the tenant file")
struct FieldSpecTests {
    // MARK: - Validation (no database)

    static let sector = FieldSpec(
        key: "sector", label: FieldLabel(es: "Sector", en: "Sector"), type: .singleChoice,
        requiredFromStage: .potential, options: [FieldOption("ind", "Industria"), FieldOption("ali", "Alimentación"), FieldOption("ser", "Servicios")],
        builtin: false)

    static let set = FieldSpecSet(entity: .records, fields: BuiltinFields.all(.records) + [
        FieldSpec(key: "employees", label: FieldLabel(es: "Empleados"), type: .integer),
        FieldSpec(key: "revenue", label: FieldLabel(es: "Facturación"), type: .money),
        FieldSpec(key: "ratio", label: FieldLabel(es: "Ratio"), type: .decimal),
        FieldSpec(key: "founded", label: FieldLabel(es: "Fundación"), type: .date),
        FieldSpec(key: "last_call", label: FieldLabel(es: "Última llamada"), type: .datetime),
        FieldSpec(key: "newsletter", label: FieldLabel(es: "Boletín"), type: .boolean, defaultValue: .bool(false)),
        sector,
        FieldSpec(key: "interests", label: FieldLabel(es: "Intereses"), type: .multipleChoice,
                  options: [FieldOption("vino", "Vino"), FieldOption("aceite", "Aceite de oliva")]),
        FieldSpec(key: "web", label: FieldLabel(es: "Web"), type: .url),
        FieldSpec(key: "vat", label: FieldLabel(es: "CIF"), type: .taxID, aliases: ["NIF empresa"]),
        FieldSpec(key: "cp", label: FieldLabel(es: "Código postal"), type: .postalCode),
        FieldSpec(key: "pais", label: FieldLabel(es: "País"), type: .country),
        FieldSpec(key: "mobile", label: FieldLabel(es: "Móvil"), type: .phone),
        FieldSpec(key: "contract", label: FieldLabel(es: "Contrato"), type: .text, required: true),
        FieldSpec(key: "manager", label: FieldLabel(es: "Gestor"), type: .userRef),
        FieldSpec(key: "old", label: FieldLabel(es: "Viejo"), type: .text, archived: true),
    ])

    static func fieldErrors(_ body: () throws -> Any) -> [String: String] {
        do {
            _ = try body()
            return [:]
        } catch let error as CoreError {
            #expect(error.code == .invalidInput)
            return Dictionary(error.fieldErrors.map { ($0.field, $0.message) }, uniquingKeysWith: { a, _ in a })
        } catch {
            Issue.record("unexpected \(error)")
            return [:]
        }
    }

    @Test("valid values are normalised per type", arguments: [
        ("employees", FieldValue.string("120"), FieldValue.number(120)),
        ("employees", .number(7), .number(7)),
        ("revenue", .string("1.234,56"), .string("1234.56")),
        ("revenue", .number(Decimal(string: "99.5")!), .string("99.5")),
        ("ratio", .string("0,125"), .string("0.125")),
        ("founded", .string("2024-02-29"), .string("2024-02-29")),
        ("founded", .string("1/3/2020"), .string("2020-03-01")),
        ("last_call", .string("2025-03-01T10:30:00+01:00"), .string("2025-03-01T09:30:00Z")),
        ("newsletter", .string("Sí"), .bool(true)),
        ("newsletter", .string("FALSO"), .bool(false)),
        ("sector", .string("ALIMENTACION"), .string("ali")),
        ("sector", .string("alimentación"), .string("ali")),
        ("sector", .string("Ser"), .string("ser")),
        ("interests", .string("vino; ACEITE DE OLIVA"), .array([.string("vino"), .string("aceite")])),
        ("interests", .array([.string("Vino"), .string("vino")]), .array([.string("vino")])),
        ("web", .string("www.acme.es"), .string("https://www.acme.es")),
        ("vat", .string("es-a28015865"), .string("A28015865")),
        ("NIF empresa", .string("B12345674"), .string("B12345674")),
        ("cp", .string("8001"), .string("08001")),
        ("pais", .string("es"), .string("ES")),
        ("pais", .string("España"), .string("ES")),
        ("mobile", .string("6.12345678E8"), .string("+34612345678")),
        ("email", .string(" Ana@ACME.es"), .string("ana@acme.es")),
        ("manager", .string("6F1C2A3B-0000-4000-8000-000000000001"), .string("6f1c2a3b-0000-4000-8000-000000000001")),
    ])
    func validValues(key: String, raw: FieldValue, expected: FieldValue) throws {
        let result = try Self.set.validate([key: raw], stage: nil, partial: true)
        let canonical = Self.set.field(key)!.key
        #expect(result[canonical] == expected)
    }

    @Test("invalid values name the field and the rule", arguments: [
        ("employees", FieldValue.string("1,5"), "integer"),
        ("employees", .bool(true), "number"),
        ("revenue", .string("12.345"), "2 decimals"),
        ("revenue", .string("doce"), "number"),
        ("founded", .string("2023-02-29"), "yyyy-mm-dd"),
        ("last_call", .string("2025-03-01 10:30"), "ISO 8601"),
        ("newsletter", .string("quizás"), "true or false"),
        ("interests", .string("vino, cerveza"), "allowed values"),
        ("web", .string("not a url"), "web address"),
        ("vat", .string("A28015864"), "control digit 4"),
        ("cp", .string("60001"), "province"),
        ("pais", .string("Spainia"), "ISO 3166"),
        ("mobile", .string("12345"), "Spanish phone"),
        ("manager", .string("ana@acme.es"), "UUID"),
        ("nope", .string("x"), "unknown field"),
        ("old", .string("x"), "archived"),
    ])
    func invalidValues(key: String, raw: FieldValue, rule: String) {
        let errors = Self.fieldErrors { try Self.set.validate([key: raw], stage: nil, partial: true) }
        let message = errors[key]
        #expect(message?.contains(rule) == true, "\(key): \(message ?? "no error")")
        #expect(message?.contains(raw.plainText) != true || raw.plainText.isEmpty || rule == "unknown field", "the message echoes the value")
    }

    @Test("a bad choice lists the allowed values (code and label)")
    func choiceErrorListsAllowed() {
        let errors = Self.fieldErrors { try Self.set.validate(["sector": .string("Minería")], stage: nil, partial: true) }
        #expect(errors["sector"] == "not one of the allowed values: ind (Industria), ali (Alimentación), ser (Servicios)")
    }

    @Test("one error carries every bad field")
    func allErrorsAtOnce() {
        let errors = Self.fieldErrors {
            try Self.set.validate(["employees": .string("x"), "email": .string("no"), "cp": .string("1")], stage: nil, partial: true)
        }
        #expect(Set(errors.keys) == ["employees", "email", "cp"])
    }

    @Test("create: required fields and defaults; partial: only the given keys")
    func requiredAndDefaults() throws {
        let errors = Self.fieldErrors { try Self.set.validate(["first_name": .string("Ana")], stage: nil, partial: false) }
        #expect(errors["contract"] == "contract is required")
        let created = try Self.set.validate(["contract": .string("C-1")], stage: nil, partial: false)
        #expect(created["newsletter"] == .bool(false))
        // PATCH: a missing required field is not an error, clearing it is.
        #expect(try Self.set.validate(["first_name": .string("Ana")], stage: nil, partial: true).keys.sorted() == ["first_name"])
        #expect(Self.fieldErrors { try Self.set.validate(["contract": .null], stage: nil, partial: true) }["contract"] != nil)
    }

    @Test("required from a stage applies from that stage on, only when a stage is given")
    func requiredFromStage() throws {
        let base: [String: FieldValue] = ["contract": .string("C-1")]
        _ = try Self.set.validate(base, stage: nil, partial: false)
        _ = try Self.set.validate(base, stage: "target", partial: false)
        for stage in ["potential", "contact"] {
            let errors = Self.fieldErrors { try Self.set.validate(base, stage: stage, partial: false) }
            #expect(errors["sector"]?.contains("required from stage potential") == true)
        }
        _ = try Self.set.validate(base.merging(["sector": .string("Industria")]) { a, _ in a }, stage: "contact", partial: false)
        // PATCH: given empty is an error; missing is checked against the stored values when given.
        #expect(Self.fieldErrors { try Self.set.validate(["sector": .null], stage: "potential", partial: true) }["sector"] != nil)
        _ = try Self.set.validate(["first_name": .string("Ana")], stage: "potential", partial: true)
        #expect(Self.fieldErrors {
            try Self.set.validate(["first_name": .string("Ana")], stage: "potential", partial: true, existing: ["sector": .null])
        }["sector"] != nil)
        _ = try Self.set.validate(["first_name": .string("Ana")], stage: "potential", partial: true, existing: ["sector": .string("ind")])
    }

    @Test("FieldValue is JSON-coded naturally")
    func fieldValueJSON() throws {
        let value: [String: FieldValue] = ["a": .string("x"), "b": .number(Decimal(string: "12.5")!), "c": .bool(true), "d": .array([.string("y")]), "e": .null]
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let text = String(decoding: try encoder.encode(value), as: UTF8.self)
        #expect(text == #"{"a":"x","b":12.5,"c":true,"d":["y"],"e":null}"#)
        #expect(try JSONDecoder().decode([String: FieldValue].self, from: Data(text.utf8)) == value)
    }

    // MARK: - Specs on a real database

    static let fieldsYAML = """
        fields:
          records:
            - {key: sector, type: single_choice, label: {es: Sector, en: Sector}, required_from_stage: potential,
               options: [{code: ind, label: Industria}, {code: ali, label: Alimentación}, {code: ser, label: Servicios}]}
            - {key: vat, label: CIF empresa, type: tax_id, unique: true, aliases: [NIF empresa]}
            - {key: notes_old, label: Notas, type: long_text}
            - {key: email, aliases: [Correo, E-mail]}
          accounts:
            - {key: employees, label: {es: Empleados, en: Employees}, type: integer}
        """

    static func withTenant(_ fields: String = fieldsYAML, _ body: (PGConnection, UUID) throws -> Void) async throws {
        try await TestDatabase.withMigrated { database in
            let owner = try database.connectAsOwner()
            try TenantSetup.apply(try TenantSpec.parse(TenantSetupTests.acme + "\n" + fields, fileName: "acme.yaml"), on: owner)
            let tenantID = try #require(try TenantSetup.tenantID(forSlug: "acme", on: owner))
            try body(owner, tenantID)
        }
    }

    static func operatorTx<T>(_ connection: PGConnection, _ tenantID: UUID, _ body: (PGConnection) throws -> T) throws -> T {
        try connection.transaction(settings: AccessScope.operator_(tenantID: tenantID).settings, body)
    }

    /// Inserts records with the given custom values in zone N-BIO.
    static func insertRecords(_ customs: [[String: FieldValue]], on connection: PGConnection, tenantID: UUID) throws {
        try operatorTx(connection, tenantID) { tx in
            let zone = try tx.query("SELECT zone_id FROM zones WHERE tenant_id = \(tenantID) AND code = 'N-BIO'").scalar(UUID.self)
            for (index, custom) in customs.enumerated() {
                let json = try PGJSON(encoding: custom)
                try tx.execute("""
                    INSERT INTO records (tenant_id, zone_id, display_name, custom)
                    VALUES (\(tenantID), \(zone), \("Record \(index)"), \(json))
                    """)
            }
        }
    }

    static func customValues(_ key: String, on connection: PGConnection, tenantID: UUID) throws -> [String] {
        try operatorTx(connection, tenantID) { tx in
            try tx.query("""
                SELECT coalesce(custom -> \(key), 'null'::jsonb)::text FROM records WHERE tenant_id = \(tenantID) ORDER BY display_name
                """).decode(String.self)
        }
    }

    static func apply(_ yaml: String, _ connection: PGConnection, dryRun: Bool = false) throws -> FieldSpecPlan {
        try FieldSpecs.apply(try FieldSpecs.parse(yaml), slug: "acme", dryRun: dryRun, on: connection)
    }

    @Test("the tenant file configures fields; load merges them with the built-ins")
    func tenantFileConfiguresFields() async throws {
        try await Self.withTenant { owner, tenantID in
            let set = try Self.operatorTx(owner, tenantID) { try FieldSpecs.load(tenantID: tenantID, entity: .records, on: $0) }
            #expect(set.field("sector")?.requiredFromStage == .potential)
            #expect(set.field("Correo")?.key == "email")
            #expect(set.field("NIF empresa")?.key == "vat")
            #expect(set.field("vat")?.unique == true)
            #expect(set.field("first_name")?.builtin == true)
            let accounts = try Self.operatorTx(owner, tenantID) { try FieldSpecs.load(tenantID: tenantID, entity: .accounts, on: $0) }
            #expect(accounts.field("employees")?.type == .integer)
            // Applying the same fields again changes nothing.
            #expect(try Self.apply(Self.fieldsYAML, owner).isEmpty)
        }
    }

    @Test("removing a field archives it: the values stay and are still read; writing it is refused")
    func archiveKeepsValues() async throws {
        try await Self.withTenant { owner, tenantID in
            try Self.insertRecords([["notes_old": .string("llamar en mayo")], [:]], on: owner, tenantID: tenantID)
            let without = Self.fieldsYAML.replacingOccurrences(of: "    - {key: notes_old, label: Notas, type: long_text}\n", with: "")
            let dry = try Self.apply(without, owner, dryRun: true)
            #expect(dry.lines.contains("- field records.notes_old archived (values kept in 1 row)"))
            let plan = try Self.apply(without, owner)
            #expect(plan.changes == dry.changes)
            #expect(try Self.customValues("notes_old", on: owner, tenantID: tenantID) == [#""llamar en mayo""#, "null"])
            let set = try Self.operatorTx(owner, tenantID) { try FieldSpecs.load(tenantID: tenantID, entity: .records, on: $0) }
            #expect(set.field("notes_old")?.archived == true)
            #expect(Self.fieldErrors { try set.validate(["notes_old": .string("x")], stage: nil, partial: true) }["notes_old"]?.contains("archived") == true)
            // Exported (archived: true) and restored by listing it again.
            #expect(try TenantSetup.export(slug: "acme", on: owner).contains("archived: true"))
            let restored = try Self.apply(Self.fieldsYAML, owner)
            #expect(restored.lines.contains("+ field records.notes_old restored (1 row with values)"))
        }
    }

    @Test("renaming keeps the old key as an alias and moves the values")
    func renameKeepsAlias() async throws {
        try await Self.withTenant { owner, tenantID in
            try Self.insertRecords([["notes_old": .string("a")], ["notes_old": .string("b")]], on: owner, tenantID: tenantID)
            let renamed = Self.fieldsYAML.replacingOccurrences(
                of: "{key: notes_old, label: Notas, type: long_text}", with: "{key: notes, label: Notas, type: long_text, renamed_from: notes_old}")
            let plan = try Self.apply(renamed, owner)
            #expect(plan.lines.contains("~ field records.notes_old renamed to notes (2 rows moved; notes_old kept as an alias)"))
            #expect(try Self.customValues("notes", on: owner, tenantID: tenantID) == [#""a""#, #""b""#])
            #expect(try Self.customValues("notes_old", on: owner, tenantID: tenantID) == ["null", "null"])
            let set = try Self.operatorTx(owner, tenantID) { try FieldSpecs.load(tenantID: tenantID, entity: .records, on: $0) }
            #expect(set.field("notes_old")?.key == "notes")
            #expect(try set.validate(["notes_old": .string("c")], stage: nil, partial: true) == ["notes": .string("c")])
        }
    }

    @Test("changing options remaps values, or refuses with every value that has no home and its count")
    func remapOrRefuse() async throws {
        try await Self.withTenant { owner, tenantID in
            try Self.insertRecords([["sector": .string("ind")], ["sector": .string("ali")], ["sector": .string("ali")], ["sector": .string("ser")]], on: owner, tenantID: tenantID)
            let fewer = Self.fieldsYAML.replacingOccurrences(
                of: "options: [{code: ind, label: Industria}, {code: ali, label: Alimentación}, {code: ser, label: Servicios}]",
                with: "options: [{code: ind, label: Industria}, {code: agro, label: Agroalimentación}]")
            let refused = try Self.apply(fewer, owner, dryRun: true)
            #expect(refused.errors == ["records.sector: values with no option (add a remap: {old: new} or keep the option): ali (2 rows), ser (1 row)"])
            #expect(throws: CoreError.self) { try Self.apply(fewer, owner) }
            #expect(try Self.customValues("sector", on: owner, tenantID: tenantID) == [#""ind""#, #""ali""#, #""ali""#, #""ser""#])

            let remapped = fewer.replacingOccurrences(of: "required_from_stage: potential,", with: "required_from_stage: potential, remap: {ali: agro, ser: ind},")
            let plan = try Self.apply(remapped, owner)
            #expect(plan.lines.contains("~ field records.sector: value ali → agro in 2 rows"))
            #expect(plan.lines.contains("~ field records.sector: value ser → ind in 1 row"))
            #expect(try Self.customValues("sector", on: owner, tenantID: tenantID) == [#""ind""#, #""agro""#, #""agro""#, #""ind""#])
        }
    }

    @Test("a dry run shows the effect on existing rows and writes nothing")
    func dryRunWritesNothing() async throws {
        try await Self.withTenant { owner, tenantID in
            try Self.insertRecords([["notes_old": .string("a")]], on: owner, tenantID: tenantID)
            let before = try TenantSetup.export(slug: "acme", on: owner)
            let changed = Self.fieldsYAML
                .replacingOccurrences(of: "    - {key: notes_old, label: Notas, type: long_text}\n", with: "    - {key: rating, label: Valoración, type: integer}\n")
            let plan = try Self.apply(changed, owner, dryRun: true)
            #expect(plan.lines.contains("+ field records.rating (integer, Valoración)"))
            #expect(plan.lines.contains("- field records.notes_old archived (values kept in 1 row)"))
            #expect(try TenantSetup.export(slug: "acme", on: owner) == before)
        }
    }

    @Test("unique within the tenant: existing duplicates refuse the change; a duplicate write is refused")
    func uniqueWithinTenant() async throws {
        try await Self.withTenant { owner, tenantID in
            try Self.insertRecords([["vat": .string("A28015865")]], on: owner, tenantID: tenantID)
            #expect(throws: PGError.self) {
                try Self.insertRecords([["vat": .string("a28015865")]], on: owner, tenantID: tenantID)
            }
            // Not unique any more: duplicates allowed; unique again: refused with the values.
            let notUnique = Self.fieldsYAML.replacingOccurrences(of: "type: tax_id, unique: true,", with: "type: tax_id,")
            try Self.apply(notUnique, owner)
            try Self.insertRecords([["vat": .string("A28015865")]], on: owner, tenantID: tenantID)
            let refused = try Self.apply(Self.fieldsYAML, owner, dryRun: true)
            #expect(refused.errors == ["records.vat: cannot become unique, values held by more than one row: a28015865 (2 rows)"])
        }
    }

    @Test("YAML round trip: tenant export includes the fields, and applying the export changes nothing")
    func exportRoundTrip() async throws {
        try await Self.withTenant { owner, _ in
            let exported = try TenantSetup.export(slug: "acme", on: owner)
            #expect(exported.contains("fields:"))
            let spec = try TenantSpec.parse(exported, fileName: "export.yaml")
            #expect(try TenantSetup.plan(spec, on: owner).isEmpty)
            let original = try TenantSpec.parse(TenantSetupTests.acme + "\n" + Self.fieldsYAML, fileName: "acme.yaml")
            #expect(spec.fields == original.fields)
        }
    }

    @Test("an invalid fields section lists every problem with line and column")
    func invalidFile() {
        let yaml = """
            fields:
              records:
                - {key: Sector, type: single_choice, label: Sector}
                - {key: size, type: colour, label: Tamaño}
                - {key: version, type: text, label: Versión}
              activities:
                - {key: mood, type: text, label: Humor}
            """
        do {
            _ = try FieldSpecs.parse(yaml, fileName: "f.yaml")
            Issue.record("parsed")
        } catch let error as CoreError {
            #expect(error.message.contains("f.yaml:3:"), "\(error.message)")
            #expect(error.message.contains("lower-case letters"))
            #expect(error.message.contains("needs options"))
            #expect(error.message.contains("f.yaml:4:") && error.message.contains("unknown type 'colour'"))
            #expect(error.message.contains("reserved"))
            #expect(error.message.contains("activities have no custom fields"))
        } catch {
            Issue.record("\(error)")
        }
    }
}
