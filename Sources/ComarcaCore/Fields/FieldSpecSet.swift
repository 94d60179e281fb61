public import Foundation
import PGClient

/// The fields of one entity for one tenant: built-ins (with the tenant's settings) and custom
/// fields, archived ones included. Load it with `FieldSpecs.load(tenantID:entity:on:)`.
public struct FieldSpecSet: Sendable, Hashable {
    public let entity: FieldEntity
    /// Every field in display order, archived ones last.
    public let fields: [FieldSpec]

    public init(entity: FieldEntity, fields: [FieldSpec]) {
        self.entity = entity
        self.fields = fields
    }

    /// Built-in defaults only (a tenant that configured nothing).
    public static func builtin(_ entity: FieldEntity) -> FieldSpecSet {
        FieldSpecSet(entity: entity, fields: BuiltinFields.all(entity))
    }

    public var active: [FieldSpec] { fields.filter { !$0.archived } }

    /// The field with this key, or whose alias (folded) matches it.
    public func field(_ name: String) -> FieldSpec? {
        if let exact = fields.first(where: { $0.key == name }) { return exact }
        let folded = Normalize.folded(name)
        return fields.first { Normalize.folded($0.key) == folded }
            ?? fields.first { !$0.archived && $0.aliases.contains { Normalize.folded($0) == folded } }
            ?? fields.first { $0.aliases.contains { Normalize.folded($0) == folded } }
            ?? fields.first { !$0.archived && (Normalize.folded($0.label.es) == folded || $0.label.en.map(Normalize.folded) == folded) }
    }

    /// Keys of built-in fields (columns) and of custom fields (`custom` jsonb keys).
    public var builtinKeys: Set<String> { Set(fields.filter(\.builtin).map(\.key)) }
    public var customKeys: Set<String> { Set(fields.filter { !$0.builtin }.map(\.key)) }

    /// Validates and normalises `values` (keys may be field keys, aliases or labels; the result
    /// uses keys). On create (`partial == false`) missing fields get their defaults and every
    /// required field must have a value; with `partial` (PATCH) only the given keys are checked.
    /// `stage` adds the fields required from that stage on: every such field that would be empty
    /// (given empty, or missing on create, or missing from `existing` on a partial update).
    /// Throws one `CoreError(.invalidInput)` with a field error per bad field.
    public func validate(
        _ values: [String: FieldValue], stage: String?, partial: Bool, existing: [String: FieldValue]? = nil
    ) throws -> [String: FieldValue] {
        var errors: [CoreError.FieldError] = []
        var result: [String: FieldValue] = [:]
        var sourceName: [String: String] = [:]

        var stageValue: FieldStage?
        if let stage {
            if let parsed = FieldStage(rawValue: stage) {
                stageValue = parsed
            } else if stage != "disqualified" {
                errors.append(.init(field: "stage", message: "unknown stage; allowed: \(FieldStage.allCases.map(\.rawValue).joined(separator: ", ")), disqualified"))
            }
        }

        for name in values.keys.sorted() {
            let raw = values[name]!
            guard let spec = field(name) else {
                errors.append(.init(field: name, message: "unknown field; known fields: \(active.map(\.key).joined(separator: ", "))"))
                continue
            }
            guard !spec.archived else {
                errors.append(.init(field: name, message: "field \(spec.key) is archived and cannot be written"))
                continue
            }
            if let other = sourceName[spec.key] {
                errors.append(.init(field: name, message: "names the same field as \(other) (\(spec.key))"))
                continue
            }
            sourceName[spec.key] = name
            do {
                result[spec.key] = try Self.normalize(raw, spec: spec, field: name)
            } catch let error as CoreError {
                errors += error.fieldErrors.isEmpty ? [.init(field: name, message: error.message)] : error.fieldErrors
            }
        }

        if !partial {
            for spec in active where result[spec.key] == nil && sourceName[spec.key] == nil {
                if let value = spec.defaultValue, !value.isEmpty {
                    result[spec.key] = value
                }
            }
        }

        for spec in active {
            let given = sourceName[spec.key] != nil
            // A value already reported as bad is not also reported as missing.
            guard errors.allSatisfy({ $0.field != (sourceName[spec.key] ?? spec.key) }) else { continue }
            let value = result[spec.key]
            let isEmpty: Bool
            if given || !partial {
                isEmpty = value?.isEmpty ?? true
            } else if let existing {
                isEmpty = existing[spec.key]?.isEmpty ?? true
            } else {
                continue  // partial without the stored values: only given keys are checked
            }
            guard isEmpty else { continue }
            let name = sourceName[spec.key] ?? spec.key
            if spec.required, given || !partial {
                errors.append(.init(field: name, message: "\(spec.key) is required"))
            } else if let from = spec.requiredFromStage, let stageValue, stageValue >= from {
                errors.append(.init(field: name, message: "\(spec.key) is required from stage \(from.rawValue) on (stage \(stageValue.rawValue))"))
            }
        }

        guard errors.isEmpty else {
            let summary = errors.map { "\($0.field): \($0.message)" }.joined(separator: "; ")
            throw CoreError(.invalidInput, "invalid fields: \(summary)", fieldErrors: errors)
        }
        // Empty values are stored as null.
        return result.mapValues { $0.isEmpty ? .null : $0 }
    }

