public import Foundation
import PGClient
public import Spreadsheet

/// One source row after conversion: normalised values by field key, import targets by name,
/// and what was found wrong.
struct ConvertedRow {
    var number: Int
    var raw: [String]
    var values: [String: FieldValue] = [:]
    var pseudo: [PseudoField: String] = [:]
    var issues: [ImportIssue] = []
    /// Problems that reject the row only if it turns out to create (e.g. a required field that an
    /// update may leave as it is).
    var createIssues: [ImportIssue] = []

    var bad: Bool { issues.contains { $0.severity == "error" } }

    func text(_ key: String) -> String? {
        switch values[key] {
        case .none, .null: nil
        case .string(let s): s.isEmpty ? nil : s
        case .some(let value): value.plainText
        }
    }
}

/// The per-entity shape of the temporary staging table and how a converted row fills it.
struct ImportStageShape {
    let entity: ImportEntity
    let table: String
    /// Columns fed by COPY, in order, with their types.
    let fedColumns: [(String, String)]

    static let common: [(String, String)] = [
        ("row_no", "integer PRIMARY KEY"), ("raw", "text[]"), ("issues", "jsonb NOT NULL"), ("bad", "boolean NOT NULL"),
        ("create_issues", "jsonb NOT NULL"),
    ]

    /// Columns the set-based checks fill in.
    static let decided: [(String, String)] = [
        ("owner_id", "uuid"), ("owner_explicit", "boolean NOT NULL DEFAULT false"), ("account_id", "uuid"),
        ("record_id", "uuid"), ("target_id", "uuid"), ("action", "text"), ("existing_stage", "text"),
        ("done", "boolean NOT NULL DEFAULT false"),
    ]

    static func forEntity(_ entity: ImportEntity) -> ImportStageShape {
        switch entity {
        case .records, .contacts:
            ImportStageShape(entity: entity, table: "import_stage_records", fedColumns: common + [
                ("first_name", "text"), ("last_name", "text"), ("company_name", "text"), ("display_name", "text"),
                ("email", "text"), ("phone", "text"), ("tax_id", "text"), ("source", "text"), ("campaign_id", "uuid"),
                ("external_id", "text"), ("stage", "text"), ("disqualified_reason", "text"), ("custom", "jsonb"),
                ("zone_code", "text"), ("zone_id", "uuid"), ("zone_rule", "text"), ("owner_email", "text"),
                ("account_tax_id", "text"), ("account_name_key", "text"), ("account_name", "text"),
            ])
        case .accounts:
            ImportStageShape(entity: entity, table: "import_stage_accounts", fedColumns: common + [
                ("name", "text"), ("name_key", "text"), ("tax_id", "text"), ("sector", "text"), ("size", "text"),
                ("province", "text"), ("custom", "jsonb"), ("zone_code", "text"), ("zone_id", "uuid"), ("zone_rule", "text"),
            ])
        case .activities:
            ImportStageShape(entity: entity, table: "import_stage_activities", fedColumns: common + [
                ("kind", "text"), ("subject", "text"), ("body", "text"), ("due_at", "timestamptz"), ("done_at", "timestamptz"),
                ("outcome", "text"), ("owner_email", "text"), ("record_key", "text"), ("account_tax_id", "text"),
                ("account_name_key", "text"), ("account_name", "text"), ("zone_id", "uuid"), ("zone_rule", "text"),
            ])
        }
    }

    var createSQL: String {
        let columns = (fedColumns + Self.decided).map { "\($0.0) \($0.1)" }.joined(separator: ", ")
        return "DROP TABLE IF EXISTS pg_temp.\(table); CREATE TEMP TABLE \(table) (\(columns))"
    }

    var copySQL: String {
        "COPY pg_temp.\(table) (\(fedColumns.map(\.0).joined(separator: ", "))) FROM STDIN"
    }

