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
        var out: [UInt8] = []
        appendJSON(to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// The JSON text's UTF-8 bytes, written by hand: imports encode a million of these, and
    /// JSONEncoder costs ~20 µs a call.
    func appendJSON(to out: inout [UInt8]) {
        switch self {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let value): out.append(contentsOf: (value ? "true" : "false").utf8)
        case .number(let value):
            // Decimal's description costs ~1 µs; a whole number prints as its Int does.
            if let integer = Self.exactInteger(value) {
                out.append(contentsOf: String(integer).utf8)
            } else {
                out.append(contentsOf: value.description.utf8)
            }
        case .string(let value): Self.appendJSONString(value, to: &out)
        case .array(let values):
            out.append(UInt8(ascii: "["))
            for (i, value) in values.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                value.appendJSON(to: &out)
            }
            out.append(UInt8(ascii: "]"))
        }
    }

    /// `"…"` with `"`, `\`, newline, carriage return and TAB escaped by letter (and backspace
    /// and form feed too with `letterForBackspaceAndFormFeed`, as JSONEncoder writes them), the
    /// other control characters as `\u00xx`; every other byte as it is (UTF-8 multi-byte
    /// sequences never contain bytes below 0x80, so this is the same walk by scalar).
    static func appendJSONString(_ value: String, to out: inout [UInt8], letterForBackspaceAndFormFeed: Bool = false) {
        let hex: StaticString = "0123456789abcdef"
        out.append(UInt8(ascii: "\""))
        var value = value
        value.withUTF8 { input in
            var run = 0
            for i in input.indices {
                let byte = input[i]
                guard byte < 0x20 || byte == 0x22 || byte == 0x5C else { continue }
                if i > run { out.append(contentsOf: UnsafeBufferPointer(rebasing: input[run..<i])) }
                run = i + 1
                out.append(UInt8(ascii: "\\"))
                switch byte {
                case 0x22: out.append(UInt8(ascii: "\""))
                case 0x5C: out.append(UInt8(ascii: "\\"))
                case 0x0A: out.append(UInt8(ascii: "n"))
                case 0x0D: out.append(UInt8(ascii: "r"))
                case 0x09: out.append(UInt8(ascii: "t"))
                case 0x08 where letterForBackspaceAndFormFeed: out.append(UInt8(ascii: "b"))
                case 0x0C where letterForBackspaceAndFormFeed: out.append(UInt8(ascii: "f"))
                default:
                    out.append(contentsOf: "u00".utf8)
                    out.append(hex.utf8Start[Int(byte >> 4)])
                    out.append(hex.utf8Start[Int(byte & 0xF)])
                }
            }
            if run < input.count { out.append(contentsOf: UnsafeBufferPointer(rebasing: input[run...])) }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// The value as an Int when it is exactly one (checked by converting back).
    static func exactInteger(_ value: Decimal) -> Int? {
        let candidate = Int(NSDecimalNumber(decimal: value).int64Value)
        return Decimal(candidate) == value ? candidate : nil
    }

    /// `{"a":1,"b":"x"}` with sorted keys (the form `custom` columns are written in).
    static func jsonObject(_ values: [String: FieldValue]) -> String {
        var out: [UInt8] = [UInt8(ascii: "{")]
        for (i, key) in values.keys.sorted().enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            appendJSONString(key, to: &out)
            out.append(UInt8(ascii: ":"))
            values[key]!.appendJSON(to: &out)
        }
        out.append(UInt8(ascii: "}"))
        return String(decoding: out, as: UTF8.self)
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
