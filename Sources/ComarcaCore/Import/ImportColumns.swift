public import Foundation
public import Spreadsheet

/// What a column of the file feeds: a field of the entity's spec, or one of the import's own
/// targets (zone by code, owner by e-mail, account by CIF or name, …).
enum ImportTarget: Hashable, Sendable {
    case field(FieldSpec)
    case pseudo(PseudoField)

    var key: String {
        switch self {
        case .field(let spec): spec.key
        case .pseudo(let pseudo): pseudo.rawValue
        }
    }
}

/// Import-only targets: they name parents and placement rather than holding values.
enum PseudoField: String, CaseIterable, Sendable {
    case externalID = "external_id"
    case zone
    case owner
    case account
    case stage
    case disqualifiedReason = "disqualified_reason"
    /// Activities: the record they belong to (external id, e-mail or tax id).
    case record

    /// Position in `allCases`: a converted row keeps its pseudo fields in an array.
    var slot: Int {
        switch self {
        case .externalID: 0
        case .zone: 1
        case .owner: 2
        case .account: 3
        case .stage: 4
        case .disqualifiedReason: 5
        case .record: 6
        }
    }

    var labels: [String] {
        switch self {
        case .externalID: ["external_id", "external id", "id externo", "codigo externo", "referencia", "ref", "id"]
        case .zone: ["zone", "zona", "territorio", "zona comercial", "delegacion", "zone code", "codigo zona"]
        case .owner: ["owner", "propietario", "comercial", "responsable", "owner email", "email comercial", "asignado a"]
        case .account: ["account", "cuenta", "account name", "cif cuenta", "cuenta (cif o nombre)"]
        case .stage: ["stage", "etapa", "fase", "estado"]
        case .disqualifiedReason: ["disqualified_reason", "disqualified reason", "motivo descalificacion", "motivo de descalificacion"]
        case .record: ["record", "registro", "contacto", "contact", "contact email", "email contacto", "record external id"]
        }
    }

    /// The header an import template gives the column (one of `labels`, so it maps back).
    var templateLabel: String {
        switch self {
        case .externalID: "ID externo"
        case .zone: "Zona"
        case .owner: "Propietario"
        case .account: "Cuenta"
        case .stage: "Etapa"
        case .disqualifiedReason: "Motivo de descalificación"
        case .record: "Registro"
        }
    }

    static func available(for entity: ImportEntity) -> [PseudoField] {
        switch entity {
        case .records, .contacts: [.externalID, .zone, .owner, .account, .stage, .disqualifiedReason]
        case .accounts: [.zone]
        case .activities: [.owner, .record, .account]
        }
    }
}

/// One column of the file and what it feeds (nil target: not imported).
struct ImportColumn: Sendable {
    var index: Int
    var header: String
    var target: ImportTarget?
    /// The mapping said `skip`: its data is left out on purpose.
    var skipped = false
}

/// The columns of one sheet resolved against the entity's fields and the mapping, with every
/// file-level problem found before any row is read.
struct ImportColumnPlan: Sendable {
    var entity: ImportEntity
    var headerRowNumber: Int
    var columns: [ImportColumn]
    var headers: [String]
    /// Field key → the column that feeds it.
    var byKey: [String: ImportColumn]
    /// Constants (every row) and defaults (empty cells), by target key, raw text.
    var constants: [String: String]
    var defaults: [String: String]
    var targetsByKey: [String: ImportTarget]

    func column(for key: String) -> ImportColumn? { byKey[key] }

    /// Header name to show in errors for a target key.
    func label(for key: String) -> String { byKey[key]?.header ?? key }
}

/// A problem with the file as a whole; nothing is imported while one exists.
struct ImportFileProblem: Sendable, Hashable {
    var code: String
    var message: String
    var column: String?
}

enum ImportColumnResolver {
    /// Every target a header of this entity may name, with the texts that name it (keys, labels,
    /// aliases), folded.
    /// A template's header row: the entity's field labels as the tenant configured them, then the
    /// import-only columns; every one maps back to its field by name.
    static func templateHeaders(entity: ImportEntity, specs: FieldSpecSet) -> [String] {
        targets(entity: entity, specs: specs).map { target, _ in
            switch target {
            case .field(let spec): spec.label.es
            case .pseudo(let pseudo): entity == .activities && pseudo == .owner ? "Responsable" : pseudo.templateLabel
            }
        }
    }