    /// The COPY fields of a converted row, in `fedColumns` order.
    func fields(_ row: ConvertedRow, customKeys: Set<String>, zone: (UUID, String)?) -> [String?] {
        var out: [String?] = [
            String(row.number), row.raw.pgText, Self.issuesJSON(row.issues), row.bad ? "t" : "f",
            Self.issuesJSON(row.createIssues),
        ]
        let custom = row.values.filter { customKeys.contains($0.key) && !$0.value.isEmpty }
        let customJSON = custom.isEmpty ? nil : RecordSupport.customJSON(custom)
        func p(_ field: PseudoField) -> String? { row.pseudo[field] }
        switch entity {
        case .records, .contacts:
            let accountKey = p(.account)
            let (accountTaxID, accountNameKey) = Self.accountKeys(accountKey)
            out += [
                row.text("first_name"), row.text("last_name"), row.text("company_name"),
                RecordService.displayName(
                    firstName: row.text("first_name"), lastName: row.text("last_name"), companyName: row.text("company_name"),
                    email: row.text("email"), phone: row.text("phone")),
                row.text("email"), row.text("phone"), row.text("tax_id"), row.text("source"), row.text("campaign_id"),
                p(.externalID), p(.stage), p(.disqualifiedReason), customJSON,
                p(.zone), zone.map { $0.0.uuidString.lowercased() }, zone?.1, p(.owner),
                accountTaxID, accountNameKey, accountKey,
            ]
        case .accounts:
            let name = row.text("name")
            out += [
                name, name.map(Normalize.folded), row.text("tax_id"), row.text("sector"), row.text("size"), row.text("province"),
                customJSON, p(.zone), zone.map { $0.0.uuidString.lowercased() }, zone?.1,
            ]
        case .activities:
            let accountKey = p(.account)
            let (accountTaxID, accountNameKey) = Self.accountKeys(accountKey)
            out += [
                row.text("kind"), row.text("subject"), row.text("body"), row.text("due_at"), row.text("done_at"),
                row.text("outcome"), p(.owner), p(.record), accountTaxID, accountNameKey, accountKey, nil, nil,
            ]
        }
        return out
    }

    /// An account named in a row: by its CIF when the text is one, else by its folded name.
    static func accountKeys(_ text: String?) -> (taxID: String?, nameKey: String?) {
        guard let text else { return (nil, nil) }
        if let taxID = try? Normalize.spanishTaxID(text) { return (taxID, nil) }
        return (nil, Normalize.folded(text))
    }

    static func issuesJSON(_ issues: [ImportIssue]) -> String {
        guard !issues.isEmpty else { return "[]" }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(issues)) ?? Data("[]".utf8), as: UTF8.self)
    }
}

/// Converts source rows of one sheet into `ConvertedRow`s with the column plan, the locale and
/// the tenant's field specs. Pure: no database.
struct ImportRowConverter {
    let plan: ImportColumnPlan
    let specs: FieldSpecSet
    let reader: ImportValueReader
    let mode: ImportMode
    /// Constants converted once.
    private var constantValues: [String: FieldValue] = [:]
    private var constantPseudo: [PseudoField: String] = [:]
    private(set) var planIssues: [ImportIssue] = []

    init(plan: ImportColumnPlan, specs: FieldSpecSet, reader: ImportValueReader, mode: ImportMode) {
        self.plan = plan
        self.specs = specs
        self.reader = reader
        self.mode = mode
        for (key, text) in plan.constants {
            switch plan.targetsByKey[key] {
            case .field(let spec):
                let column = ImportColumn(index: -1, header: key, target: .field(spec))
                let (value, issue) = reader.value(.text(text), spec: spec, column: column)
                if let value { constantValues[key] = value }
                if let issue { planIssues.append(issue) }
            case .pseudo(let pseudo):
                constantPseudo[pseudo] = text
            case nil:
                break
            }
        }
    }