    // MARK: - One value

    /// The canonical form of one value of `spec`, or `CoreError.invalid(field, …)`.
    public static func normalize(_ raw: FieldValue, spec: FieldSpec, field: String) throws -> FieldValue {
        if raw.isEmpty { return .null }
        switch spec.type {
        case .text, .longText:
            let text = Normalize.trimmed(try string(raw, field: field, what: "text"))
            let limit = spec.type == .text ? 1_000 : 100_000
            // Characters never outnumber UTF-8 bytes: count them only for long texts.
            guard text.utf8.count <= limit || text.count <= limit else { throw CoreError.invalid(field, "text longer than \(limit) characters") }
            return .string(text)
        case .integer:
            if case .string(let text) = raw, let number = PlainNumber(text), number.scale == 0, number.digits < 1_000_000_000_000_000 {
                let magnitude = Int(number.digits)
                return .number(Decimal(number.negative ? -magnitude : magnitude))
            }
            let number = try decimal(raw, field: field)
            guard decimalPlaces(number) == 0, abs(number) < integerLimit else {
                throw CoreError.invalid(field, "an integer has no decimals")
            }
            return .number(number)
        case .decimal, .money:
            if case .string(let text) = raw, let number = PlainNumber(text), spec.type == .decimal || number.scale <= 2 {
                return .string(number.text)
            }
            let number = try decimal(raw, field: field)
            let text = NSDecimalNumber(decimal: number).stringValue
            if spec.type == .money {
                guard decimalPlaces(text) <= 2 else { throw CoreError.invalid(field, "an amount of money has at most 2 decimals") }
            }
            return .string(text)
        case .date:
            return .string(try date(try string(raw, field: field, what: "a date"), field: field))
        case .datetime:
            return .string(try datetime(try string(raw, field: field, what: "a date and time"), field: field))
        case .boolean:
            return .bool(try boolean(raw, field: field))
        case .singleChoice:
            return .string(try choice(try string(raw, field: field, what: "one of the options"), spec: spec, field: field))
        case .multipleChoice:
            let items: [String]
            switch raw {
            case .array(let values): items = try values.filter { !$0.isEmpty }.map { try string($0, field: field, what: "options") }
            default:
                items = try string(raw, field: field, what: "options")
                    .split(whereSeparator: { $0 == ";" || $0 == "," || $0 == "|" }).map(String.init)
                    .filter { !$0.allSatisfy(\.isWhitespace) }
            }
            var codes: [String] = []
            for item in items {
                let code = try choice(item, spec: spec, field: field)
                if !codes.contains(code) { codes.append(code) }
            }
            return codes.isEmpty ? .null : .array(codes.map(FieldValue.string))
        case .email:
            return .string(try Normalize.email(try string(raw, field: field, what: "an email address"), field: field))
        case .phone:
            return .string(try Normalize.phone(try string(raw, field: field, what: "a phone number"), field: field))
        case .taxID:
            return .string(try Normalize.spanishTaxID(try string(raw, field: field, what: "a tax id"), field: field))
        case .postalCode:
            return .string(try Normalize.postalCode(try string(raw, field: field, what: "a postal code"), field: field))
        case .url:
            return .string(try url(try string(raw, field: field, what: "a URL"), field: field))
        case .country:
            return .string(try country(try string(raw, field: field, what: "a country code"), field: field))
        case .userRef, .zoneRef:
            let text = try string(raw, field: field, what: "an id").trimmingCharacters(in: .whitespaces)
            guard let id = UUID(uuidString: text) else {
                throw CoreError.invalid(field, "a reference to a \(spec.type == .userRef ? "user" : "zone") is its id (a UUID)")
            }
            return .string(id.uuidString.lowercased())
        }
    }

