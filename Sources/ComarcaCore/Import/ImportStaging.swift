public import Foundation
import PGClient
public import Spreadsheet

/// Field keys numbered densely, so a converted row keeps its values in an array instead of a
/// dictionary (an import converts a million rows).
struct ImportFieldSlots {
    private(set) var keys: [String] = []
    private var byKey: [String: Int] = [:]

    init(_ specs: FieldSpecSet) {
        for spec in specs.fields { add(spec.key) }
    }

    var count: Int { keys.count }

    subscript(key: String) -> Int? { byKey[key] }

    @discardableResult
    mutating func add(_ key: String) -> Int {
        if let slot = byKey[key] { return slot }
        byKey[key] = keys.count
        keys.append(key)
        return keys.count - 1
    }
}

/// One source row after conversion: normalised values by field slot, import targets by pseudo
/// field, and what was found wrong. The converter refills one of these for every row.
struct ConvertedRow {
    var number: Int
    /// The source cells; the staged `raw` is `width` of them (missing ones empty).
    var cells: [CellValue]
    var width: Int
    /// By `ImportFieldSlots` slot; nil: no value.
    var values: [FieldValue?]
    /// By `PseudoField.slot`.
    var pseudo: [String?]
    var issues: [ImportIssue] = []
    /// Problems that reject the row only if it turns out to create (e.g. a required field that an
    /// update may leave as it is).
    var createIssues: [ImportIssue] = []

    init(slots: Int) {
        number = 0
        cells = []
        width = 0
        values = Array(repeating: nil, count: slots)
        pseudo = Array(repeating: nil, count: PseudoField.allCases.count)
    }

    var bad: Bool { issues.contains { $0.severity == "error" } }

    subscript(pseudo field: PseudoField) -> String? {
        get { pseudo[field.slot] }
        set { pseudo[field.slot] = newValue }
    }

