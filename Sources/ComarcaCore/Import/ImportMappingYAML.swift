import Foundation
import Yams

/// Mapping files are YAML (JSON is YAML too), read from Yams' node tree, which keeps each node's
/// line and column, as tenant files are (TenantSpecParser): every problem is collected and named
/// by file, line, column and key (`m.yaml:3:7: mode: 'upsrt' is not a mode (…)`), never as raw
/// decoder text. Keys are checked, so a typo is an error rather than a silently ignored option.
enum ImportMappingYAML {
    static let topKeys = ["columns", "defaults", "constants", "locale", "mode", "match", "sheets", "header_row"]
    static let localeKeys = ["date_order", "decimal_comma", "phone_country", "time_zone", "currency"]
    static let sheetKeys = ["entity", "mode", "match"]

    /// The mapping in `text`, or `CoreError(.invalidInput)` listing every problem, one a line,
    /// each prefixed by `fileName`.
    static func decode(_ text: String, fileName: String = "mapping") throws -> ImportMapping {
        var parser = Parser()
        let mapping = parser.document(text)
        guard parser.problems.isEmpty, let mapping else {
            let sorted = parser.problems.enumerated().sorted { a, b in
                (a.element.line, a.element.column, a.offset) < (b.element.line, b.element.column, b.offset)
            }.map(\.element)
            throw TenantSpec.invalidFile(fileName, sorted)
        }
        return mapping
    }

    /// The document's node tree: the one place a mapping's text is parsed as YAML.
    static func compose(_ text: String) throws -> Node? {
        try BoundedYAML.compose(text)
    }

    private struct Parser {
        var problems: [TenantSpecProblem] = []

        mutating func report(_ node: Node?, _ path: String, _ message: String) {
            let mark = node?.mark
            problems.append(TenantSpecProblem(line: mark?.line ?? 1, column: mark?.column ?? 1, path: path, message: message))
        }

        static func join(_ path: String, _ key: String) -> String {
            path.isEmpty ? key : "\(path).\(key)"
        }

        static func isNull(_ node: Node) -> Bool {
            guard case .scalar(let scalar) = node, scalar.style == .plain || scalar.style == .any else { return false }
            return ["", "~", "null", "Null", "NULL"].contains(scalar.string)
        }

        /// A mapping's entries in order; `allowed` nil takes any key (column headers, field keys).
        /// Reports a node that is not a mapping, keys that are not text, unknown and repeated keys.
        mutating func entries(_ node: Node, _ path: String, allowed: [String]?, what: String) -> [(key: String, keyNode: Node, value: Node)]? {
            if Self.isNull(node) { return [] }
            guard case .mapping(let mapping) = node else {
                report(node, path, "expected \(what)")
                return nil
            }
            var result: [(key: String, keyNode: Node, value: Node)] = []
            var seen: Set<String> = []
            for (key, value) in mapping {
                guard case .scalar(let scalar) = key else {
                    report(key, path, "keys must be text")
                    continue
                }
                let name = scalar.string
                let keyPath = Self.join(path, name)
                if let allowed, !allowed.contains(name) {
                    report(key, keyPath, "unknown key '\(name)' (expected one of: \(allowed.joined(separator: ", ")))")
                } else if !seen.insert(name).inserted {
                    report(key, keyPath, "key '\(name)' appears twice")
                } else {
                    result.append((name, key, value))
                }
            }
            return result
        }

        /// A scalar's text; reports a list, a map or an empty value.
        mutating func text(_ node: Node, _ path: String) -> String? {
            guard case .scalar(let scalar) = node, !Self.isNull(node) else {
                report(node, path, Self.isNull(node) ? "a value is needed here" : "expected text, not a list or a map")
                return nil
            }
            return scalar.string
        }

        /// One of `allowed` (by its raw value).
        mutating func choice<T: RawRepresentable>(_ node: Node, _ path: String, what: String, _ allowed: [T]) -> T? where T.RawValue == String {
            guard let value = text(node, path) else { return nil }
            guard let choice = T(rawValue: value) else {
                report(node, path, "'\(value)' is not \(what) (expected one of: \(allowed.map(\.rawValue).joined(separator: ", ")))")
                return nil
            }
            return choice
        }

        /// Header or field key → text.
        mutating func strings(_ node: Node, _ path: String, what: String) -> [String: String] {
            var result: [String: String] = [:]
            for entry in entries(node, path, allowed: nil, what: what) ?? [] {
                if let value = text(entry.value, Self.join(path, entry.key)) { result[entry.key] = value }
            }
            return result
        }