    func convert(_ row: SheetRow) -> ConvertedRow {
        let width = max(plan.headers.count, row.cells.count)
        var converted = ConvertedRow(number: row.number, raw: (0..<width).map { row.cell(at: $0).displayText })
        converted.values = constantValues
        converted.pseudo = constantPseudo
        for column in plan.columns {
            guard let target = column.target else { continue }
            var cell = row.cell(at: column.index)
            if cell.isEmpty, let fallback = plan.defaults[target.key] { cell = .text(fallback) }
            switch target {
            case .field(let spec):
                guard !cell.isEmpty else { continue }
                let (value, issue) = reader.value(cell, spec: spec, column: column)
                if let value { converted.values[spec.key] = value }
                if let issue { converted.issues.append(issue) }
            case .pseudo(let pseudo):
                let text = Normalize.trimmed(cell.displayText)
                guard !text.isEmpty else { continue }
                converted.pseudo[pseudo] = pseudo == .owner ? Normalize.emailKey(text) : text
            }
        }
        // Defaults for fields without a column.
        for (key, text) in plan.defaults where plan.byKey[key] == nil && converted.values[key] == nil {
            if case .field(let spec) = plan.targetsByKey[key] {
                let (value, issue) = reader.value(.text(text), spec: spec, column: ImportColumn(index: -1, header: key, target: .field(spec)))
                if let value { converted.values[key] = value }
                if let issue { converted.issues.append(issue) }
            } else if case .pseudo(let pseudo) = plan.targetsByKey[key], converted.pseudo[pseudo] == nil {
                converted.pseudo[pseudo] = text
            }
        }
        checkEntityRules(&converted)
        return converted
    }

    private func checkEntityRules(_ row: inout ConvertedRow) {
        let entity = plan.entity
        // Spec defaults and required fields apply to rows that create.
        var stageForRules: FieldStage?
        switch entity {
        case .records, .contacts:
            if let stageText = row.pseudo[.stage] {
                if let stage = Stage.fromSpreadsheet(stageText) {
                    row.pseudo[.stage] = stage.rawValue
                    stageForRules = FieldStage(rawValue: stage.rawValue)
                    if stage == .disqualified, row.pseudo[.disqualifiedReason] == nil {
                        row.issues.append(.error("required", "a disqualified record needs a reason (disqualified_reason column)", column: plan.label(for: "disqualified_reason")))
                    }
                } else {
                    row.issues.append(.error("invalid_value", "unknown stage; allowed: target (objetivo), potential (potencial), contact (contacto), disqualified (descalificado)", column: plan.label(for: "stage"), raw: stageText))
                }
            } else if entity == .contacts {
                row.pseudo[.stage] = Stage.contact.rawValue
                stageForRules = .contact
            }
            if let campaign = row.text("campaign_id"), UUID(uuidString: campaign) == nil {
                row.issues.append(.error("invalid_value", "a campaign is named by its id (a UUID)", column: plan.label(for: "campaign_id"), raw: campaign))
            }
            let naming = ["first_name", "last_name", "company_name", "email", "phone"]
            if !naming.contains(where: { row.text($0) != nil }) {
                row.createIssues.append(.error("required", "a record needs a name, a company, an email or a phone"))
            }
            let stage = row.pseudo[.stage].flatMap(Stage.init(rawValue:)) ?? .target
            for missing in Lifecycle.missingFields(for: stage, .init(hasEmail: row.text("email") != nil, hasPhone: row.text("phone") != nil, hasAccount: row.pseudo[.account] != nil)) {
                let field = missing.field == "accountId" ? "account" : missing.field
                row.createIssues.append(.error("required", missing.message, column: plan.label(for: field)))
            }
        case .activities:
            if row.pseudo[.record] == nil, row.pseudo[.account] == nil {
                row.issues.append(.error("required", "an activity belongs to a record or an account: the row names neither"))
            }
        case .accounts:
            break
        }
        for spec in specs.active {
            let value = row.values[spec.key]
            guard value == nil || value!.isEmpty else { continue }
            if let fallback = spec.defaultValue, !fallback.isEmpty {
                row.values[spec.key] = fallback
                continue
            }
            if entity == .activities, spec.key == "owner_user_id" { continue }
            if spec.required {
                row.createIssues.append(.error("required", "\(spec.key) is required", column: plan.label(for: spec.key)))
            } else if let from = spec.requiredFromStage, let stageForRules, stageForRules >= from {
                row.createIssues.append(.error("required", "\(spec.key) is required from stage \(from.rawValue) on", column: plan.label(for: spec.key)))
            }
        }
        if mode == .create {
            row.issues += row.createIssues
            row.createIssues = []
        }
    }
}