    static func string(_ raw: FieldValue, field: String, what: String) throws -> String {
        switch raw {
        case .string(let text): return text
        case .number: return raw.plainText
        case .bool, .array, .null:
            throw CoreError.invalid(field, "expected \(what), not \(raw.kindName)")
        }
    }

    static func decimal(_ raw: FieldValue, field: String) throws -> Decimal {
        switch raw {
        case .number(let value): return value
        case .string(let text):
            // One pass: spaces and a trailing € go; with a comma (Spanish 1.234,56 or 1234,56) the
            // dots are thousands separators and the comma is the decimal mark.
            let hasComma = text.utf8.contains(UInt8(ascii: ","))
            var scalars = String.UnicodeScalarView()
            for scalar in text.unicodeScalars {
                switch scalar {
                case " ", "\u{00A0}", "\t", "€": continue
                case "." where hasComma: continue
                case ",": scalars.append(".")
                default: scalars.append(scalar)
                }
            }
            let t = String(scalars)
            guard isPlainNumber(t), let value = Decimal(string: t, locale: posix)
            else {
                throw CoreError.invalid(field, "expected a number (1234.56 or 1.234,56)")
            }
            return value
        default:
            throw CoreError.invalid(field, "expected a number, not \(raw.kindName)")
        }
    }

    static let posix = Locale(identifier: "en_US_POSIX")
    /// Integers stay below 10^15 (a literal compared to a Decimal is converted on every call).
    static let integerLimit: Decimal = 1e15

