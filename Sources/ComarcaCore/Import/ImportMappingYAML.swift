import Foundation
import Yams

/// Mapping files are YAML (JSON is YAML too). Keys are checked, so a typo is an error rather than
/// a silently ignored option.
enum ImportMappingYAML {
    static let topKeys: Set<String> = ["columns", "defaults", "constants", "locale", "mode", "match", "sheets", "header_row"]
    static let localeKeys: Set<String> = ["date_order", "decimal_comma", "phone_country", "time_zone", "currency"]

    static func decode(_ text: String) throws -> ImportMapping {
        guard let loaded = try Yams.load(yaml: text) else { return ImportMapping() }
        guard let top = loaded as? [String: Any] else {
            throw CoreError(.invalidInput, "a mapping is a map of columns, defaults, constants, locale, mode, match, sheets, header_row")
        }
        let unknown = Set(top.keys).subtracting(topKeys)
        guard unknown.isEmpty else {
            throw CoreError(.invalidInput, "unknown key\(unknown.count == 1 ? "" : "s") \(unknown.sorted().joined(separator: ", ")); allowed: \(topKeys.sorted().joined(separator: ", "))")
        }
        if let locale = top["locale"] as? [String: Any] {
            let unknownLocale = Set(locale.keys).subtracting(localeKeys)
            guard unknownLocale.isEmpty else {
                throw CoreError(.invalidInput, "unknown locale key\(unknownLocale.count == 1 ? "" : "s") \(unknownLocale.sorted().joined(separator: ", ")); allowed: \(localeKeys.sorted().joined(separator: ", "))")
            }
        }
        do {
            return try YAMLDecoder().decode(ImportMapping.self, from: text)
        } catch let DecodingError.dataCorrupted(context), let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw CoreError(.invalidInput, "\(path.isEmpty ? "" : path + ": ")\(context.debugDescription)")
        }
    }
}
