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
        case .string(let value):
            if let first = value.utf8.first, (0x21...0x7E).contains(first) { false } else { value.allSatisfy(\.isWhitespace) }
        case .array(let value): value.isEmpty
        case .number, .bool: false
        }
    }

    /// The value as a `jsonb` literal's text (for binds: `\(value.jsonText)::jsonb`).
    public var jsonText: String {
        var out = ""
        appendJSON(to: &out)
        return out
    }

    /// Written by hand: imports encode a million of these, and JSONEncoder costs ~20 µs a call.
    func appendJSON(to out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let value): out += value ? "true" : "false"
        case .number(let value): out += value.description
        case .string(let value): Self.appendJSONString(value, to: &out)
        case .array(let values):
            out += "["
            for (i, value) in values.enumerated() {
                if i > 0 { out += "," }
                value.appendJSON(to: &out)
            }
            out += "]"
        }
    }

    static func appendJSONString(_ value: String, to out: inout String) {
        out += "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }

    /// `{"a":1,"b":"x"}` with sorted keys (the form `custom` columns are written in).
    static func jsonObject(_ values: [String: FieldValue]) -> String {
        var out = "{"
        for (i, key) in values.keys.sorted().enumerated() {
            if i > 0 { out += "," }
            appendJSONString(key, to: &out)
            out += ":"
            values[key]!.appendJSON(to: &out)
        }
        return out + "}"
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