    /// The value's text, nil when there is none (or it is the empty string).
    func text(_ slot: Int?) -> String? {
        guard let slot else { return nil }
        switch values[slot] {
        case .none, .null: return nil
        case .string(let s): return s.isEmpty ? nil : s
        case .some(let value): return value.plainText
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

    /// An account named in a row: by its CIF when the text is one, else by its folded name.
    static func accountKeys(_ text: String?) -> (taxID: String?, nameKey: String?) {
        guard let text else { return (nil, nil) }
        if let taxID = try? Normalize.spanishTaxID(text) { return (taxID, nil) }
        return (nil, Normalize.folded(text))
    }

    /// `[{"code":…,"column":…,"message":…,"raw":…,"severity":…}]`: what JSONEncoder writes with
    /// sorted keys and unescaped slashes (absent column and raw left out), written by hand
    /// because rows with findings would otherwise pay ~20 µs each for an encoder.
    static func issuesJSON(_ issues: [ImportIssue]) -> String {
        guard !issues.isEmpty else { return "[]" }
        var bytes: [UInt8] = []
        appendIssuesJSON(issues, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    static func appendIssuesJSON(_ issues: [ImportIssue], to out: inout [UInt8]) {
        guard !issues.isEmpty else {
            out.append(UInt8(ascii: "["))
            out.append(UInt8(ascii: "]"))
            return
        }
        out.append(UInt8(ascii: "["))
        for (i, issue) in issues.enumerated() {
            out.append(contentsOf: i == 0 ? #"{"code":"#.utf8 : #",{"code":"#.utf8)
            appendEncoderString(issue.code, to: &out)
            if let column = issue.column {
                out.append(contentsOf: #","column":"#.utf8)
                appendEncoderString(column, to: &out)
            }
            out.append(contentsOf: #","message":"#.utf8)
            appendEncoderString(issue.message, to: &out)
            if let raw = issue.raw {
                out.append(contentsOf: #","raw":"#.utf8)
                appendEncoderString(raw, to: &out)
            }
            out.append(contentsOf: #","severity":"#.utf8)
            appendEncoderString(issue.severity, to: &out)
            out.append(UInt8(ascii: "}"))
        }
        out.append(UInt8(ascii: "]"))
    }

    /// A JSON string as JSONEncoder escapes it (`\b` and `\f` by letter too).
    static func appendEncoderString(_ text: String, to out: inout [UInt8]) {
        FieldValue.appendJSONString(text, to: &out, letterForBackspaceAndFormFeed: true)
    }
}

extension ImportStageShape {
    /// Writes converted rows as COPY lines in `fedColumns` order. Field slots and the sorted
    /// custom keys are looked up once, not per row.
    struct RowEncoder {
        let shape: ImportStageShape
        private let firstName, lastName, companyName, email, phone, taxID, source, campaignID: Int?
        private let name, sector, size, province: Int?
        private let kind, subject, body, dueAt, doneAt, outcome: Int?
        /// Custom fields in key order, with their `"key":` prefixes.
        private let custom: [(slot: Int, prefix: [UInt8])]
        /// Reused for the JSON fields.
        private var scratch: [UInt8] = []

        init(shape: ImportStageShape, slots: ImportFieldSlots, customKeys: Set<String>) {
            self.shape = shape
            firstName = slots["first_name"]
            lastName = slots["last_name"]
            companyName = slots["company_name"]
            email = slots["email"]
            phone = slots["phone"]
            taxID = slots["tax_id"]
            source = slots["source"]
            campaignID = slots["campaign_id"]
            name = slots["name"]
            sector = slots["sector"]
            size = slots["size"]
            province = slots["province"]
            kind = slots["kind"]
            subject = slots["subject"]
            body = slots["body"]
            dueAt = slots["due_at"]
            doneAt = slots["done_at"]
            outcome = slots["outcome"]
            // The same order as FieldValue.jsonObject: keys sorted.
            custom = customKeys.sorted().compactMap { key in
                guard let slot = slots[key] else { return nil }
                var prefix: [UInt8] = []
                FieldValue.appendJSONString(key, to: &prefix)
                prefix.append(UInt8(ascii: ":"))
                return (slot, prefix)
            }
            scratch.reserveCapacity(1024)
        }

        /// One row; `zone` is the assigned zone's id (lower-case text) and rule.
        mutating func encode(_ row: ConvertedRow, zone: (id: String, rule: String)?, into out: inout PGCopyEncoder) {
            out.append(row.number)
            out.beginArray()
            for i in 0..<row.width {
                if i < row.cells.count, case .text(let text) = row.cells[i] {
                    out.appendArrayElement(text)
                } else {
                    out.appendArrayElement(i < row.cells.count ? row.cells[i].displayText : "")
                }
            }
            out.endArray()
            appendJSON(issues: row.issues, into: &out)
            out.append(row.bad)
            appendJSON(issues: row.createIssues, into: &out)
            switch shape.entity {
            case .records, .contacts:
                let first = row.text(firstName), last = row.text(lastName), company = row.text(companyName)
                let mail = row.text(email), phoneText = row.text(phone)
                out.append(first)
                out.append(last)
                out.append(company)
                out.append(RecordService.displayName(firstName: first, lastName: last, companyName: company, email: mail, phone: phoneText))
                out.append(mail)
                out.append(phoneText)
                out.append(row.text(taxID))
                out.append(row.text(source))
                out.append(row.text(campaignID))
                out.append(row[pseudo: .externalID])
                out.append(row[pseudo: .stage])
                out.append(row[pseudo: .disqualifiedReason])
                appendCustom(row, into: &out)
                out.append(row[pseudo: .zone])
                out.append(zone?.id)
                out.append(zone?.rule)
                out.append(row[pseudo: .owner])
                appendAccount(row[pseudo: .account], into: &out)
            case .accounts:
                let nameText = row.text(name)
                out.append(nameText)
                out.append(nameText.map(Normalize.folded))
                out.append(row.text(taxID))
                out.append(row.text(sector))
                out.append(row.text(size))
                out.append(row.text(province))
                appendCustom(row, into: &out)
                out.append(row[pseudo: .zone])
                out.append(zone?.id)
                out.append(zone?.rule)
            case .activities:
                out.append(row.text(kind))
                out.append(row.text(subject))
                out.append(row.text(body))
                out.append(row.text(dueAt))
                out.append(row.text(doneAt))
                out.append(row.text(outcome))
                out.append(row[pseudo: .owner])
                out.append(row[pseudo: .record])
                appendAccount(row[pseudo: .account], into: &out)
                out.appendNull()
                out.appendNull()
            }
            out.endRow()
        }

        private mutating func appendJSON(issues: [ImportIssue], into out: inout PGCopyEncoder) {
            guard !issues.isEmpty else { return out.append("[]") }
            scratch.removeAll(keepingCapacity: true)
            ImportStageShape.appendIssuesJSON(issues, to: &scratch)
            scratch.withUnsafeBufferPointer { out.append(utf8: $0) }
        }

        /// `{"key":value,…}` of the custom fields with a value, sorted by key; NULL when none has one.
        private mutating func appendCustom(_ row: ConvertedRow, into out: inout PGCopyEncoder) {
            scratch.removeAll(keepingCapacity: true)
            for (slot, prefix) in custom {
                guard let value = row.values[slot], !value.isEmpty else { continue }
                scratch.append(scratch.isEmpty ? UInt8(ascii: "{") : UInt8(ascii: ","))
                scratch.append(contentsOf: prefix)
                value.appendJSON(to: &scratch)
            }
            guard !scratch.isEmpty else { return out.appendNull() }
            scratch.append(UInt8(ascii: "}"))
            scratch.withUnsafeBufferPointer { out.append(utf8: $0) }
        }

        private func appendAccount(_ account: String?, into out: inout PGCopyEncoder) {
            let (accountTaxID, accountNameKey) = ImportStageShape.accountKeys(account)
            out.append(accountTaxID)
            out.append(accountNameKey)
            out.append(account)
        }
    }
}

/// Converts source rows of one sheet into `ConvertedRow`s with the column plan, the locale and
/// the tenant's field specs. Pure: no database.
struct ImportRowConverter {
    let plan: ImportColumnPlan
    let specs: FieldSpecSet
    let reader: ImportValueReader
    let mode: ImportMode
    let slots: ImportFieldSlots
    /// Constants converted once.
    private var constantValues: [FieldValue?]
    private var constantPseudo: [String?]
    private(set) var planIssues: [ImportIssue] = []
    /// The columns that feed a target, in the plan's order.
    private var steps: [Step] = []
    /// Mapping defaults of targets without a column, in the mapping's order; field values
    /// converted once (the same text gives the same value on every row).
    private var defaults: [Default] = []
    /// Active specs with what the entity rules need of them, in order.
    private var ruleSpecs: [RuleSpec] = []
    private let naming: [Int]
    private let campaignSlot, emailSlot, phoneSlot: Int?

    /// One column that feeds a target, everything its cells need looked up once.
    private final class Step {
        let index: Int
        /// The mapping's default for the column's empty cells.
        let fallback: CellValue?
        let slot: Int
        let pseudo: PseudoField?
        let conversion: ImportValueReader.Conversion?
        /// The column's header, for messages.
        let header: String

        init(index: Int, header: String, fallback: String?, slot: Int, pseudo: PseudoField?, conversion: ImportValueReader.Conversion?) {
            self.index = index
            self.header = header
            self.fallback = fallback.map(CellValue.text)
            self.slot = slot
            self.pseudo = pseudo
            self.conversion = conversion
        }
    }

    private enum Default {
        case field(slot: Int, value: FieldValue?, issue: ImportIssue?)
        /// `slot`: a field with the same key, whose value keeps the default out.
        case pseudo(PseudoField, slot: Int?, text: String)
    }

    private struct RuleSpec {
        let slot: Int
        let key: String
        let defaultValue: FieldValue?
        let required: Bool
        let requiredFromStage: FieldStage?
    }

    init(plan: ImportColumnPlan, specs: FieldSpecSet, reader: ImportValueReader, mode: ImportMode) {
        self.plan = plan
        self.specs = specs
        self.reader = reader
        self.mode = mode
        var slots = ImportFieldSlots(specs)
        for case .field(let spec) in plan.targetsByKey.values { slots.add(spec.key) }
        for column in plan.columns { if case .field(let spec) = column.target { slots.add(spec.key) } }
        self.slots = slots
        constantValues = Array(repeating: nil, count: slots.count)
        constantPseudo = Array(repeating: nil, count: PseudoField.allCases.count)
        for (key, text) in plan.constants {
            switch plan.targetsByKey[key] {
            case .field(let spec):
                let column = ImportColumn(index: -1, header: key, target: .field(spec))
                let (value, issue) = reader.value(.text(text), spec: spec, column: column)
                if let value, let slot = slots[key] { constantValues[slot] = value }
                if let issue { planIssues.append(issue) }
            case .pseudo(let pseudo):
                constantPseudo[pseudo.slot] = text
            case nil:
                break
            }
        }
        for column in plan.columns {
            guard let target = column.target else { continue }
            let fallback = plan.defaults[target.key]
            switch target {
            case .field(let spec):
                steps.append(Step(
                    index: column.index, header: column.header, fallback: fallback, slot: slots[spec.key]!, pseudo: nil,
                    conversion: reader.conversion(spec: spec, column: column)))
            case .pseudo(let pseudo):
                steps.append(Step(index: column.index, header: column.header, fallback: fallback, slot: -1, pseudo: pseudo, conversion: nil))
            }
        }
        for (key, text) in plan.defaults where plan.byKey[key] == nil {
            switch plan.targetsByKey[key] {
            case .field(let spec):
                let (value, issue) = reader.value(.text(text), spec: spec, column: ImportColumn(index: -1, header: key, target: .field(spec)))
                defaults.append(.field(slot: slots[key]!, value: value, issue: issue))
            case .pseudo(let pseudo):
                defaults.append(.pseudo(pseudo, slot: slots[key], text: text))
            case nil:
                break
            }
        }
        for spec in specs.active {
            ruleSpecs.append(RuleSpec(
                slot: slots[spec.key]!, key: spec.key, defaultValue: spec.defaultValue, required: spec.required,
                requiredFromStage: spec.requiredFromStage))
        }
        naming = ["first_name", "last_name", "company_name", "email", "phone"].compactMap { slots[$0] }
        campaignSlot = slots["campaign_id"]
        emailSlot = slots["email"]
        phoneSlot = slots["phone"]
    }

    /// A row to pass to `convert(_:into:)` again and again.
    func makeRow() -> ConvertedRow { ConvertedRow(slots: slots.count) }

    func convert(_ row: SheetRow) -> ConvertedRow {
        var converted = makeRow()
        convert(row, into: &converted)
        return converted
    }

    /// Converts `row` into `converted`, replacing what it held.
    func convert(_ row: SheetRow, into converted: inout ConvertedRow) {
        converted.number = row.number
        converted.cells = row.cells
        converted.width = max(plan.headers.count, row.cells.count)
        for i in constantValues.indices { converted.values[i] = constantValues[i] }
        for i in constantPseudo.indices { converted.pseudo[i] = constantPseudo[i] }
        converted.issues.removeAll(keepingCapacity: true)
        converted.createIssues.removeAll(keepingCapacity: true)
        for step in steps {
            var cell = row.cell(at: step.index)
            if let fallback = step.fallback, cell.isEmpty { cell = fallback }
            if let conversion = step.conversion {
                guard !cell.isEmpty else { continue }
                let (value, issue) = reader.value(cell, conversion)
                if let value { converted.values[step.slot] = value }
                if let issue { converted.issues.append(issue) }
            } else if let pseudo = step.pseudo {
                let text = Normalize.trimmed(cell.displayText)
                guard !text.isEmpty else { continue }
                if pseudo == .externalID || pseudo == .record,
                    let issue = ImportValueReader.shortenedNumberIssue(cell, column: step.header)
                {
                    converted.issues.append(issue)
                    continue
                }
                converted[pseudo: pseudo] = pseudo == .owner ? Normalize.emailKey(text) : text
            }
        }
        // Defaults for fields without a column.
        for entry in defaults {
            switch entry {
            case .field(let slot, let value, let issue):
                guard converted.values[slot] == nil else { continue }
                if let value { converted.values[slot] = value }
                if let issue { converted.issues.append(issue) }
            case .pseudo(let pseudo, let slot, let text):
                if let slot, converted.values[slot] != nil { continue }
                if converted[pseudo: pseudo] == nil { converted[pseudo: pseudo] = text }
            }
        }
        checkEntityRules(&converted)
    }

    private func checkEntityRules(_ row: inout ConvertedRow) {
        let entity = plan.entity
        // Spec defaults and required fields apply to rows that create.
        var stageForRules: FieldStage?
        switch entity {
        case .records, .contacts:
            if let stageText = row[pseudo: .stage] {
                if let stage = Stage.fromSpreadsheet(stageText) {
                    row[pseudo: .stage] = stage.rawValue
                    stageForRules = FieldStage(rawValue: stage.rawValue)
                    if stage == .disqualified, row[pseudo: .disqualifiedReason] == nil {
                        row.issues.append(.error("required", "a disqualified record needs a reason (disqualified_reason column)", column: plan.label(for: "disqualified_reason")))
                    }
                } else {
                    row.issues.append(.error("invalid_value", "unknown stage; allowed: target (objetivo), potential (potencial), contact (contacto), disqualified (descalificado)", column: plan.label(for: "stage"), raw: stageText))
                }
            } else if entity == .contacts {
                row[pseudo: .stage] = Stage.contact.rawValue
                stageForRules = .contact
            }
            if let campaignSlot, let campaign = row.text(campaignSlot), UUID(uuidString: campaign) == nil {
                row.issues.append(.error("invalid_value", "a campaign is named by its id (a UUID)", column: plan.label(for: "campaign_id"), raw: campaign))
                // Not staged: the staging column is a uuid (the row is rejected; its cell stays in raw).
                row.values[campaignSlot] = nil
            }
            if !naming.contains(where: { row.text($0) != nil }) {
                row.createIssues.append(.error("required", "a record needs a name, a company, an email or a phone"))
            }
            let stage = row[pseudo: .stage].flatMap(Stage.init(rawValue:)) ?? .target
            if stage != .target {
                for missing in Lifecycle.missingFields(for: stage, .init(hasEmail: row.text(emailSlot) != nil, hasPhone: row.text(phoneSlot) != nil, hasAccount: row[pseudo: .account] != nil)) {
                    let field = missing.field == "accountId" ? "account" : missing.field
                    row.createIssues.append(.error("required", missing.message, column: plan.label(for: field)))
                }
            }
        case .activities:
            if row[pseudo: .record] == nil, row[pseudo: .account] == nil {
                row.issues.append(.error("required", "an activity belongs to a record or an account: the row names neither"))
            }
        case .accounts:
            break
        }
        for spec in ruleSpecs {
            if let value = row.values[spec.slot], !value.isEmpty { continue }
            if let fallback = spec.defaultValue, !fallback.isEmpty {
                row.values[spec.slot] = fallback
                continue
            }
            if entity == .activities, spec.key == "owner_user_id" { continue }
            if spec.required {
                row.createIssues.append(.error("required", "\(spec.key) is required", column: plan.label(for: spec.key)))
            } else if let from = spec.requiredFromStage, let stageForRules, stageForRules >= from {
                row.createIssues.append(.error("required", "\(spec.key) is required from stage \(from.rawValue) on", column: plan.label(for: spec.key)))
            }
        }
        if mode == .create, !row.createIssues.isEmpty {
            row.issues += row.createIssues
            row.createIssues.removeAll(keepingCapacity: true)
        }
    }
}
