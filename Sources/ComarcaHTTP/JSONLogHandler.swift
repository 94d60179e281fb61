#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
public import Logging
import PGClient

/// Writes each log record as one JSON object per line on standard error, for log shippers.
/// Keys are sorted; the line is built by hand as bytes and written with one `write(2)`
/// (JSONSerialization of a dictionary was ~15% of a request's CPU under load).
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    private let label: String

    public init(label: String, level: Logger.Level) {
        self.label = label
        self.logLevel = level
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var line = Self.line(
            timestamp: Self.timestamp(), level: event.level, label: label, message: event.message.description,
            metadata: metadata, extra: event.metadata)
        line.append(0x0A)
        line.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = write(2, buffer.baseAddress! + offset, buffer.count - offset)
                if written <= 0 {
                    if written < 0 && errno == EINTR { continue }
                    return
                }
                offset += written
            }
        }
    }

    /// The JSON object of one record, keys sorted; the event's metadata wins over the logger's.
    static func line(
        timestamp: String, level: Logger.Level, label: String, message: String, metadata: Logger.Metadata, extra: Logger.Metadata?
    ) -> [UInt8] {
        var fields: [(String, Logger.Metadata.Value)] = []
        fields.reserveCapacity(metadata.count + (extra?.count ?? 0) + 4)
        for (key, value) in metadata where extra?[key] == nil && !Self.reserved.contains(key) { fields.append((key, value)) }
        if let extra { for (key, value) in extra where !Self.reserved.contains(key) { fields.append((key, value)) } }
        fields.append(("ts", .string(timestamp)))
        fields.append(("level", .string(level.rawValue)))
        fields.append(("logger", .string(label)))
        fields.append(("msg", .string(message)))
        // Metadata named like a built-in field replaces it, as the dictionary version did.
        for key in Self.reserved {
            if let value = extra?[key] ?? metadata[key], let index = fields.firstIndex(where: { $0.0 == key }) {
                fields[index].1 = value
            }
        }
        fields.sort { $0.0 < $1.0 }
        var out: [UInt8] = []
        out.reserveCapacity(256)
        out.append(UInt8(ascii: "{"))
        for (index, (key, value)) in fields.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            appendString(key, to: &out)
            out.append(UInt8(ascii: ":"))
            appendValue(value, to: &out)
        }
        out.append(UInt8(ascii: "}"))
        return out
    }

    private static let reserved: Set<String> = ["ts", "level", "logger", "msg"]

    static func appendValue(_ value: Logger.Metadata.Value, to out: inout [UInt8]) {
        switch value {
        case .string(let s): appendString(s, to: &out)
        case .stringConvertible(let s): appendString(s.description, to: &out)
        case .array(let values):
            out.append(UInt8(ascii: "["))
            for (index, element) in values.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                appendValue(element, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .dictionary(let values):
            out.append(UInt8(ascii: "{"))
            for (index, key) in values.keys.sorted().enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                appendString(key, to: &out)
                out.append(UInt8(ascii: ":"))
                appendValue(values[key]!, to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// A JSON string: quotes, backslashes and control characters escaped, the rest as UTF-8.
    static func appendString(_ text: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        let hex: [UInt8] = Array("0123456789abcdef".utf8)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(UInt8(ascii: "\\")); out.append(byte)
            case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\")); out.append(byte)
            case 0x0A: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "n"))
            case 0x0D: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "r"))
            case 0x09: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "t"))
            case 0..<0x20:
                out.append(contentsOf: Array("\\u00".utf8))
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0x0F)])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    static func timestamp() -> String { CivilTime.rfc3339(Date()) }
}