    static func targets(entity: ImportEntity, specs: FieldSpecSet) -> [(ImportTarget, [String])] {
        var result: [(ImportTarget, [String])] = []
        for spec in specs.active {
            // Activities name their owner by e-mail (pseudo `owner`), not by user id.
            if entity == .activities, spec.key == "owner_user_id" { continue }
            // Campaigns are looked up by id only; display_name is derived.
            if spec.key == "display_name" { continue }
            var names = [spec.key, spec.label.es] + spec.aliases
            if let en = spec.label.en { names.append(en) }
            result.append((.field(spec), names.map(Normalize.folded)))
        }
        for pseudo in PseudoField.available(for: entity) {
            result.append((.pseudo(pseudo), pseudo.labels.map(Normalize.folded)))
        }
        return result
    }

    /// The target a header names, if any: exact key first, then labels and aliases.
    static func resolve(_ header: String, in targets: [(ImportTarget, [String])]) -> ImportTarget? {
        let folded = Normalize.folded(header.trimmingCharacters(in: .whitespacesAndNewlines))
        guard !folded.isEmpty else { return nil }
        if let exact = targets.first(where: { $0.0.key == folded }) { return exact.0 }
        return targets.first { $0.1.contains(folded) }?.0
    }

    /// Picks the header row among the first rows: the one naming the most targets (ties: the
    /// first). Rows above it are notes or titles.
    static func headerIndex(in rows: [SheetRow], targets: [(ImportTarget, [String])], mapping: ImportMapping) -> Int? {
        var best: (index: Int, score: Int)?
        let mapped = Set(mapping.columns.keys.map(Normalize.folded))
        for (i, row) in rows.enumerated() {
            var score = 0
            for cell in row.cells {
                let text = cell.displayText
                if mapped.contains(Normalize.folded(text)) || resolve(text, in: targets) != nil { score += 1 }
            }
            if score > 0, score > (best?.score ?? 0) { best = (i, score) }
        }
        return best?.index
    }

