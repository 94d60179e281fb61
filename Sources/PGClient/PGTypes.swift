public import Foundation

/// A PostgreSQL type OID.
public typealias PGOID = UInt32

/// Type OIDs this client knows by name.
public enum PGType {
    public static let unknown: PGOID = 0
    public static let bool: PGOID = 16
    public static let bytea: PGOID = 17
    public static let name: PGOID = 19
    public static let int8: PGOID = 20
    public static let int2: PGOID = 21
    public static let int4: PGOID = 23
    public static let text: PGOID = 25
    public static let oid: PGOID = 26
    public static let json: PGOID = 114
    public static let float4: PGOID = 700
    public static let float8: PGOID = 701
    public static let bpchar: PGOID = 1042
    public static let varchar: PGOID = 1043
    public static let date: PGOID = 1082
    public static let timestamp: PGOID = 1114
    public static let timestamptz: PGOID = 1184
    public static let numeric: PGOID = 1700
    public static let uuid: PGOID = 2950
    public static let jsonb: PGOID = 3802
    public static let boolArray: PGOID = 1000
    public static let int2Array: PGOID = 1005
    public static let int4Array: PGOID = 1007
    public static let textArray: PGOID = 1009
    public static let varcharArray: PGOID = 1015
    public static let int8Array: PGOID = 1016
    public static let float8Array: PGOID = 1022
    public static let timestamptzArray: PGOID = 1185
    public static let numericArray: PGOID = 1231
    public static let uuidArray: PGOID = 2951
    public static let dateArray: PGOID = 1182

    static let integers: Set<PGOID> = [int2, int4, int8, oid]
    static let floats: Set<PGOID> = [float4, float8, numeric]
}

/// A Swift value that can be sent as a bind parameter.
public protocol PGEncodable: Sendable {
    /// The parameter type sent with the value; 0 lets the server infer it.
    static var pgOID: PGOID { get }
    /// The value in PostgreSQL's text input format.
    var pgText: String { get }
}

/// Why a value could not be decoded; `PGRow` turns it into a `PGError` naming the column.
public enum PGDecodingFailure: Error, Sendable {
    case unexpectedNull
    case typeMismatch(expected: String)
    case malformed(expected: String)
}

/// A Swift type a column can be decoded into from PostgreSQL's text output format.
public protocol PGDecodable: Sendable {
    /// Decodes a non-NULL value of a column whose type is `oid`.
    static func decode(pgText: Substring, oid: PGOID) throws(PGDecodingFailure) -> Self
    /// The value for SQL NULL; throws for non-optional types.
    static func decodeNull() throws(PGDecodingFailure) -> Self
}

extension PGDecodable {
    public static func decodeNull() throws(PGDecodingFailure) -> Self { throw .unexpectedNull }
}

public typealias PGCodable = PGEncodable & PGDecodable

extension Optional: PGDecodable where Wrapped: PGDecodable {
    public static func decode(pgText: Substring, oid: PGOID) throws(PGDecodingFailure) -> Wrapped? {
        try Wrapped.decode(pgText: pgText, oid: oid)
    }
    public static func decodeNull() throws(PGDecodingFailure) -> Wrapped? { nil }
}

// MARK: - Text

extension String: PGCodable {
    // Unknown lets a string bind to uuid, date, enum-like text or jsonb columns alike.
    public static var pgOID: PGOID { PGType.unknown }
    public var pgText: String { self }
    public static func decode(pgText: Substring, oid: PGOID) throws(PGDecodingFailure) -> String {
        String(pgText)
    }
}

// MARK: - Numbers

extension Int: PGCodable {
    public static var pgOID: PGOID { PGType.int8 }
    public var pgText: String { String(self) }
    public static func decode(pgText: Substring, oid: PGOID) throws(PGDecodingFailure) -> Int {
        guard PGType.integers.contains(oid) || oid == PGType.numeric else { throw .typeMismatch(expected: "integer") }
        guard let value = Int(pgText) else { throw .malformed(expected: "integer") }
        return value
    }
}

extension Int32: PGCodable {
    public static var pgOID: PGOID { PGType.int4 }
    public var pgText: String { String(self) }
    public static func decode(pgText: Substring, oid: PGOID) throws(PGDecodingFailure) -> Int32 {
        guard PGType.integers.contains(oid) else { throw .typeMismatch(expected: "integer") }
        guard let value = Int32(pgText) else { throw .malformed(expected: "32-bit integer") }
        return value
    }
}

