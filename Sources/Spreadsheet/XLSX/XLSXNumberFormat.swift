/// What a number format makes of a number: a plain number, a date (possibly with a time), or a
/// time of day / elapsed time with no date part.
enum XLSXNumberFormat: UInt8, Sendable {
    case number = 0
    case date = 1
    case time = 2

    /// Built-in format ids (ECMA-376 §18.8.30 plus the East Asian ones Excel uses).
    static func builtIn(_ id: Int) -> XLSXNumberFormat {
        switch id {
        case 14...17, 22, 27...31, 34...36, 50...54, 57, 58: .date
        case 18...21, 32, 33, 45...47, 55, 56: .time
        default: .number
        }
    }

    /// Classifies a format code: date when it has d/m/y/h/s tokens outside quoted text, `[...]`
    /// brackets (colours, locales, conditions) and escapes (`\x`, `_x`, `*x`); `[h]`, `[mm]`, `[ss]`
    /// elapsed-time brackets count as time; `AM/PM` and `A/P` too. Time-only when no d/y token and
    /// the m's are minutes (next to h or s).
    static func classify(_ code: String) -> XLSXNumberFormat {
        let bytes = Array(code.utf8)
        var hasDate = false
        var hasTime = false
        var hasM = false
        var i = 0
        while i < bytes.count {
            let byte = bytes[i]
            switch byte {
            case UInt8(ascii: "\""):
                i += 1
                while i < bytes.count, bytes[i] != UInt8(ascii: "\"") { i += 1 }
            case UInt8(ascii: "\\"), UInt8(ascii: "_"), UInt8(ascii: "*"):
                i += 1
                // skip the escaped / padding / fill character (a whole UTF-8 sequence)
                while i + 1 < bytes.count, bytes[i + 1] & 0xC0 == 0x80 { i += 1 }
            case UInt8(ascii: "["):
                var j = i + 1
                while j < bytes.count, bytes[j] != UInt8(ascii: "]") { j += 1 }
                let inner = bytes[min(i + 1, bytes.count)..<min(j, bytes.count)].map { $0 | 0x20 }
                if let first = inner.first, [UInt8(ascii: "h"), UInt8(ascii: "m"), UInt8(ascii: "s")].contains(first),
                   inner.allSatisfy({ $0 == first }) {
                    hasTime = true
                }
                i = j
            default:
                let lower = byte | 0x20
                if lower == UInt8(ascii: "a"), matchesAMPM(bytes, at: i) {
                    hasTime = true
                    i += bytes[i + 1] == UInt8(ascii: "/") ? 2 : 4
                } else if lower == UInt8(ascii: "d") || lower == UInt8(ascii: "y") {
                    if isLetter(byte) { hasDate = true }
                } else if lower == UInt8(ascii: "h") || lower == UInt8(ascii: "s") {
                    if isLetter(byte) { hasTime = true }
                } else if lower == UInt8(ascii: "m"), isLetter(byte) {
                    hasM = true
                } else if byte == UInt8(ascii: "g") || byte == UInt8(ascii: "G") {
                    // "General" has no date letters; skip the word so its 'e', 'r', 'l' never matter.
                    if matchesWord(bytes, at: i, "general") { i += 6 }
                }
            }
            i += 1
        }
        if hasDate { return .date }
        if hasTime { return .time }
        if hasM { return .date }
        return .number
    }

    private static func isLetter(_ byte: UInt8) -> Bool {
        (byte | 0x20) >= UInt8(ascii: "a") && (byte | 0x20) <= UInt8(ascii: "z")
    }

    private static func matchesAMPM(_ bytes: [UInt8], at i: Int) -> Bool {
        matchesWord(bytes, at: i, "am/pm") || matchesWord(bytes, at: i, "a/p")
    }

    private static func matchesWord(_ bytes: [UInt8], at i: Int, _ word: String) -> Bool {
        let lower = Array(word.utf8)
        guard i + lower.count <= bytes.count else { return false }
        for (offset, byte) in lower.enumerated() where bytes[i + offset] | 0x20 != byte | 0x20 {
            return false
        }
        return true
    }
}