    /// `[+-]?(digits[.digits?] | .digits)` — checked by hand, not by a regular expression, because
    /// imports check a million of these.
    static func isPlainNumber(_ text: String) -> Bool {
        var bytes = Substring(text).utf8[...]
        if let first = bytes.first, first == UInt8(ascii: "+") || first == UInt8(ascii: "-") { bytes = bytes.dropFirst() }
        var digits = 0
        var dots = 0
        for byte in bytes {
            if byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") {
                digits += 1
            } else if byte == UInt8(ascii: ".") {
                dots += 1
                if dots > 1 { return false }
            } else {
                return false
            }
        }
        return digits > 0
    }

    /// Digits after the decimal point in the plain notation of `value` (trailing zeros ignored).
    static func decimalPlaces(_ value: Decimal) -> Int {
        decimalPlaces(NSDecimalNumber(decimal: value).stringValue)
    }

    static func decimalPlaces(_ text: String) -> Int {
        guard let dot = text.firstIndex(of: ".") else { return 0 }
        return text[text.index(after: dot)...].reversed().drop(while: { $0 == "0" }).count
    }

    static func boolean(_ raw: FieldValue, field: String) throws -> Bool {
        switch raw {
        case .bool(let value): return value
        case .number(let value) where value == 0 || value == 1: return value == 1
        case .string(let text):
            switch Normalize.folded(text) {
            case "true", "si", "yes", "verdadero", "1", "s", "y", "x": return true
            case "false", "no", "falso", "0", "n": return false
            default: break
            }
        default: break
        }
        throw CoreError.invalid(field, "expected true or false (also sí/no, verdadero/falso)")
    }

    static func choice(_ text: String, spec: FieldSpec, field: String) throws -> String {
        let folded = Normalize.folded(text)
        if let option = spec.options.first(where: { Normalize.folded($0.code) == folded })
            ?? spec.options.first(where: { Normalize.folded($0.label.es) == folded || $0.label.en.map(Normalize.folded) == folded })
        {
            return option.code
        }
        let allowed = spec.options.map { "\($0.code) (\($0.label.es))" }.joined(separator: ", ")
        throw CoreError.invalid(field, "not one of the allowed values: \(allowed)")
    }

    static func date(_ text: String, field: String) throws -> String {
        // yyyy-mm-dd or d/m/yyyy, read by hand (imports check a million dates).
        let parts: (year: Int, month: Int, day: Int)? = Normalize.ASCIIFast.withBytes(Normalize.trimmed(text)) { t in
            func number(_ from: Int, _ to: Int) -> Int? { Normalize.ASCIIFast.number(t, from..<to) }
            // Where the first two dashes and slashes are, and how many there are.
            var dashes = (count: 0, first: 0, second: 0)
            var slashes = (count: 0, first: 0, second: 0)
            for i in t.indices {
                if t[i] == UInt8(ascii: "-") {
                    dashes.count += 1
                    if dashes.count == 1 { dashes.first = i } else if dashes.count == 2 { dashes.second = i }
                } else if t[i] == UInt8(ascii: "/") {
                    slashes.count += 1
                    if slashes.count == 1 { slashes.first = i } else if slashes.count == 2 { slashes.second = i }
                }
            }
            if dashes.count == 2, dashes.first == 4, dashes.second == 7, t.count == 10,
                let y = number(0, 4), let m = number(5, 7), let d = number(8, 10)
            {
                return (y, m, d)
            }
            if slashes.count == 2, (1...2).contains(slashes.first), (1...2).contains(slashes.second - slashes.first - 1),
                t.count - slashes.second - 1 == 4,
                let d = number(0, slashes.first), let m = number(slashes.first + 1, slashes.second), let y = number(slashes.second + 1, t.count)
            {
                return (y, m, d)
            }
            return nil
        }
        guard let p = parts, isRealDate(year: p.year, month: p.month, day: p.day) else {
            throw CoreError.invalid(field, "expected a date as yyyy-mm-dd (or dd/mm/yyyy)")
        }
        return formatDate(year: p.year, month: p.month, day: p.day)
    }

    /// `CivilTime.formatDate` for the years a real date has (1–9999): `yyyy-mm-dd`, written in
    /// place.
    static func formatDate(year: Int, month: Int, day: Int) -> String {
        String(unsafeUninitializedCapacity: 10) { out in
            out[0] = UInt8(48 + year / 1000)
            out[1] = UInt8(48 + year / 100 % 10)
            out[2] = UInt8(48 + year / 10 % 10)
            out[3] = UInt8(48 + year % 10)
            out[4] = UInt8(ascii: "-")
            out[5] = UInt8(48 + month / 10)
            out[6] = UInt8(48 + month % 10)
            out[7] = UInt8(ascii: "-")
            out[8] = UInt8(48 + day / 10)
            out[9] = UInt8(48 + day % 10)
            return 10
        }
    }

    static func isRealDate(year: Int, month: Int, day: Int) -> Bool {
        guard (1...9999).contains(year), (1...12).contains(month), day >= 1 else { return false }
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
        return day <= days
    }

    static func datetime(_ text: String, field: String) throws -> String {
        if let utc = utcSeconds(text) { return utc }
        return try datetimeByFormatter(text, field: field)
    }

    static func datetimeByFormatter(_ text: String, field: String) throws -> String {
        let t = text.trimmingCharacters(in: .whitespaces)
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        var parsed = formatter.date(from: t)
        if parsed == nil {
            formatter.formatOptions = [.withInternetDateTime]
            parsed = formatter.date(from: t)
        }
        guard let date = parsed else {
            throw CoreError.invalid(field, "expected a date and time in ISO 8601 with a time zone (2025-03-01T09:30:00Z)")
        }
        formatter.formatOptions = [.withInternetDateTime]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: date)
    }

    /// `yyyy-mm-ddThh:mm:ss[.000]Z` of a real instant (the form imports produce) is its own
    /// ISO 8601 form in UTC: the text without the zero milliseconds, without a formatter.
    /// Nil for anything else (years before 1600, outside the Gregorian calendar's continuous
    /// use, included).
    static func utcSeconds(_ text: String) -> String? {
        Normalize.ASCIIFast.withBytes(text) { t -> String? in
            guard t.count == 20 || (t.count == 24 && t[19] == UInt8(ascii: ".") && t[20] == 48 && t[21] == 48 && t[22] == 48),
                t[t.count - 1] == UInt8(ascii: "Z"), t[4] == UInt8(ascii: "-"), t[7] == UInt8(ascii: "-"), t[10] == UInt8(ascii: "T"),
                t[13] == UInt8(ascii: ":"), t[16] == UInt8(ascii: ":")
            else { return nil }
            func number(_ from: Int, _ count: Int) -> Int? { Normalize.ASCIIFast.number(t, from..<from + count) }
            guard let year = number(0, 4), let month = number(5, 2), let day = number(8, 2), let hour = number(11, 2),
                let minute = number(14, 2), let second = number(17, 2), year >= 1600, isRealDate(year: year, month: month, day: day),
                hour < 24, minute < 60, second < 60
            else { return nil }
            return t.count == 20 ? text : String(decoding: UnsafeBufferPointer(rebasing: t[0..<19]), as: UTF8.self) + "Z"
        }
    }

    static func url(_ text: String, field: String) throws -> String {
        var t = text.trimmingCharacters(in: .whitespaces)
        if !t.contains("://") { t = "https://" + t }
        guard !t.contains(where: { $0.isWhitespace }), let components = URLComponents(string: t),
            let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = components.host, host.contains(".") || host == "localhost"
        else {
            throw CoreError.invalid(field, "expected a web address (https://…)")
        }
        return t
    }

    static let countryNames: [String: String] = [
        "espana": "ES", "spain": "ES", "portugal": "PT", "francia": "FR", "france": "FR", "andorra": "AD",
        "italia": "IT", "italy": "IT", "alemania": "DE", "germany": "DE", "reino unido": "GB",
        "united kingdom": "GB", "marruecos": "MA", "morocco": "MA", "mexico": "MX", "estados unidos": "US",
        "united states": "US",
    ]

    static let isoCountries: Set<String> = Set(Locale.Region.isoRegions.map(\.identifier).filter {
        $0.count == 2 && $0.allSatisfy { $0.isLetter }
    })

    static func country(_ text: String, field: String) throws -> String {
        let t = text.trimmingCharacters(in: .whitespaces)
        if let code = countryNames[Normalize.folded(t)] { return code }
        let upper = t.uppercased()
        guard upper.count == 2, isoCountries.isEmpty || isoCountries.contains(upper) else {
            throw CoreError.invalid(field, "expected a country as its ISO 3166 two-letter code (ES, PT, FR…)")
        }
        return upper
    }
}