    /// Resolves every column. Problems: unknown headers, two columns on one field, a column for a
    /// constant, required fields nobody fills, the match key missing.
    static func plan(
        header row: SheetRow, entity: ImportEntity, specs: FieldSpecSet, mapping: ImportMapping,
        mode: ImportMode, match: ImportMatchKey?
    ) -> (ImportColumnPlan, [ImportFileProblem]) {
        let targets = targets(entity: entity, specs: specs)
        var problems: [ImportFileProblem] = []
        var columns: [ImportColumn] = []
        var byKey: [String: ImportColumn] = [:]
        var targetsByKey: [String: ImportTarget] = [:]
        let mappingByHeader = Dictionary(mapping.columns.map { (Normalize.folded($0.key), $0.value) }, uniquingKeysWith: { a, _ in a })
        var headerCounts: [String: Int] = [:]
        for cell in row.cells { headerCounts[Normalize.folded(cell.displayText), default: 0] += 1 }
        var reportedDuplicates: Set<String> = []

        for (index, cell) in row.cells.enumerated() {
            let header = cell.displayText.trimmingCharacters(in: .whitespacesAndNewlines)
            let letter = columnLetter(index)
            let folded = Normalize.folded(header)
            // A mapping may address a column by its letter (`@C`), which also settles duplicate
            // and empty headers.
            let choice = mappingByHeader[Normalize.folded("@" + letter)] ?? (folded.isEmpty ? nil : mappingByHeader[folded])
            var target: ImportTarget?
            if let choice {
                if Normalize.folded(choice) == ImportMapping.skip {
                    columns.append(ImportColumn(index: index, header: header.isEmpty ? letter : header, target: nil, skipped: true))
                    continue
                }
                guard let mapped = resolve(choice, in: targets) else {
                    problems.append(.init(
                        code: "unknown_field",
                        message: "the mapping sends column \(letter) (\(header.isEmpty ? "no header" : header)) to \(choice), which is not a field of \(entity.rawValue); fields: \(targets.map(\.0.key).joined(separator: ", "))",
                        column: header))
                    continue
                }
                target = mapped
            } else if header.isEmpty {
                // Checked against the data later: an empty header over empty cells is harmless.
                columns.append(ImportColumn(index: index, header: letter, target: nil))
                continue
            } else {
                if (headerCounts[folded] ?? 0) > 1 {
                    guard reportedDuplicates.insert(folded).inserted else { continue }
                    problems.append(.init(
                        code: "duplicate_header",
                        message: "the header \(header) appears \(headerCounts[folded]!) times; choose per column in the mapping (@\(letter): field or @\(letter): skip)",
                        column: header))
                    continue
                }
                target = resolve(header, in: targets)
                if target == nil {
                    problems.append(.init(
                        code: "unknown_column",
                        message: "column \(letter) (\(header)) matches no field of \(entity.rawValue); map it (\"\(header)\": field) or skip it (\"\(header)\": skip)",
                        column: header))
                    continue
                }
            }
            guard let target else { continue }
            let column = ImportColumn(index: index, header: header.isEmpty ? letter : header, target: target)
            if let other = byKey[target.key] {
                problems.append(.init(
                    code: "two_columns_one_field",
                    message: "columns \(other.header) and \(column.header) both feed \(target.key); skip one of them in the mapping",
                    column: column.header))
                continue
            }
            if mapping.constants[target.key] != nil {
                problems.append(.init(
                    code: "constant_and_column",
                    message: "\(target.key) has a constant in the mapping and a column (\(column.header)); keep one",
                    column: column.header))
                continue
            }
            byKey[target.key] = column
            targetsByKey[target.key] = target
            columns.append(column)
        }

        func resolveKeys(_ values: [String: String], what: String) -> [String: String] {
            var resolved: [String: String] = [:]
            for (name, value) in values {
                guard let target = resolve(name, in: targets) else {
                    problems.append(.init(code: "unknown_field", message: "the mapping's \(what) name \(name), which is not a field of \(entity.rawValue)", column: nil))
                    continue
                }
                resolved[target.key] = value
                targetsByKey[target.key] = target
            }
            return resolved
        }
        let constants = resolveKeys(mapping.constants, what: "constants")
        let defaults = resolveKeys(mapping.defaults, what: "defaults")
        let filled = Set(byKey.keys).union(constants.keys).union(defaults.keys)

        for spec in specs.active where spec.required && !filled.contains(spec.key) && spec.defaultValue == nil {
            if entity == .activities, spec.key == "owner_user_id" { continue }
            // Updates need only what they change.
            if mode == .update { continue }
            problems.append(.init(
                code: "missing_required_column",
                message: "\(spec.key) (\(spec.label.es)) is required and no column, default or constant fills it", column: nil))
        }
        switch entity {
        case .records, .contacts:
            let naming = ["first_name", "last_name", "company_name", "email", "phone"]
            if mode != .update, !naming.contains(where: filled.contains) {
                problems.append(.init(
                    code: "missing_required_column",
                    message: "a record needs a name, a company, an email or a phone: map at least one of \(naming.joined(separator: ", "))",
                    column: nil))
            }
        case .activities:
            if !filled.contains(PseudoField.record.rawValue), !filled.contains(PseudoField.account.rawValue) {
                problems.append(.init(
                    code: "missing_required_column",
                    message: "an activity belongs to a record or an account: map a record column (external id, email or tax id) or an account column (CIF or name)",
                    column: nil))
            }
        case .accounts:
            break
        }
        if mode != .create {
            if let match {
                let key = match == .name ? "name" : match.rawValue
                if !filled.contains(key) {
                    problems.append(.init(code: "missing_match_column", message: "--match \(match.rawValue) needs a \(key) column", column: nil))
                }
                let allowed: [ImportMatchKey] = switch entity {
                case .records, .contacts: [.externalID, .taxID, .email]
                case .accounts: [.taxID, .name]
                case .activities: []
                }
                if !allowed.contains(match) {
                    problems.append(.init(
                        code: "invalid_match_key",
                        message: "\(entity.rawValue) cannot be matched by \(match.rawValue); use \(allowed.isEmpty ? "--mode create" : allowed.map(\.rawValue).joined(separator: " or "))",
                        column: nil))
                }
            } else {
                problems.append(.init(code: "missing_match_key", message: "--mode \(mode.rawValue) needs --match (external_id, tax_id or email)", column: nil))
            }
        }

        let plan = ImportColumnPlan(
            entity: entity, headerRowNumber: row.number, columns: columns,
            headers: row.cells.map { $0.displayText }, byKey: byKey,
            constants: constants, defaults: defaults, targetsByKey: targetsByKey)
        return (plan, problems)
    }

    /// A, B, …, Z, AA, AB, …
    static func columnLetter(_ index: Int) -> String {
        var n = index + 1
        var letters = ""
        while n > 0 {
            let r = (n - 1) % 26
            letters = String(UnicodeScalar(UInt8(65 + r))) + letters
            n = (n - 1) / 26
        }
        return letters
    }
}
