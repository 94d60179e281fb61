public import Foundation
import PGClient

/// RFC 3339 timestamps as callers write them, in bodies (`dueAt`) and filters (`updatedSince`).
public enum Timestamps {
    static let message = "must be an RFC 3339 timestamp between years 0001 and 9999, e.g. 2025-03-01T09:30:00Z"

    /// The instant, or `invalidInput` on `field`. Decided here rather than by PostgreSQL, so
    /// `0000-01-01T00:00:00Z` or `2024-02-30T…` is the caller's mistake, not a data exception.
    public static func parse(_ text: String, field: String) throws -> Date {
        guard let date = date(from: text) else { throw CoreError.invalid(field, message) }
        return date
    }

    /// `YYYY-MM-DDTHH:MM:SS[.ffffff](Z|±HH:MM)` with every field in range (no 30 February, no
    /// hour 24), at most microseconds (PostgreSQL's resolution: more would be rounded away).
    /// Computed on the proleptic Gregorian calendar, as PostgreSQL counts days, not through
    /// Foundation's calendar, which switches to Julian dates before 1582.
    public static func date(from text: String) -> Date? {
        let b = Array(text.utf8)
        guard (20...32).contains(b.count) else { return nil }
        func number(_ from: Int, _ count: Int) -> Int? {
            guard from + count <= b.count else { return nil }
            var value = 0
            for byte in b[from..<(from + count)] {
                guard (48...57).contains(byte) else { return nil }
                value = value * 10 + Int(byte - 48)
            }
            return value
        }
        func at(_ index: Int, _ allowed: String) -> Bool { index < b.count && allowed.utf8.contains(b[index]) }
        guard let year = number(0, 4), at(4, "-"), let month = number(5, 2), at(7, "-"), let day = number(8, 2),
              at(10, "Tt "), let hour = number(11, 2), at(13, ":"), let minute = number(14, 2), at(16, ":"),
              let second = number(17, 2) else { return nil }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let monthDays = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        guard (1...9999).contains(year), (1...12).contains(month), (1...monthDays[month - 1]).contains(day),
              hour < 24, minute < 60, second < 60 else { return nil }
        var index = 19
        var micros = 0
        if at(index, ".") {
            index += 1
            var digits = 0
            while index < b.count, (48...57).contains(b[index]) {
                guard digits < 6 else { return nil }
                micros = micros * 10 + Int(b[index] - 48)
                digits += 1
                index += 1
            }
            guard digits > 0 else { return nil }
            for _ in digits..<6 { micros *= 10 }
        }
        var offset = 0
        if at(index, "Zz"), index + 1 == b.count {
            offset = 0
        } else if at(index, "+-"), index + 6 == b.count, let h = number(index + 1, 2), at(index + 3, ":"), let m = number(index + 4, 2), h < 24, m < 60 {
            offset = (h * 3600 + m * 60) * (b[index] == UInt8(ascii: "-") ? -1 : 1)
        } else {
            return nil
        }
        let seconds = CivilTime.days(year: year, month: month, day: day) * 86_400 + hour * 3600 + minute * 60 + second - offset
        return Date(timeIntervalSince1970: Double(seconds) + Double(micros) / 1_000_000)
    }
}
