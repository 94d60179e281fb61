/// Byte-level text helpers shared by the XLSX reader and writer.
enum XLSXText {
    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: byte - 0x30
        case 0x41...0x46: byte - 0x41 + 10
        case 0x61...0x66: byte - 0x61 + 10
        default: nil
        }
    }

    static func appendUTF8(_ scalar: UInt32, to out: inout [UInt8]) {
        switch scalar {
        case 0..<0x80:
            out.append(UInt8(scalar))
        case 0x80..<0x800:
            out.append(UInt8(0xC0 | (scalar >> 6)))
            out.append(UInt8(0x80 | (scalar & 0x3F)))
        case 0x800..<0x10000:
            out.append(UInt8(0xE0 | (scalar >> 12)))
            out.append(UInt8(0x80 | ((scalar >> 6) & 0x3F)))
            out.append(UInt8(0x80 | (scalar & 0x3F)))
        default:
            out.append(UInt8(0xF0 | (scalar >> 18)))
            out.append(UInt8(0x80 | ((scalar >> 12) & 0x3F)))
            out.append(UInt8(0x80 | ((scalar >> 6) & 0x3F)))
            out.append(UInt8(0x80 | (scalar & 0x3F)))
        }
    }

    /// CR LF → LF and lone CR → LF in `bytes[from...]` (XML end-of-line handling).
    static func normalizeLineEnds(_ bytes: inout [UInt8], from: Int) {
        var write = from
        var read = from
        let count = bytes.count
        while read < count {
            let byte = bytes[read]
            if byte == 0x0D {
                bytes[write] = 0x0A
                if read + 1 < count, bytes[read + 1] == 0x0A { read += 1 }
            } else {
                bytes[write] = byte
            }
            write += 1
            read += 1
        }
        bytes.removeLast(count - write)
    }

    /// Decodes OOXML `_xHHHH_` escapes (ST_Xstring) in `bytes[from...]`: `_x000D_` is a carriage
    /// return, `_x005F_` a literal underscore (so `_x005F_x000D_` reads `_x000D_`), surrogate pairs
    /// combine, a lone surrogate becomes U+FFFD.
    static func decodeEscapes(_ bytes: inout [UInt8], from: Int) {
        guard hasEscape(bytes, from: from) else { return }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count - from)
        var i = from
        let count = bytes.count
        var pendingHigh: UInt32?
        while i < count {
            if let unit = escapeUnit(bytes, at: i) {
                i += 7
                if let high = pendingHigh {
                    pendingHigh = nil
                    if (0xDC00...0xDFFF).contains(unit) {
                        appendUTF8(0x10000 + ((high - 0xD800) << 10) + (unit - 0xDC00), to: &out)
                        continue
                    }
                    appendUTF8(0xFFFD, to: &out)
                }
                if (0xD800...0xDBFF).contains(unit) {
                    pendingHigh = unit
                } else if (0xDC00...0xDFFF).contains(unit) {
                    appendUTF8(0xFFFD, to: &out)
                } else {
                    appendUTF8(unit, to: &out)
                }
                continue
            }
            if pendingHigh != nil {
                pendingHigh = nil
                appendUTF8(0xFFFD, to: &out)
            }
            out.append(bytes[i])
            i += 1
        }
        if pendingHigh != nil { appendUTF8(0xFFFD, to: &out) }
        bytes.removeLast(count - from)
        bytes.append(contentsOf: out)
    }

    private static func hasEscape(_ bytes: [UInt8], from: Int) -> Bool {
        var i = from
        let last = bytes.count - 7
        while i <= last {
            if bytes[i] == 0x5F, bytes[i + 1] == 0x78, escapeUnit(bytes, at: i) != nil { return true }
            i += 1
        }
        return false
    }

    private static func escapeUnit(_ bytes: [UInt8], at i: Int) -> UInt32? {
        guard i + 7 <= bytes.count, bytes[i] == 0x5F, bytes[i + 1] == 0x78, bytes[i + 6] == 0x5F,
              let a = hexValue(bytes[i + 2]), let b = hexValue(bytes[i + 3]),
              let c = hexValue(bytes[i + 4]), let d = hexValue(bytes[i + 5]) else { return nil }
        return UInt32(a) << 12 | UInt32(b) << 8 | UInt32(c) << 4 | UInt32(d)
    }

    /// Unicode scalars in UTF-8 bytes (bytes that do not continue a sequence).
    static func scalarCount(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        var count = 0
        for byte in bytes where byte & 0xC0 != 0x80 { count += 1 }
        return count
    }

    /// "A", "Z", "AA", ... for a 0-based column.
    static func columnName(_ index: Int) -> String {
        var n = index + 1
        var letters: [UInt8] = []
        while n > 0 {
            let remainder = (n - 1) % 26
            letters.append(UInt8(0x41 + remainder))
            n = (n - 1) / 26
        }
        return String(decoding: letters.reversed(), as: UTF8.self)
    }

    // MARK: - Writing

    /// Appends `text` escaped for XML element content or an attribute value. Characters XML 1.0
    /// cannot carry (controls other than TAB/LF) and a `_xHHHH_`-looking sequence are written as
    /// OOXML escapes so that they read back unchanged.
    static func appendEscaped(_ text: String, to out: inout [UInt8], attribute: Bool = false, ooxmlEscapes: Bool = true) {
        // Fast path: nothing to escape (no markup characters, controls or underscores).
        let plain = text.utf8.withContiguousStorageIfAvailable { bytes in
            for byte in bytes where byte < 0x20 || byte == 0x26 || byte == 0x3C || byte == 0x3E
                || byte == 0x22 || byte == 0x5F || byte == 0x7F {
                return false
            }
            out.append(contentsOf: bytes)
            return true
        }
        if plain == true { return }
        var utf8 = Array(text.utf8)
        if ooxmlEscapes { utf8 = escapeUnderscores(utf8) }
        for byte in utf8 {
            switch byte {
            case 0x26: out.append(contentsOf: [0x26, 0x61, 0x6D, 0x70, 0x3B])                 // &amp;
            case 0x3C: out.append(contentsOf: [0x26, 0x6C, 0x74, 0x3B])                       // &lt;
            case 0x3E: out.append(contentsOf: [0x26, 0x67, 0x74, 0x3B])                       // &gt;
            case 0x22 where attribute: out.append(contentsOf: [0x26, 0x71, 0x75, 0x6F, 0x74, 0x3B])
            case 0x0A where attribute: out.append(contentsOf: Array("&#10;".utf8))
            case 0x09, 0x0A:
                out.append(byte)
            case 0..<0x20, 0x7F:
                if ooxmlEscapes {
                    out.append(contentsOf: Array("_x00".utf8))
                    out.append(hexDigit(byte >> 4))
                    out.append(hexDigit(byte & 0xF))
                    out.append(0x5F)
                }
            default:
                out.append(byte)
            }
        }
    }

    /// `_x0041_` in plain text would read as "A": escape its underscore as `_x005F_`.
    private static func escapeUnderscores(_ bytes: [UInt8]) -> [UInt8] {
        guard hasEscape(bytes, from: 0) else { return bytes }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + 16)
        for index in bytes.indices {
            if escapeUnit(bytes, at: index) != nil {
                out.append(contentsOf: Array("_x005F_".utf8))
            } else {
                out.append(bytes[index])
            }
        }
        return out
    }

    private static func hexDigit(_ value: UInt8) -> UInt8 {
        value < 10 ? 0x30 + value : 0x41 + value - 10
    }
}
