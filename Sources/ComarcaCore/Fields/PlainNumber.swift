/// A number as `FieldSpecSet.decimal(_:field:)` reads text (spaces and TABs dropped; with a
/// comma, dots are thousands separators and the comma is the decimal mark), for ASCII text of at
/// most 18 significant digits: exact in a UInt64, so no Decimal or formatter is needed to know
/// its value, its decimals or its plain notation. Nil for anything else (the general code
/// decides, with its message).
struct PlainNumber: Equatable {
    var negative: Bool
    /// The digits without leading zeros or trailing fraction zeros.
    var digits: UInt64
    /// Digits after the decimal point in `digits`.
    var scale: Int

    init?(_ text: String) {
        var parsed: PlainNumber?
        Normalize.ASCIIFast.withBytes(text) { b in
            var hasComma = false
            for c in b {
                guard c < 0x80 else { return }  // NBSP, €: the general code's
                if c == UInt8(ascii: ",") { hasComma = true }
            }
            var negative = false
            var first = true
            var digits: UInt64 = 0
            var significant = 0
            var scale = 0
            var sawDigit = false
            var sawDot = false
            for byte in b {
                var c = byte
                if c == 0x20 || c == 0x09 { continue }
                if c == UInt8(ascii: ".") && hasComma { continue }
                if c == UInt8(ascii: ",") { c = UInt8(ascii: ".") }
                defer { first = false }
                if first, c == UInt8(ascii: "+") || c == UInt8(ascii: "-") {
                    negative = c == UInt8(ascii: "-")
                    continue
                }
                if c == UInt8(ascii: ".") {
                    guard !sawDot else { return }
                    sawDot = true
                    continue
                }
                guard c >= 0x30, c <= 0x39 else { return }
                sawDigit = true
                if sawDot { scale += 1 }
                if digits == 0, c == 0x30 { continue }  // leading zeros
                significant += 1
                digits = digits * 10 + UInt64(c - 0x30)
            }
            guard sawDigit, significant <= 18, scale <= 18 else { return }
            while scale > 0, digits % 10 == 0, digits > 0 {
                digits /= 10
                scale -= 1
            }
            if digits == 0 { scale = 0 }
            parsed = PlainNumber(negative: negative, digits: digits, scale: scale)
        }
        guard let parsed else { return nil }
        self = parsed
    }

    init(negative: Bool, digits: UInt64, scale: Int) {
        self.negative = negative
        self.digits = digits
        self.scale = scale
    }

    /// Plain notation as NSDecimalNumber writes it: `-1234.5`, `0.05`, `0`.
    var text: String {
        // Digits from the last: at most 19 significant ones and 18 zeros after the point.
        let sign = negative && digits != 0 ? 1 : 0
        var count = 0
        var rest = digits
        repeat {
            count += 1
            rest /= 10
        } while rest > 0
        let integerDigits = max(count - scale, 1)
        let length = sign + integerDigits + (scale > 0 ? 1 + scale : 0)
        return String(unsafeUninitializedCapacity: length) { out in
            var rest = digits
            var i = length - 1
            for _ in 0..<scale {
                out[i] = UInt8(truncatingIfNeeded: rest % 10) + 0x30
                rest /= 10
                i -= 1
            }
            if scale > 0 {
                out[i] = UInt8(ascii: ".")
                i -= 1
            }
            for _ in 0..<integerDigits {
                out[i] = UInt8(truncatingIfNeeded: rest % 10) + 0x30
                rest /= 10
                i -= 1
            }
            if sign == 1 { out[0] = UInt8(ascii: "-") }
            return length
        }
    }
}
