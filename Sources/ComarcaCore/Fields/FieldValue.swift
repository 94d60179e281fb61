public import Foundation

/// One field's value as it travels through HTTP, CLI and import, JSON-coded naturally:
/// `"text"`, `12.5`, `true`, `["a", "b"]`, `null`. After `FieldSpecSet.validate` the canonical
/// forms are: text-like types (email, phone, tax id, date, datetime, url, choices…) as `.string`,
/// integer and decimal and money as `.number`, booleans as `.bool`, multiple choice as `.array`
/// of `.string` codes, and an empty value as `.null`.
public enum FieldValue: Sendable, Codable, Equatable, Hashable {
    case string(String)
    case number(Decimal)
    case bool(Bool)
    case array([FieldValue])
    case null

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode(Decimal.self) {
            self = .number(value)
        } else if let value = try? container.decode([FieldValue].self) {
            self = .array(value)
        } else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "a field value is a string, number, boolean, array or null")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .bool(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .null: try container.encodeNil()
        }
    }

    /// True for `.null`, an empty or blank string and an empty array: "no value".
    public var isEmpty: Bool {
        switch self {
        case .null: true
        case .string(let value): value.allSatisfy(\.isWhitespace)
        case .array(let value): value.isEmpty
        case .number, .bool: false
        }
    }

    /// The value as a `jsonb` literal's text (for binds: `\(value.jsonText)::jsonb`).
    public var jsonText: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(self), let text = String(data: data, encoding: .utf8) else { return "null" }
        return text
    }

    /// Decodes a JSON text (a `jsonb` column or a request body fragment).
    public static func decodeJSON(_ text: String) throws -> FieldValue {
        try JSONDecoder().decode(FieldValue.self, from: Data(text.utf8))
    }

    /// The text form used for uniqueness, matching and display: strings as they are, numbers in
    /// plain notation, booleans `true`/`false`, arrays joined by commas, null empty.
    public var plainText: String {
        switch self {
        case .string(let value): value
        case .number(let value): NSDecimalNumber(decimal: value).stringValue
        case .bool(let value): value ? "true" : "false"
        case .array(let values): values.map(\.plainText).joined(separator: ",")
        case .null: ""
        }
    }
}