extension FieldValue {
    var kindName: String {
        switch self {
        case .string: "text"
        case .number: "a number"
        case .bool: "a boolean"
        case .array: "a list"
        case .null: "null"
        }
    }
}

extension FieldSpecSet {
    /// One line per field for `comarca fields show`:
    /// `sector  single_choice  "Sector"  required from potential  options: ind, ser  aliases: Actividad`.
    public var lines: [String] {
        fields.map { spec in
            var parts = [spec.key, spec.type.rawValue, "\"\(spec.label.es)\"" + (spec.label.en.map { " / \"\($0)\"" } ?? "")]
            parts.append(spec.builtin ? "built-in" : "custom")
            if spec.required { parts.append("required") }
            if let stage = spec.requiredFromStage { parts.append("required from \(stage.rawValue)") }
            if spec.unique { parts.append("unique") }
            if let value = spec.defaultValue { parts.append("default \(value.jsonText)") }
            if spec.type == .money, let currency = spec.currency { parts.append(currency) }
            if !spec.options.isEmpty { parts.append("options: " + spec.options.map { "\($0.code) (\($0.label.es))" }.joined(separator: ", ")) }
            if !spec.aliases.isEmpty { parts.append("aliases: " + spec.aliases.joined(separator: ", ")) }
            if spec.archived { parts.append("ARCHIVED") }
            return parts.joined(separator: "  ")
        }
    }
}
