public import Foundation
import Yams

/// Reads the `fields` section of a tenant file (or a fields file) from Yams' node tree, reporting
/// every problem with its line and column, like `TenantSpecParser`.
///
/// ```yaml
/// fields:
///   records:
///     - {key: sector, type: single_choice, label: {es: Sector, en: Sector}, required_from_stage: potential,
///        options: [{code: ind, label: Industria}, {code: ser, label: Servicios}]}
///     - {key: vat_number, label: NIF empresa, type: tax_id, unique: true, aliases: [CIF, NIF]}
///     - {key: email, aliases: [Correo, E-mail]}          # a built-in field: only its settings
///   accounts:
///     - {key: employees, label: {es: Empleados, en: Employees}, type: integer}
/// ```
/// A field may also carry `renamed_from: old_key` and `remap: {old_code: new_code}`.
struct FieldSpecParser {
    private(set) var problems: [TenantSpecProblem] = []

    static let entryKeys = [
        "key", "label", "type", "required", "required_from_stage", "unique", "default", "help", "aliases", "options",
        "currency", "archived", "renamed_from", "remap",
    ]

    private mutating func report(_ node: Node?, _ path: String, _ message: String) {
        let mark = node?.mark
        problems.append(TenantSpecProblem(line: mark?.line ?? 1, column: mark?.column ?? 1, path: path, message: message))
    }

