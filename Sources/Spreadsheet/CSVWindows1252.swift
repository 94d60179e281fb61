/// Windows-1252 → UTF-8. 0xA0–0xFF are Latin-1; 0x80–0x9F are the Windows additions (€ ‚ ƒ „ …
/// † ‡ ˆ ‰ Š ‹ Œ Ž ‘ ’ “ ” • – — ˜ ™ š › œ ž Ÿ). The five bytes Windows leaves undefined (0x81 0x8D
/// 0x8F 0x90 0x9D) map to their C1 control code points, as the WHATWG Encoding Standard does: the
/// text stays lossless and those controls are easy to spot and reject downstream.
enum CSVWindows1252 {
    /// Code points of 0x80–0x9F.
    static let upperControls: [UInt32] = [
        0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
        0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008D, 0x017D, 0x008F,
        0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
        0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,
    ]

    /// UTF-8 of each byte 0x80–0xFF, packed: length in the low byte, then up to three bytes.
    static let utf8Table: [UInt32] = (0x80...0xFF).map { byte -> UInt32 in
        let scalar = byte < 0xA0 ? upperControls[byte - 0x80] : UInt32(byte)
        if scalar < 0x800 {
            return 2 | (0xC0 | scalar >> 6) << 8 | (0x80 | scalar & 0x3F) << 16
        }
        return 3 | (0xE0 | scalar >> 12) << 8 | (0x80 | scalar >> 6 & 0x3F) << 16 | (0x80 | scalar & 0x3F) << 24
    }

    /// Transcodes `input` into `output` (room for 3 bytes per input byte); returns the byte count.
    static func transcode(_ input: UnsafeBufferPointer<UInt8>, into output: UnsafeMutablePointer<UInt8>) -> Int {
        utf8Table.withUnsafeBufferPointer { table in
            var out = 0
            for byte in input {
                if byte < 0x80 {
                    output[out] = byte
                    out += 1
                } else {
                    let packed = table[Int(byte) - 0x80]
                    output[out] = UInt8(truncatingIfNeeded: packed >> 8)
                    output[out + 1] = UInt8(truncatingIfNeeded: packed >> 16)
                    if packed & 0xFF == 3 {
                        output[out + 2] = UInt8(truncatingIfNeeded: packed >> 24)
                        out += 3
                    } else {
                        out += 2
                    }
                }
            }
            return out
        }
    }
}

/// Spots text that was already mis-decoded before it reached us: UTF-8 read as Windows-1252 and
/// saved again, so `ñ` became `Ã±`, `é` `Ã©`, `Ñ` `Ã‘`, `º` `Âº`, `€` `â‚¬`, `’` `â€™`.
enum CSVMojibake {
    /// `utf8` is the cell's final UTF-8.
    static func appears(in utf8: UnsafeBufferPointer<UInt8>) -> Bool {
        let count = utf8.count
        guard count >= 4 else { return false }
        var index = 0
        while index + 3 < count {
            if utf8[index] == 0xC3 {
                let second = utf8[index + 1], third = utf8[index + 2], fourth = utf8[index + 3]
                switch second {
                case 0x83:
                    // Ã + what 1252 makes of a UTF-8 continuation byte (0x80–0xBF).
                    if third == 0xC2 && fourth >= 0x80 && fourth <= 0xBF { return true }
                    if third == 0xC5 || third == 0xC6 || third == 0xCB { return true }
                    if third == 0xE2 && (fourth == 0x80 || fourth == 0x82 || fourth == 0x84) { return true }
                case 0x82:
                    // Â + NBSP..¿ (UTF-8 C2 A0–C2 BF read as 1252).
                    if third == 0xC2 && fourth >= 0xA0 && fourth <= 0xBF { return true }
                case 0xA2:
                    // â + € or ‚ (UTF-8 E2 80/82 read as 1252).
                    if third == 0xE2 && index + 4 < count && utf8[index + 3] == 0x82 && utf8[index + 4] == 0xAC { return true }
                    if third == 0xE2 && index + 4 < count && utf8[index + 3] == 0x80 && utf8[index + 4] == 0x9A { return true }
                default:
                    break
                }
            }
            index += 1
        }
        return false
    }
}
