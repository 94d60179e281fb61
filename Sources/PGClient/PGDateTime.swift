public import Foundation

/// A calendar date without time or zone, as PostgreSQL's `date`.
public struct PGCalendarDate: PGCodable, Hashable, Comparable, CustomStringConvertible {
    public var year: Int
    public var month: Int
    public var day: Int

    public init(year: Int, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    public var description: String { pgText }

    public static func < (a: PGCalendarDate, b: PGCalendarDate) -> Bool {
        (a.year, a.month, a.day) < (b.year, b.month, b.day)
    }

    public static var pgOID: PGOID { PGType.date }
    public var pgText: String { CivilTime.formatDate(year: year, month: month, day: day) }
    public static func decode(pgText: Substring, oid: PGOID) throws(PGDecodingFailure) -> PGCalendarDate {
        guard oid == PGType.date else { throw .typeMismatch(expected: "date") }
        var scanner = ByteScanner(pgText)
        guard let date = scanner.date(), scanner.atEnd else { throw .malformed(expected: "date (ISO)") }
        return PGCalendarDate(year: date.year, month: date.month, day: date.day)
    }
}

extension Date: PGCodable {
    public static var pgOID: PGOID { PGType.timestamptz }

    /// UTC with microseconds, PostgreSQL's own resolution.
    public var pgText: String {
        let micros = (timeIntervalSince1970 * 1_000_000).rounded()
        var seconds = Int((micros / 1_000_000).rounded(.down))
        let fraction = Int(micros - Double(seconds) * 1_000_000)
        let days = Int((Double(seconds) / 86_400).rounded(.down))
        seconds -= days * 86_400
        let (y, m, d) = CivilTime.civil(fromDays: days)
        let time = String(format: "%02d:%02d:%02d.%06d", seconds / 3600, seconds / 60 % 60, seconds % 60, fraction)
        return CivilTime.formatDate(year: y, month: m, day: d) + " " + time + "+00"
    }

    public static func decode(pgText: Substring, oid: PGOID) throws(PGDecodingFailure) -> Date {
        switch oid {
        case PGType.timestamptz, PGType.timestamp:
            var scanner = ByteScanner(pgText)
            guard let date = scanner.date(), scanner.skip(UInt8(ascii: " ")) || scanner.skip(UInt8(ascii: "T")),
                let hour = scanner.digits(2), scanner.skip(UInt8(ascii: ":")),
                let minute = scanner.digits(2), scanner.skip(UInt8(ascii: ":")),
                let second = scanner.digits(2)
            else { throw .malformed(expected: "timestamp (ISO DateStyle)") }
            var micros = 0
            if scanner.skip(UInt8(ascii: ".")) {
                var scale = 100_000
                while let digit = scanner.digit() {
                    micros += digit * scale
                    scale /= 10
                }
            }
            var offsetSeconds = 0
            if let sign = scanner.sign() {
                guard let oh = scanner.digits(2) else { throw .malformed(expected: "time zone offset") }
                var offset = oh * 3600
                if scanner.skip(UInt8(ascii: ":")), let om = scanner.digits(2) { offset += om * 60 }
                if scanner.skip(UInt8(ascii: ":")), let os = scanner.digits(2) { offset += os }
                offsetSeconds = sign * offset
            }
            guard scanner.atEnd else { throw .malformed(expected: "timestamp (ISO DateStyle)") }
            let days = CivilTime.days(year: date.year, month: date.month, day: date.day)
            let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds
            return Date(timeIntervalSince1970: Double(seconds) + Double(micros) / 1_000_000)
        case PGType.date:
            let day = try PGCalendarDate.decode(pgText: pgText, oid: oid)
            let days = CivilTime.days(year: day.year, month: day.month, day: day.day)
            return Date(timeIntervalSince1970: Double(days * 86_400))
        default:
            throw .typeMismatch(expected: "timestamp")
        }
    }
}

/// Proleptic Gregorian calendar arithmetic on day counts from 1970-01-01 (H. Hinnant's algorithm),
/// so dates are read and written without a formatter (Foundation's cost ~60 µs a call on Linux).
public enum CivilTime {
    public static func days(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    public static func civil(fromDays z0: Int) -> (Int, Int, Int) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    public static func formatDate(year: Int, month: Int, day: Int) -> String {
        let y = year < 1000 ? String(repeating: "0", count: 4 - String(year).count) + String(year) : String(year)
        return y + (month < 10 ? "-0" : "-") + String(month) + (day < 10 ? "-0" : "-") + String(day)
    }

    /// RFC 3339 in UTC with milliseconds: `2026-11-22T08:13:45.316Z`.
    public static func rfc3339(_ date: Date) -> String {
        let millis = Int((date.timeIntervalSince1970 * 1000).rounded(.down))
        let days = millis >= 0 ? millis / 86_400_000 : (millis - 86_399_999) / 86_400_000
        let inDay = millis - days * 86_400_000
        let (y, m, d) = civil(fromDays: days)
        func two(_ n: Int) -> String { n < 10 ? "0" + String(n) : String(n) }
        let ms = inDay % 1000
        let msText = ms < 10 ? "00" + String(ms) : ms < 100 ? "0" + String(ms) : String(ms)
        return formatDate(year: y, month: m, day: d) + "T" + two(inDay / 3_600_000) + ":" + two(inDay / 60_000 % 60) + ":"
            + two(inDay / 1000 % 60) + "." + msText + "Z"
    }
}

/// A cursor over ASCII bytes for the fixed formats PostgreSQL prints.
struct ByteScanner {
    private let bytes: [UInt8]
    private var index = 0

    init(_ text: Substring) { bytes = Array(text.utf8) }

    var atEnd: Bool { index == bytes.count }

    mutating func skip(_ byte: UInt8) -> Bool {
        guard index < bytes.count, bytes[index] == byte else { return false }
        index += 1
        return true
    }

    mutating func digit() -> Int? {
        guard index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 else { return nil }
        defer { index += 1 }
        return Int(bytes[index] - 48)
    }

    mutating func digits(_ count: Int) -> Int? {
        var value = 0
        for _ in 0..<count {
            guard let d = digit() else { return nil }
            value = value * 10 + d
        }
        return value
    }

    mutating func sign() -> Int? {
        if skip(UInt8(ascii: "+")) { return 1 }
        if skip(UInt8(ascii: "-")) { return -1 }
        return nil
    }

    mutating func date() -> (year: Int, month: Int, day: Int)? {
        var year = 0
        var count = 0
        while let d = digit() {
            year = year * 10 + d
            count += 1
        }
        guard count >= 4, skip(UInt8(ascii: "-")), let month = digits(2), skip(UInt8(ascii: "-")),
            let day = digits(2), (1...12).contains(month), (1...31).contains(day)
        else { return nil }
        return (year, month, day)
    }
}
