public import Foundation

/// A type that can be an element of a one-dimensional PostgreSQL array bind or column.
public protocol PGArrayElement: PGCodable {
    /// The OID of the array type whose elements are `Self`.
    static var pgArrayOID: PGOID { get }
}

extension String: PGArrayElement { public static var pgArrayOID: PGOID { PGType.textArray } }
extension Int: PGArrayElement { public static var pgArrayOID: PGOID { PGType.int8Array } }
extension Int32: PGArrayElement { public static var pgArrayOID: PGOID { PGType.int4Array } }
extension Int16: PGArrayElement { public static var pgArrayOID: PGOID { PGType.int2Array } }
extension Double: PGArrayElement { public static var pgArrayOID: PGOID { PGType.float8Array } }
extension Bool: PGArrayElement { public static var pgArrayOID: PGOID { PGType.boolArray } }
extension UUID: PGArrayElement { public static var pgArrayOID: PGOID { PGType.uuidArray } }
extension Decimal: PGArrayElement { public static var pgArrayOID: PGOID { PGType.numericArray } }
extension Date: PGArrayElement { public static var pgArrayOID: PGOID { PGType.timestamptzArray } }
extension PGCalendarDate: PGArrayElement { public static var pgArrayOID: PGOID { PGType.dateArray } }


extension Array: PGEncodable where Element: PGArrayElement {
    public static var pgOID: PGOID { Element.pgArrayOID }
    public var pgText: String { PGArrayLiteral.format(map { Optional($0.pgText) }) }
}

extension Array: PGDecodable where Element: PGDecodable {
    public static func decode(pgText: Substring, oid: PGOID) throws(PGDecodingFailure) -> [Element] {
        guard let elementOID = PGArrayLiteral.elementOID(ofArray: oid) else { throw .typeMismatch(expected: "array") }
        let items = try PGArrayLiteral.parse(pgText)
        var result: [Element] = []
        result.reserveCapacity(items.count)
        for item in items {
            if let item {
                result.append(try Element.decode(pgText: Substring(item), oid: elementOID))
            } else {
                result.append(try Element.decodeNull())
            }
        }
        return result
    }
}

/// PostgreSQL's text form of one-dimensional arrays: `{a,"b c",NULL}`.
enum PGArrayLiteral {
    static func elementOID(ofArray oid: PGOID) -> PGOID? {
        switch oid {
        case PGType.textArray: return PGType.text
        case PGType.varcharArray: return PGType.varchar
        case PGType.int8Array: return PGType.int8
        case PGType.int4Array: return PGType.int4
        case PGType.int2Array: return PGType.int2
        case PGType.float8Array: return PGType.float8
        case PGType.boolArray: return PGType.bool
        case PGType.uuidArray: return PGType.uuid
        case PGType.numericArray: return PGType.numeric
        case PGType.timestamptzArray: return PGType.timestamptz
        case PGType.dateArray: return PGType.date
        default: return nil
        }
    }

    static func format(_ items: [String?]) -> String {
        var out = "{"
        for (i, item) in items.enumerated() {
            if i > 0 { out += "," }
            guard let item else {
                out += "NULL"
                continue
            }
            out += "\""
            // By scalar: quote and backslash are single scalars, and scalars are cheaper to walk
            // than characters (imports format a million of these).
            for scalar in item.unicodeScalars {
                if scalar == "\"" || scalar == "\\" { out += "\\" }
                out.unicodeScalars.append(scalar)
            }
            out += "\""
        }
        return out + "}"
    }

    static func parse(_ text: Substring) throws(PGDecodingFailure) -> [String?] {
        let bytes = Array(text.utf8)
        guard bytes.first == UInt8(ascii: "{"), bytes.last == UInt8(ascii: "}") else {
            throw .malformed(expected: "one-dimensional array")
        }
        var items: [String?] = []
        var i = 1
        let end = bytes.count - 1
        if end == 1 { return [] }
        while i <= end {
            var value: [UInt8] = []
            var quoted = false
            if bytes[i] == UInt8(ascii: "\"") {
                quoted = true
                i += 1
                while i < end, bytes[i] != UInt8(ascii: "\"") {
                    if bytes[i] == UInt8(ascii: "\\") { i += 1 }
                    guard i < end else { throw .malformed(expected: "array") }
                    value.append(bytes[i])
                    i += 1
                }
                i += 1
            } else {
                while i < end, bytes[i] != UInt8(ascii: ",") {
                    if bytes[i] == UInt8(ascii: "{") { throw .malformed(expected: "one-dimensional array") }
                    value.append(bytes[i])
                    i += 1
                }
            }
            let string = String(decoding: value, as: UTF8.self)
            items.append(!quoted && string == "NULL" ? nil : string)
            guard i == end || bytes[i] == UInt8(ascii: ",") else { throw .malformed(expected: "array") }
            i += 1
        }
        return items
    }
}