        mutating func document(_ yaml: String) -> ImportMapping? {
            let root: Node?
            do {
                root = try ImportMappingYAML.compose(yaml)
            } catch let refusal as BoundedYAML.Refusal {
                problems.append(TenantSpecProblem(line: refusal.line, column: refusal.column, path: "", message: refusal.message))
                return nil
            } catch let error as YamlError {
                problems.append(TenantSpecParser.problem(from: error))
                return nil
            } catch {
                problems.append(TenantSpecProblem(line: 1, column: 1, path: "", message: "not valid YAML: \(error)"))
                return nil
            }
            var mapping = ImportMapping()
            guard let root, !Self.isNull(root) else { return mapping }
            guard let top = entries(root, "", allowed: ImportMappingYAML.topKeys, what: "a mapping: a map of \(ImportMappingYAML.topKeys.joined(separator: ", "))") else {
                return nil
            }
            for (key, _, value) in top {
                switch key {
                case "columns": mapping.columns = strings(value, key, what: "a map of column header → field key (or skip)")
                case "defaults": mapping.defaults = strings(value, key, what: "a map of field key → value for empty cells")
                case "constants": mapping.constants = strings(value, key, what: "a map of field key → value for every row")
                case "locale": mapping.locale = locale(value, key)
                case "mode": mapping.mode = choice(value, key, what: "a mode", ImportMode.allCases)
                case "match": mapping.match = choice(value, key, what: "a match key", ImportMatchKey.allCases)
                case "sheets": mapping.sheets = sheets(value, key)
                case "header_row":
                    guard let text = text(value, key) else { break }
                    guard let row = Int(text), row >= 1 else {
                        report(value, key, "'\(text)' is not a row number (1 or more)")
                        break
                    }
                    mapping.headerRow = row
                default: break
                }
            }
            return mapping
        }

        mutating func locale(_ node: Node, _ path: String) -> ImportLocale {
            var locale = ImportLocale()
            for (key, _, value) in entries(node, path, allowed: ImportMappingYAML.localeKeys, what: "a map of \(ImportMappingYAML.localeKeys.joined(separator: ", "))") ?? [] {
                let keyPath = Self.join(path, key)
                switch key {
                case "date_order":
                    if let order = choice(value, keyPath, what: "a date order", [ImportDateOrder.dayMonth, .monthDay]) { locale.dateOrder = order }
                case "decimal_comma":
                    guard let text = text(value, keyPath) else { break }
                    switch text.lowercased() {
                    case "true", "yes", "on": locale.decimalComma = true
                    case "false", "no", "off": locale.decimalComma = false
                    default: report(value, keyPath, "'\(text)' is not true or false")
                    }
                case "phone_country":
                    guard let text = text(value, keyPath) else { break }
                    guard Normalize.callingCodes[text.uppercased()] != nil else {
                        report(value, keyPath, "'\(text)' is not a country whose phone numbers Comarca knows (expected one of: \(Normalize.callingCodes.keys.sorted().joined(separator: ", ")))")
                        break
                    }
                    locale.phoneCountry = text.uppercased()
                case "time_zone":
                    guard let text = text(value, keyPath) else { break }
                    guard TimeZone(identifier: text) != nil else {
                        report(value, keyPath, "'\(text)' is not a time zone (such as Europe/Madrid or Atlantic/Canary)")
                        break
                    }
                    locale.timeZone = text
                case "currency":
                    if let text = text(value, keyPath) { locale.currency = text }
                default: break
                }
            }
            return locale
        }

        mutating func sheets(_ node: Node, _ path: String) -> [String: ImportSheetMapping] {
            var result: [String: ImportSheetMapping] = [:]
            for (name, _, value) in entries(node, path, allowed: nil, what: "a map of sheet name → entity or {entity, mode, match}") ?? [] {
                let sheetPath = Self.join(path, name)
                if case .scalar = value {
                    if let entity = choice(value, sheetPath, what: "an entity", ImportEntity.allCases) { result[name] = ImportSheetMapping(entity: entity) }
                    continue
                }
                guard let fields = entries(value, sheetPath, allowed: ImportMappingYAML.sheetKeys, what: "an entity or a map of entity, mode, match") else { continue }
                var sheet = ImportSheetMapping()
                for (key, _, field) in fields {
                    let keyPath = Self.join(sheetPath, key)
                    switch key {
                    case "entity": sheet.entity = choice(field, keyPath, what: "an entity", ImportEntity.allCases)
                    case "mode": sheet.mode = choice(field, keyPath, what: "a mode", ImportMode.allCases)
                    case "match": sheet.match = choice(field, keyPath, what: "a match key", ImportMatchKey.allCases)
                    default: break
                    }
                }
                result[name] = sheet
            }
            return result
        }
    }
}