extension Int16: PGCodable {
    public static var pgOID: PGOID { PGType.int2 }
    public var pgText: String { String(self) }
    public static func decode(pgText: Substring, oid: PGOID) throws(PGDecodingFailure) -> Int16 {
        guard PGType.integers.contains(oid) else { throw .typeMismatch(expected: "integer") }
        guard let value = Int16(pgText) else { throw .malformed(expected: "16-bit integer") }
        return value
    }
}

extension Double: PGCodable {
    public static var pgOID: PGOID { PGType.float8 }
    public var pgText: String {
        if isNaN { return "NaN" }
        if isInfinite { return self < 0 ? "-Infinity" : "Infinity" }
        return String(self)
    }
    public static func decode(pgText: Substring, oid: PGOID) throws(PGDecodingFailure) -> Double {
        guard PGType.floats.contains(oid) || PGType.integers.contains(oid) else { throw .typeMismatch(expected: "double") }
        switch pgText {
        case "NaN": return .nan
        case "Infinity": return .infinity
        case "-Infinity": return -.infinity
        default:
            guard let value = Double(pgText) else { throw .malformed(expected: "double") }
            return value
        }
    }
}

extension Decimal: PGCodable {
    public static var pgOID: PGOID { PGType.numeric }
    public var pgText: String { isNaN ? "NaN" : description }
    public static func decode(pgText: Substring, oid: PGOID) throws(PGDecodingFailure) -> Decimal {
        guard oid == PGType.numeric || PGType.integers.contains(oid) else { throw .typeMismatch(expected: "numeric") }
        if pgText == "NaN" { return .nan }
        guard let value = Decimal(string: String(pgText), locale: Locale(identifier: "en_US_POSIX")) else {
            throw .malformed(expected: "numeric")
        }
        return value
    }
}

// MARK: - Bool, UUID, bytes, JSON

extension Bool: PGCodable {
    public static var pgOID: PGOID { PGType.bool }
    public var pgText: String { self ? "t" : "f" }
    public static func decode(pgText: Substring, oid: PGOID) throws(PGDecodingFailure) -> Bool {
        guard oid == PGType.bool else { throw .typeMismatch(expected: "boolean") }
        switch pgText {
        case "t": return true
        case "f": return false
        default: throw .malformed(expected: "boolean")
        }
    }
}

extension UUID: PGCodable {
    public static var pgOID: PGOID { PGType.uuid }
    public var pgText: String { uuidString.lowercased() }
    public static func decode(pgText: Substring, oid: PGOID) throws(PGDecodingFailure) -> UUID {
        guard oid == PGType.uuid || oid == PGType.text || oid == PGType.varchar else { throw .typeMismatch(expected: "uuid") }
        guard let value = UUID(uuidString: String(pgText)) else { throw .malformed(expected: "uuid") }
        return value
    }
}

extension Data: PGCodable {
    public static var pgOID: PGOID { PGType.bytea }
    public var pgText: String {
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var out = [UInt8]("\\x".utf8)
        out.reserveCapacity(2 + count * 2)
        for byte in self {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }
    public static func decode(pgText: Substring, oid: PGOID) throws(PGDecodingFailure) -> Data {
        guard oid == PGType.bytea else { throw .typeMismatch(expected: "bytea") }
        let utf8 = Array(pgText.utf8)
        guard utf8.count >= 2, utf8[0] == UInt8(ascii: "\\"), utf8[1] == UInt8(ascii: "x"), utf8.count % 2 == 0 else {
            throw .malformed(expected: "bytea in hex format")
        }
        func nibble(_ c: UInt8) throws(PGDecodingFailure) -> UInt8 {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
            default: throw .malformed(expected: "bytea in hex format")
            }
        }
        var bytes = [UInt8]()
        bytes.reserveCapacity((utf8.count - 2) / 2)
        var i = 2
        while i < utf8.count {
            bytes.append(try nibble(utf8[i]) << 4 | nibble(utf8[i + 1]))
            i += 2
        }
        return Data(bytes)
    }
}

/// A JSON document as sent to or read from a `json`/`jsonb` column.
public struct PGJSON: PGCodable, Hashable {
    public var text: String

    public init(text: String) { self.text = text }

    public init<T: Encodable>(encoding value: T) throws {
        let data = try JSONEncoder().encode(value)
        self.text = String(decoding: data, as: UTF8.self)
    }

    public func decoded<T: Decodable>(as type: T.Type) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(text.utf8))
    }

    public static var pgOID: PGOID { PGType.jsonb }
    public var pgText: String { text }
    public static func decode(pgText: Substring, oid: PGOID) throws(PGDecodingFailure) -> PGJSON {
        guard oid == PGType.json || oid == PGType.jsonb else { throw .typeMismatch(expected: "json") }
        return PGJSON(text: String(pgText))
    }
}