    private static func isNull(_ node: Node) -> Bool {
        guard case .scalar(let scalar) = node, scalar.style == .plain || scalar.style == .any else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    private mutating func mapping(_ node: Node, _ path: String, allowed: [String]?, what: String) -> [(key: String, keyNode: Node, value: Node)]? {
        guard case .mapping(let mapping) = node else {
            report(node, path, "expected \(what) (a mapping)")
            return nil
        }
        var result: [(key: String, keyNode: Node, value: Node)] = []
        var seen = Set<String>()
        for (key, value) in mapping {
            guard case .scalar(let scalar) = key else {
                report(key, path, "keys must be plain names")
                continue
            }
            let name = scalar.string
            let fieldPath = path.isEmpty ? name : "\(path).\(name)"
            if let allowed, !allowed.contains(name) {
                report(key, fieldPath, "unknown key '\(name)' (expected one of: \(allowed.joined(separator: ", ")))")
            } else if !seen.insert(name).inserted {
                report(key, fieldPath, "key '\(name)' appears twice")
            } else {
                result.append((name, key, value))
            }
        }
        return result
    }

    private mutating func text(_ node: Node, _ path: String) -> String? {
        guard case .scalar(let scalar) = node, !Self.isNull(node) else {
            report(node, path, "expected text")
            return nil
        }
        guard !scalar.string.trimmingCharacters(in: .whitespaces).isEmpty else {
            report(node, path, "must not be blank")
            return nil
        }
        return scalar.string
    }

    private mutating func bool(_ node: Node, _ path: String) -> Bool? {
        if case .scalar = node, let value = node.bool { return value }
        report(node, path, "expected true or false")
        return nil
    }

    private mutating func label(_ node: Node, _ path: String) -> FieldLabel? {
        if case .scalar = node { return text(node, path).map { FieldLabel(es: $0) } }
        guard let entries = mapping(node, path, allowed: ["es", "en"], what: "a label {es, en}") else { return nil }
        var es: String?
        var en: String?
        for entry in entries {
            let value = text(entry.value, "\(path).\(entry.key)")
            if entry.key == "es" { es = value } else { en = value }
        }
        guard let es else {
            if !entries.contains(where: { $0.key == "es" }) { report(node, "\(path).es", "missing field 'es'") }
            return nil
        }
        return FieldLabel(es: es, en: en)
    }

    private mutating func textList(_ node: Node, _ path: String) -> [String]? {
        if Self.isNull(node) { return [] }
        guard case .sequence(let sequence) = node else {
            report(node, path, "expected a list")
            return nil
        }
        return sequence.enumerated().compactMap { text($0.element, "\(path)[\($0.offset)]") }
    }

    static func value(_ node: Node) -> FieldValue? {
        switch node {
        case .scalar(let scalar):
            if isNull(node) { return .null }
            if scalar.style == .plain || scalar.style == .any {
                if let b = node.bool { return .bool(b) }
                if node.int != nil || node.float != nil, let d = Decimal(string: scalar.string, locale: Locale(identifier: "en_US_POSIX")) {
                    return .number(d)
                }
            }
            return .string(scalar.string)
        case .sequence(let sequence):
            let values = sequence.map { value($0) }
            return values.contains(where: { $0 == nil }) ? nil : .array(values.map { $0! })
        default:
            return nil
        }
    }

    // MARK: - Section

    mutating func section(_ node: Node, _ path: String) -> FieldsConfig? {
        guard let entities = mapping(node, path, allowed: FieldEntity.allCases.map(\.rawValue), what: "fields per entity") else { return nil }
        var config: FieldsConfig = [:]
        for entry in entities {
            let entity = FieldEntity(rawValue: entry.key)!
            let entityPath = "\(path).\(entry.key)"
            if Self.isNull(entry.value) {
                config[entity] = []
                continue
            }
            guard case .sequence(let sequence) = entry.value else {
                report(entry.value, entityPath, "expected a list of fields")
                continue
            }
            var fields: [FieldSpecEntry] = []
            var keys: [String: Node] = [:]
            for (index, fieldNode) in sequence.enumerated() {
                let fieldPath = "\(entityPath)[\(index)]"
                guard let field = field(fieldNode, fieldPath, entity: entity) else { continue }
                if keys[field.spec.key] != nil {
                    report(fieldNode, "\(fieldPath).key", "field \(field.spec.key) appears twice in \(entity.rawValue)")
                    continue
                }
                keys[field.spec.key] = fieldNode
                for problem in FieldSpecs.problems(field, entity: entity) { report(fieldNode, fieldPath, problem) }
                fields.append(field)
            }
            for problem in FieldSpecs.problems(entity: entity, entries: fields) { report(entry.value, entityPath, problem) }
            config[entity] = fields
        }
        return config
    }

    private mutating func field(_ node: Node, _ path: String, entity: FieldEntity) -> FieldSpecEntry? {
        guard let entries = mapping(node, path, allowed: Self.entryKeys, what: "a field") else { return nil }
        let byKey = Dictionary(entries.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
        guard let keyNode = byKey["key"] else {
            report(node, "\(path).key", "missing field 'key'")
            return nil
        }
        guard let key = text(keyNode, "\(path).key") else { return nil }
        let builtin = BuiltinFields.spec(entity, key)
        var ok = true

        var type = builtin?.type
        if let node = byKey["type"], let name = text(node, "\(path).type") {
            if let parsed = FieldType(rawValue: name) {
                type = parsed
            } else {
                report(node, "\(path).type", "unknown type '\(name)' (expected one of: \(FieldType.allCases.map(\.rawValue).joined(separator: ", ")))")
                ok = false
            }
        } else if byKey["type"] == nil, builtin == nil {
            report(node, "\(path).type", "missing field 'type'")
            ok = false
        }
        var label = builtin?.label
        if let node = byKey["label"] {
            label = self.label(node, "\(path).label")
            if label == nil { ok = false }
        } else if builtin == nil {
            report(node, "\(path).label", "missing field 'label'")
            ok = false
        }
        guard ok, let type, let label else { return nil }

        var spec = builtin ?? FieldSpec(key: key, label: label, type: type)
        spec.label = label
        spec.type = type
        spec.currency = type == .money ? (spec.currency ?? "EUR") : nil
        if type.isChoice, builtin?.type != type { spec.options = builtin?.type == type ? spec.options : [] }
        if !type.isChoice { spec.options = [] }
        var renamedFrom: String?
        var remap: [String: String] = [:]

        for entry in entries {
            let p = "\(path).\(entry.key)"
            switch entry.key {
            case "required": if let v = bool(entry.value, p) { spec.required = v }
            case "unique": if let v = bool(entry.value, p) { spec.unique = v }
            case "archived": if let v = bool(entry.value, p) { spec.archived = v }
            case "required_from_stage":
                if Self.isNull(entry.value) {
                    spec.requiredFromStage = nil
                } else if let name = text(entry.value, p) {
                    if let stage = FieldStage(rawValue: name) {
                        spec.requiredFromStage = stage
                    } else {
                        report(entry.value, p, "unknown stage '\(name)' (expected one of: \(FieldStage.allCases.map(\.rawValue).joined(separator: ", ")))")
                    }
                }
            case "default":
                if let value = Self.value(entry.value) {
                    spec.defaultValue = value == .null ? nil : value
                } else {
                    report(entry.value, p, "expected a value (text, number, true/false or a list)")
                }
            case "help": spec.help = Self.isNull(entry.value) ? nil : text(entry.value, p)
            case "aliases": if let v = textList(entry.value, p) { spec.aliases = v }
            case "currency": if let v = text(entry.value, p) { spec.currency = v }
            case "renamed_from": renamedFrom = text(entry.value, p)
            case "remap":
                if let pairs = mapping(entry.value, p, allowed: nil, what: "a remap {old: new}") {
                    for pair in pairs { if let to = text(pair.value, "\(p).\(pair.key)") { remap[pair.key] = to } }
                }
            case "options":
                guard case .sequence(let sequence) = entry.value else {
                    report(entry.value, p, "expected a list of options")
                    continue
                }
                var options: [FieldOption] = []
                for (index, optionNode) in sequence.enumerated() {
                    let op = "\(p)[\(index)]"
                    if case .scalar = optionNode {
                        if let code = text(optionNode, op) { options.append(FieldOption(code: code, label: FieldLabel(es: code))) }
                        continue
                    }
                    guard let fields = mapping(optionNode, op, allowed: ["code", "label"], what: "an option {code, label}") else { continue }
                    let byName = Dictionary(fields.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
                    guard let codeNode = byName["code"] else {
                        report(optionNode, "\(op).code", "missing field 'code'")
                        continue
                    }
                    guard let code = text(codeNode, "\(op).code") else { continue }
                    let optionLabel = byName["label"].flatMap { self.label($0, "\(op).label") } ?? FieldLabel(es: code)
                    options.append(FieldOption(code: code, label: optionLabel))
                }
                spec.options = options
            default: break
            }
        }
        return FieldSpecEntry(spec, renamedFrom: renamedFrom, remap: remap)
    }

    // MARK: - Writing

    /// The node `export` writes for a fields section: built-in fields list only what differs
    /// from their defaults.
    static func node(for config: FieldsConfig, text: (String) -> Node) -> Node {
        func flow(_ pairs: [(String, Node)]) -> Node {
            .mapping(Node.Mapping(pairs.map { (Node($0.0), $0.1) }, .implicit, .flow))
        }
        func labelNode(_ label: FieldLabel) -> Node {
            label.en == nil ? text(label.es) : flow([("es", text(label.es)), ("en", text(label.en!))])
        }
        func valueNode(_ value: FieldValue) -> Node {
            switch value {
            case .string(let s): return text(s)
            case .number(let d): return Node(NSDecimalNumber(decimal: d).stringValue)
            case .bool(let b): return Node(b ? "true" : "false")
            case .array(let values): return .sequence(Node.Sequence(values.map(valueNode), .implicit, .flow))
            case .null: return Node("null")
            }
        }
        var entities: [(String, Node)] = []
        for entity in FieldEntity.allCases {
            guard let entries = config[entity] else { continue }
            let items: [Node] = entries.map { entry in
                let spec = entry.spec
                let base = BuiltinFields.spec(entity, spec.key)
                var pairs: [(String, Node)] = [("key", text(spec.key))]
                if base?.label != spec.label { pairs.append(("label", labelNode(spec.label))) }
                if base?.type != spec.type { pairs.append(("type", Node(spec.type.rawValue))) }
                if spec.required != (base?.required ?? false) { pairs.append(("required", Node(spec.required ? "true" : "false"))) }
                if let stage = spec.requiredFromStage { pairs.append(("required_from_stage", Node(stage.rawValue))) }
                if spec.unique { pairs.append(("unique", Node("true"))) }
                if let value = spec.defaultValue { pairs.append(("default", valueNode(value))) }
                if let help = spec.help { pairs.append(("help", text(help))) }
                if !spec.aliases.isEmpty { pairs.append(("aliases", .sequence(Node.Sequence(spec.aliases.map(text), .implicit, .flow)))) }
                if spec.type.isChoice, base?.options != spec.options || base?.type != spec.type {
                    pairs.append(("options", .sequence(Node.Sequence(spec.options.map {
                        flow([("code", text($0.code)), ("label", labelNode($0.label))])
                    }, .implicit, .flow))))
                }
                if spec.type == .money, let currency = spec.currency, currency != "EUR" { pairs.append(("currency", text(currency))) }
                if spec.archived { pairs.append(("archived", Node("true"))) }
                return flow(pairs)
            }
            entities.append((entity.rawValue, .sequence(Node.Sequence(items, .implicit, items.isEmpty ? .flow : .block))))
        }
        return .mapping(Node.Mapping(entities.map { (Node($0.0), $0.1) }, .implicit, .block))
    }
}

extension FieldSpecs {
    /// Parses a fields file: either `fields: {records: [...], ...}` (a tenant file's section, other
    /// top-level keys ignored) or the entities at the top. Every problem at once, with line:column.
    public static func parse(_ yaml: String, fileName: String = "fields.yaml") throws -> FieldsConfig {
        var parser = FieldSpecParser()
        var config: FieldsConfig?
        do {
            if let root = try BoundedYAML.compose(yaml) {
                if case .mapping(let mapping) = root, let section = mapping["fields"] {
                    config = parser.section(section, "fields")
                } else {
                    config = parser.section(root, "")
                }
            } else {
                config = [:]
            }
        } catch let refusal as BoundedYAML.Refusal {
            throw TenantSpec.invalidFile(fileName, [TenantSpecProblem(line: refusal.line, column: refusal.column, path: "", message: refusal.message)])
        } catch let error as YamlError {
            throw TenantSpec.invalidFile(fileName, [TenantSpecParser.problem(from: error)])
        }
        guard let config, parser.problems.isEmpty else {
            throw TenantSpec.invalidFile(fileName, parser.problems)
        }
        return config
    }

    /// A fields section as YAML (`fields:` at the top), the format `parse` reads.
    public static func yaml(for config: FieldsConfig) throws -> String {
        let text: (String) -> Node = { value in
            let plain = Node(value)
            let needsQuotes = plain.tag.description != Tag.Name.str.rawValue || value.isEmpty
                || value.first.map { " -?:,[]{}#&*!|>'\"%@`".contains($0) } == true
            return Node(value, .implicit, needsQuotes ? .doubleQuoted : .any)
        }
        let top = Node.mapping(Node.Mapping([(Node("fields"), FieldSpecParser.node(for: config, text: text))], .implicit, .block))
        return try Yams.serialize(node: top, indent: 2, width: -1, allowUnicode: true)
    }
}
