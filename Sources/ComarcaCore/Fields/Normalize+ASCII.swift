extension Normalize {
    /// The same rules as the normalisers, read byte by byte for the values imports meet by the
    /// million: ASCII text that passes. Each returns nil when it is not sure (any byte ≥ 0x80, a
    /// value the rule rejects, a rare form), and the general code decides, with its message.
    enum ASCIIFast {
        /// Trimmed, lower-cased, one '@' with text both sides, no spaces.
        static func email(_ raw: String) -> String? {
            withBytes(raw) { b in
                let (lo, hi) = trimmedBounds(b)
                guard lo < hi else { return nil }
                var at = -1
                var upper = false
                for i in lo..<hi {
                    let c = b[i]
                    if c >= 0x80 || isSpace(c) { return nil }
                    if c == UInt8(ascii: "@") {
                        guard at < 0 else { return nil }
                        at = i
                    } else if isUpper(c) {
                        upper = true
                    }
                }
                guard at > lo, at < hi - 1 else { return nil }
                if !upper, lo == 0, hi == b.count { return raw }
                return string(b, lo, hi) { isUpper($0) ? $0 + 32 : $0 }
            }
        }

        /// `Normalize.phone` with Spain as the default country, for numbers written with digits,
        /// spaces, dots, dashes, parentheses, slashes, TABs and a leading + (not Excel's
        /// `6.12345678E8` or `612345678.0`).
        static func spanishDefaultPhone(_ raw: String) -> String? {
            withBytes(raw) { b in
                let (lo, hi) = trimmedBounds(b)
                guard lo < hi else { return nil }
                // A spreadsheet number (`612345678.0`) is the general code's.
                if hi - lo >= 2, b[hi - 2] == UInt8(ascii: "."), b[hi - 1] == UInt8(ascii: "0"), (lo..<hi - 2).allSatisfy({ isDigit(b[$0]) }) {
                    return nil
                }
                return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: hi - lo) { digits -> String? in
                    var international = false
                    var i = lo
                    if b[i] == UInt8(ascii: "+") {
                        international = true
                        i += 1
                    }
                    var n = 0
                    while i < hi {
                        let c = b[i]
                        i += 1
                        if isDigit(c) {
                            digits[n] = c
                            n += 1
                        } else if c == 0x20 || c == 0x2E || c == 0x2D || c == 0x28 || c == 0x29 || c == 0x2F || c == 0x09 {
                            continue
                        } else {
                            return nil
                        }
                    }
                    var start = 0
                    if !international, n >= 2, digits[0] == 0x30, digits[1] == 0x30 {
                        international = true
                        start = 2
                    }
                    let count = n - start
                    let startsWith34 = count >= 2 && digits[start] == UInt8(ascii: "3") && digits[start + 1] == UInt8(ascii: "4")
                    if international {
                        if startsWith34 { return spanish(digits, from: start + 2, to: n) }
                        guard (8...15).contains(count), digits[start] != UInt8(ascii: "0") else { return nil }
                        return String(unsafeUninitializedCapacity: count + 1) { out in
                            out[0] = UInt8(ascii: "+")
                            for k in 0..<count { out[k + 1] = digits[start + k] }
                            return count + 1
                        }
                    }
                    if count == 11, startsWith34 { return spanish(digits, from: start + 2, to: n) }
                    return spanish(digits, from: start, to: n)
                }
            }
        }

        /// 9 digits starting 6–9 → `+34…`.
        private static func spanish(_ digits: UnsafeMutableBufferPointer<UInt8>, from: Int, to: Int) -> String? {
            guard to - from == 9, digits[from] >= UInt8(ascii: "6"), digits[from] <= UInt8(ascii: "9") else { return nil }
            return String(unsafeUninitializedCapacity: 12) { out in
                out[0] = UInt8(ascii: "+")
                out[1] = UInt8(ascii: "3")
                out[2] = UInt8(ascii: "4")
                for k in 0..<9 { out[3 + k] = digits[from + k] }
                return 12
            }
        }

        /// A DNI, NIE or CIF whose check character is right, upper case without separators.
        static func spanishTaxID(_ raw: String) -> String? {
            withBytes(raw) { b in
                withUnsafeTemporaryAllocation(of: UInt8.self, capacity: max(b.count, 1) + 1) { chars -> String? in
                    var n = 0
                    for byte in b {
                        guard byte < 0x80 else { return nil }
                        let c = isLower(byte) ? byte - 32 : byte
                        if c == 0x20 || c == 0x2E || c == 0x2D || c == 0x2F || c == 0x09 { continue }
                        guard isDigit(c) || isUpper(c) else { return nil }
                        chars[n] = c
                        n += 1
                    }
                    guard n > 0 else { return nil }
                    var start = 0
                    if n > 9, chars[0] == UInt8(ascii: "E"), chars[1] == UInt8(ascii: "S") { start = 2 }
                    var count = n - start
                    // A DNI whose leading zero was lost in a spreadsheet: 7 digits and a letter.
                    if count == 8, (start..<start + 7).allSatisfy({ isDigit(chars[$0]) }), isUpper(chars[start + 7]) {
                        if start > 0 {
                            start -= 1  // over the dropped ES
                        } else {
                            for k in stride(from: n, to: 0, by: -1) { chars[k] = chars[k - 1] }
                        }
                        chars[start] = UInt8(ascii: "0")
                        count = 9
                    }
                    guard count == 9 else { return nil }
                    let v = UnsafeMutableBufferPointer(rebasing: chars[start..<start + 9])
                    guard isValidTaxID(v) else { return nil }
                    return String(unsafeUninitializedCapacity: 9) { out in
                        for k in 0..<9 { out[k] = v[k] }
                        return 9
                    }
                }
            }
        }

        private static func isValidTaxID(_ v: UnsafeMutableBufferPointer<UInt8>) -> Bool {
            let first = v[0]
            let last = v[8]
            func number(_ range: Range<Int>) -> Int { range.reduce(0) { $0 * 10 + Int(v[$1] - 48) } }
            let middleDigits = (1..<8).allSatisfy { isDigit(v[$0]) }
            if isDigit(first) {
                guard middleDigits, isUpper(last) else { return false }
                return dniLetter(number(0..<8)) == last
            }
            if first == UInt8(ascii: "X") || first == UInt8(ascii: "Y") || first == UInt8(ascii: "Z") {
                guard middleDigits, isUpper(last) else { return false }
                let lead = Int(first - UInt8(ascii: "X"))
                return dniLetter(lead * 10_000_000 + number(1..<8)) == last
            }
            guard cifTypeLetters.utf8.contains(first), middleDigits else { return false }
            var sum = 0
            for index in 0..<7 {
                let digit = Int(v[1 + index] - 48)
                if index % 2 == 0 {
                    let doubled = digit * 2
                    sum += doubled / 10 + doubled % 10
                } else {
                    sum += digit
                }
            }
            let control = (10 - sum % 10) % 10
            let controlLetter = Array("JABCDEFGHI".utf8)[control]
            let controlDigit = UInt8(48 + control)
            if "NPQRSW".utf8.contains(first) { return last == controlLetter }
            if "ABEH".utf8.contains(first) { return last == controlDigit }
            return last == controlDigit || last == controlLetter
        }

        private static func dniLetter(_ number: Int) -> UInt8 {
            Array("TRWAGMYFPDXBNJZSQVHLCKE".utf8)[number % 23]
        }

        private static let cifTypeLetters = "ABCDEFGHJNPQRSUVW"

        /// 5 digits with a province prefix 01–52; 4 digits get their leading zero back.
        static func postalCode(_ raw: String) -> String? {
            withBytes(raw) { b in
                var (lo, hi) = trimmedBounds(b)
                if hi - lo > 2, b[hi - 2] == UInt8(ascii: "."), b[hi - 1] == UInt8(ascii: "0") { hi -= 2 }
                guard lo < hi, (lo..<hi).allSatisfy({ isDigit(b[$0]) }) else { return nil }
                let pad = hi - lo == 4
                guard pad || hi - lo == 5 else { return nil }
                let province = pad ? Int(b[lo] - 48) : Int(b[lo] - 48) * 10 + Int(b[lo + 1] - 48)
                guard (1...52).contains(province) else { return nil }
                if !pad, lo == 0, hi == b.count { return raw }
                return String(unsafeUninitializedCapacity: 5) { out in
                    var k = 0
                    if pad {
                        out[0] = UInt8(ascii: "0")
                        k = 1
                    }
                    for i in lo..<hi {
                        out[k] = b[i]
                        k += 1
                    }
                    return 5
                }
            }
        }

        /// Lower case with white space runs as one space and none at the ends (ASCII has no
        /// accents to fold).
        static func folded(_ text: String) -> String? {
            withBytes(text) { b in
                guard b.allSatisfy({ $0 < 0x80 }) else { return nil }
                return String(unsafeUninitializedCapacity: b.count) { out in
                    var n = 0
                    var pendingSpace = false
                    for c in b {
                        if isSpace(c) {
                            pendingSpace = n > 0
                            continue
                        }
                        if pendingSpace {
                            out[n] = 0x20
                            n += 1
                            pendingSpace = false
                        }
                        out[n] = isUpper(c) ? c + 32 : c
                        n += 1
                    }
                    return n
                }
            }
        }

        // MARK: - Bytes

        static func withBytes<R>(_ text: String, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
            if let result = text.utf8.withContiguousStorageIfAvailable(body) { return result }
            var copy = text
            return copy.withUTF8(body)
        }

        /// The bounds without ASCII white space at either end (what trimming does to ASCII text).
        static func trimmedBounds(_ b: UnsafeBufferPointer<UInt8>) -> (Int, Int) {
            var lo = 0
            var hi = b.count
            while lo < hi, isSpace(b[lo]) { lo += 1 }
            while hi > lo, isSpace(b[hi - 1]) { hi -= 1 }
            return (lo, hi)
        }

        /// ASCII white space: TAB, LF, VT, FF, CR and space.
        /// The decimal number the bytes `range` spell, nil for an empty range or a non-digit.
        static func number(_ b: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Int? {
            guard !range.isEmpty else { return nil }
            var value = 0
            for i in range {
                guard isDigit(b[i]) else { return nil }
                value = value * 10 + Int(b[i] - 48)
            }
            return value
        }

        @inline(__always) static func isSpace(_ c: UInt8) -> Bool { c == 0x20 || (c >= 0x09 && c <= 0x0D) }
        @inline(__always) static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
        @inline(__always) static func isUpper(_ c: UInt8) -> Bool { c >= 0x41 && c <= 0x5A }
        @inline(__always) static func isLower(_ c: UInt8) -> Bool { c >= 0x61 && c <= 0x7A }

        private static func string(_ b: UnsafeBufferPointer<UInt8>, _ lo: Int, _ hi: Int, _ map: (UInt8) -> UInt8) -> String {
            String(unsafeUninitializedCapacity: hi - lo) { out in
                for i in lo..<hi { out[i - lo] = map(b[i]) }
                return hi - lo
            }
        }
    }
}
