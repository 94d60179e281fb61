/// Value normalisers shared by every path that writes data (HTTP, CLI, import). Each one returns the
/// canonical form or throws `CoreError.invalid(field, …)` whose message names the rule that failed
/// and never repeats the value itself (a message may reach logs).
public enum Normalize {
    /// Trimmed, lower-cased, one '@' with text both sides, no spaces; else CoreError.invalid(field, …)
    /// The form an e-mail is looked up by (sign-in, tenant files): trimmed and lower-cased, no
    /// validation — an invalid address simply matches nothing.
    public static func emailKey(_ raw: String) -> String {
        trimmed(raw).lowercased()
    }

    public static func email(_ raw: String, field: String = "email") throws -> String {
        if let value = ASCIIFast.email(raw) { return value }
        return try emailByCharacter(raw, field: field)
    }

    static func emailByCharacter(_ raw: String, field: String) throws -> String {
        let value = trimmed(raw).lowercased()
        guard !value.isEmpty else { throw CoreError.invalid(field, "an email address is required") }
        let hasSpace = value.utf8.allSatisfy({ $0 < 0x80 })
            ? value.utf8.contains(where: { $0 == 0x20 || ($0 >= 0x09 && $0 <= 0x0D) })
            : value.unicodeScalars.contains(where: { $0.properties.isWhitespace })
        guard !hasSpace else {
            throw CoreError.invalid(field, "an email address cannot contain spaces")
        }
        let parts = value.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2 else {
            throw CoreError.invalid(field, "an email address needs exactly one '@'")
        }
        guard !parts[0].isEmpty, !parts[1].isEmpty else {
            throw CoreError.invalid(field, "an email address needs text before and after the '@'")
        }
        return value
    }

    /// E.164 (+34612345678). Accepts spaces, dots, dashes, parentheses, +34 / 0034 / 34 prefixes, and a
    /// number Excel turned into 6.12345678E8; Spanish numbers are 9 digits starting 6,7 (mobile) or 8,9.
    public static func phone(_ raw: String, defaultCountry: String = "ES", field: String = "phone") throws -> String {
        if defaultCountry == "ES", let value = ASCIIFast.spanishDefaultPhone(raw) { return value }
        return try phoneByCharacter(raw, defaultCountry: defaultCountry, field: field)
    }

    static func phoneByCharacter(_ raw: String, defaultCountry: String, field: String) throws -> String {
        let value = trimmed(raw)
        guard !value.isEmpty else { throw CoreError.invalid(field, "a phone number is required") }
        guard let callingCode = callingCodes[defaultCountry.uppercased()] else {
            throw CoreError.invalid(field, "unknown default country \(defaultCountry) for phone numbers")
        }

        var international = false
        var digits: String
        if let fromNumber = excelNumberDigits(value) {
            digits = fromNumber
        } else if isScientificNotation(value) {
            throw CoreError.invalid(field, "the number is in scientific notation (\(value)) and lacks digits, as Excel shortens long numbers; format the column as text, type the number in full and save again")
        } else {
            var rest = Substring(value)
            if rest.hasPrefix("+") {
                international = true
                rest = rest.dropFirst()
            }
            var collected = ""
            for ch in rest {
                if ch.isASCII, ch.isNumber {
                    collected.append(ch)
                } else if ch == " " || ch == "." || ch == "-" || ch == "(" || ch == ")" || ch == "/"
                    || ch == "\u{00A0}" || ch == "\t"
                {
                    continue
                } else {
                    throw CoreError.invalid(
                        field, "a phone number may contain only digits, spaces, dots, dashes, parentheses and a leading +")
                }
            }
            digits = collected
        }
        if !international, digits.hasPrefix("00") {
            international = true
            digits.removeFirst(2)
        }

        if international {
            if digits.hasPrefix("34") {
                return try spanish(String(digits.dropFirst(2)), field: field)
            }
            guard (8...15).contains(digits.count), digits.first != "0" else {
                throw CoreError.invalid(field, "an international phone number has 8 to 15 digits after the country code prefix")
            }
            return "+" + digits
        }
        if callingCode == "34" {
            if digits.count == 11, digits.hasPrefix("34") {
                return try spanish(String(digits.dropFirst(2)), field: field)
            }
            return try spanish(digits, field: field)
        }
        // Another default country: drop a national trunk 0, prefix its calling code.
        var national = Substring(digits)
        if national.hasPrefix("0") { national = national.dropFirst() }
        if national.hasPrefix(callingCode), national.count > 8 {
            national = national.dropFirst(callingCode.count)
        }
        let full = callingCode + national
        guard national.count >= 4, (8...15).contains(full.count) else {
            throw CoreError.invalid(field, "a phone number has 8 to 15 digits including the country code")
        }
        return "+" + full
    }

    /// DNI (8 digits + letter TRWAGMYFPDXBNJZSQVHLCKE[n mod 23]), NIE (X/Y/Z→0/1/2 + 7 digits + letter),
    /// CIF (letter + 7 digits + control digit or letter per type letter). Strips spaces, dots, dashes,
    /// an ES prefix; returns upper case without separators. A wrong check character is an error naming it.
    public static func spanishTaxID(_ raw: String, field: String = "taxId") throws -> String {
        if let value = ASCIIFast.spanishTaxID(raw) { return value }
        return try spanishTaxIDByCharacter(raw, field: field)
    }

    static func spanishTaxIDByCharacter(_ raw: String, field: String) throws -> String {
        var chars: [Character] = []
        for ch in raw.uppercased() {
            if ch == " " || ch == "." || ch == "-" || ch == "/" || ch == "\u{00A0}" || ch == "\t" { continue }
            guard ch.isASCII, ch.isLetter || ch.isNumber else {
                throw CoreError.invalid(field, "a tax id (NIF/NIE/CIF) contains only letters and digits")
            }
            chars.append(ch)
        }
        guard !chars.isEmpty else { throw CoreError.invalid(field, "a tax id (NIF/NIE/CIF) is required") }
        if chars.count > 9, chars[0] == "E", chars[1] == "S" { chars.removeFirst(2) }
        // A DNI whose leading zero was lost in a spreadsheet: 7 digits and a letter.
        if chars.count == 8, chars[0..<7].allSatisfy(\.isNumber), chars[7].isLetter { chars.insert("0", at: 0) }
        guard chars.count == 9 else {
            throw CoreError.invalid(field, "a tax id (NIF/NIE/CIF) has 9 characters: DNI 8 digits + letter, NIE X/Y/Z + 7 digits + letter, CIF letter + 7 digits + control")
        }
        let value = String(chars)
        let first = chars[0]
        let last = chars[8]
        let middle = chars[1..<8]

        if first.isNumber {
            guard chars[0..<8].allSatisfy(\.isNumber), last.isLetter else {
                throw CoreError.invalid(field, "a DNI is 8 digits followed by a letter")
            }
            let number = Int(String(chars[0..<8]))!
            try checkLetter(number: number, given: last, kind: "DNI", field: field)
            return value
        }
        if let prefix = "XYZ".firstIndex(of: first) {
            guard middle.allSatisfy(\.isNumber), last.isLetter else {
                throw CoreError.invalid(field, "a NIE is X, Y or Z, 7 digits and a letter")
            }
            let lead = "XYZ".distance(from: "XYZ".startIndex, to: prefix)
            let number = Int(String(lead) + String(middle))!
            try checkLetter(number: number, given: last, kind: "NIE", field: field)
            return value
        }
        guard cifTypeLetters.contains(first) else {
            throw CoreError.invalid(field, "a tax id starts with a digit (DNI), X/Y/Z (NIE) or a CIF type letter (\(cifTypeLetters.map(String.init).joined(separator: ", ")))")
        }
        guard middle.allSatisfy(\.isNumber), last.isNumber || last.isLetter else {
            throw CoreError.invalid(field, "a CIF is a type letter, 7 digits and a control digit or letter")
        }
        let digits = middle.map { Int(String($0))! }
        var sum = 0
        for (index, digit) in digits.enumerated() {
            if index % 2 == 0 {  // positions 1, 3, 5, 7: doubled, digits added
                let doubled = digit * 2
                sum += doubled / 10 + doubled % 10
            } else {
                sum += digit
            }
        }
        let control = (10 - sum % 10) % 10
        let controlLetter = Array("JABCDEFGHI")[control]
        let controlDigit = Character(String(control))
        if cifLetterControl.contains(first) {
            guard last == controlLetter else {
                throw CoreError.invalid(field, last.isNumber
                    ? "a CIF of type \(first) ends in a control letter, not the digit \(last)"
                    : "CIF control letter \(last) does not match its digits")
            }
        } else if cifDigitControl.contains(first) {
            guard last == controlDigit else {
                throw CoreError.invalid(field, last.isLetter
                    ? "a CIF of type \(first) ends in a control digit, not the letter \(last)"
                    : "CIF control digit \(last) does not match its digits")
            }
        } else {
            guard last == controlDigit || last == controlLetter else {
                throw CoreError.invalid(field, "CIF control character \(last) does not match its digits")
            }
        }
        return value
    }

    /// 5 digits, 01–52 province prefix; a 4-digit value gets its lost leading zero back.
    public static func postalCode(_ raw: String, field: String = "postalCode") throws -> String {
        if let value = ASCIIFast.postalCode(raw) { return value }
        return try postalCodeByCharacter(raw, field: field)
    }

    static func postalCodeByCharacter(_ raw: String, field: String) throws -> String {
        var value = trimmed(raw)
        if value.hasSuffix(".0"), value.count > 2 { value.removeLast(2) }  // a spreadsheet number
        guard !value.isEmpty else { throw CoreError.invalid(field, "a postal code is required") }
        guard value.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            throw CoreError.invalid(field, "a postal code is 5 digits")
        }
        if value.count == 4 { value = "0" + value }
        guard value.count == 5 else { throw CoreError.invalid(field, "a postal code is 5 digits") }
        let province = Int(value.prefix(2))!
        guard (1...52).contains(province) else {
            throw CoreError.invalid(field, "a postal code starts with a province number from 01 to 52")
        }
        return value
    }

    /// For search and matching: lower case, accents and ñ/ç folded (Muñoz → munoz), spaces collapsed.
    public static func folded(_ text: String) -> String {
        if let value = ASCIIFast.folded(text) { return value }
        return foldedByScalar(text)
    }

    static func foldedByScalar(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        var pendingSpace = false
        for scalar in text.lowercased().decomposedStringWithCanonicalMappingCompat.unicodeScalars {
            if scalar.properties.isWhitespace {
                pendingSpace = !out.isEmpty
                continue
            }
            switch scalar.properties.generalCategory {
            case .nonspacingMark, .spacingMark, .enclosingMark: continue
            default: break
            }
            if pendingSpace {
                out.append(" ")
                pendingSpace = false
            }
            out.append(scalar)
        }
        return String(out)
    }

    // MARK: - Helpers

    static let dniLetters = Array("TRWAGMYFPDXBNJZSQVHLCKE")
    static let cifTypeLetters = Array("ABCDEFGHJNPQRSUVW")
    /// Type letters whose control is always a letter (public bodies, non-residents, religious…).
    static let cifLetterControl: Set<Character> = ["N", "P", "Q", "R", "S", "W"]
    /// Type letters whose control is always a digit (companies, owners' communities).
    static let cifDigitControl: Set<Character> = ["A", "B", "E", "H"]

    /// Country calling codes for the default country of a national number.
    static let callingCodes: [String: String] = [
        "ES": "34", "PT": "351", "FR": "33", "AD": "376", "IT": "39", "DE": "49", "GB": "44",
        "IE": "353", "NL": "31", "BE": "32", "CH": "41", "US": "1", "MA": "212", "MX": "52",
    ]

    static func trimmed(_ raw: String) -> String {
        // Most values have no surrounding space: a visible ASCII byte at both ends settles it.
        guard let first = raw.utf8.first, let last = raw.utf8.last else { return raw }
        if (0x21...0x7E).contains(first), (0x21...0x7E).contains(last) {
            return raw
        }
        // Otherwise the end scalars decide (Álvaro, José): only white space goes.
        if !raw.unicodeScalars.first!.properties.isWhitespace, !raw.unicodeScalars.last!.properties.isWhitespace {
            return raw
        }
        return trimmedByScalar(raw)
    }

    static func trimmedByScalar(_ raw: String) -> String {
        var scalars = Substring(raw).unicodeScalars[...]
        while let f = scalars.first, f.properties.isWhitespace { scalars.removeFirst() }
        while let l = scalars.last, l.properties.isWhitespace { scalars.removeLast() }
        return String(String.UnicodeScalarView(scalars))
    }

    private static func checkLetter(number: Int, given: Character, kind: String, field: String) throws {
        let expected = dniLetters[number % 23]
        guard given == expected else {
            throw CoreError.invalid(field, "\(kind) check letter \(given) does not match its number")
        }
    }

    private static func spanish(_ national: String, field: String) throws -> String {
        guard national.count == 9, let first = national.first, "6789".contains(first) else {
            throw CoreError.invalid(
                field, "a Spanish phone number has 9 digits starting with 6 or 7 (mobile) or 8 or 9 (landline)")
        }
        return "+34" + national
    }

    /// Whether `text` is a number in scientific notation whose digits are fewer than its value
    /// needs: `6,12346E+08` stands for a 9-digit number but holds 6 digits (Excel, or LibreOffice
    /// in es-ES, writes a number so when its column shows it so), `1.234567890123457e+19` for a
    /// 20-digit one. Expanding it would invent the missing digits as zeros. `6,12345678E+08` has
    /// every digit and is not shortened. With `signedExponent`, only the way spreadsheets write
    /// the exponent (`E+08`, a sign) counts, so a code like `3E10` is left alone.
    public static func isShortenedNumber(_ text: String, signedExponent: Bool) -> Bool {
        var bytes = Array(text.utf8)[...]
        while let first = bytes.first, first == 0x20 || first == 0x09 { bytes = bytes.dropFirst() }
        while let last = bytes.last, last == 0x20 || last == 0x09 { bytes = bytes.dropLast() }
        if let first = bytes.first, first == UInt8(ascii: "+") || first == UInt8(ascii: "-") { bytes = bytes.dropFirst() }
        func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }
        var i = bytes.startIndex
        var integerDigits = 0
        while i < bytes.endIndex, isDigit(bytes[i]) { integerDigits += 1; i += 1 }
        guard integerDigits > 0, i < bytes.endIndex else { return false }
        var fractionDigits = 0
        if bytes[i] == UInt8(ascii: ".") || bytes[i] == UInt8(ascii: ",") {
            i += 1
            while i < bytes.endIndex, isDigit(bytes[i]) { fractionDigits += 1; i += 1 }
        }
        guard i < bytes.endIndex, bytes[i] | 0x20 == UInt8(ascii: "e") else { return false }
        i += 1
        guard i < bytes.endIndex else { return false }
        if bytes[i] == UInt8(ascii: "-") { return false }  // a fraction, not a shortened whole number
        if bytes[i] == UInt8(ascii: "+") {
            i += 1
        } else if signedExponent {
            return false
        }
        var exponent = 0
        var exponentDigits = 0
        while i < bytes.endIndex, isDigit(bytes[i]), exponentDigits < 4 {
            exponent = exponent * 10 + Int(bytes[i] - 0x30)
            exponentDigits += 1
            i += 1
        }
        guard exponentDigits > 0, i == bytes.endIndex else { return false }
        return exponent > fractionDigits
    }

    /// Digits of a whole number written as a spreadsheet would: `6.12345678E8`, `6,12345678E+08`,
    /// `612345678.0`. Nil when `text` is not such a number (then the ordinary rules apply).
    /// `9.1E8`, `6,12346E+08`: digits, an optional decimal part, an exponent.
    static func isScientificNotation(_ text: String) -> Bool {
        let parts = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "E" || $0 == "e" })
        guard parts.count == 2 else { return false }
        let mantissa = parts[0].split(omittingEmptySubsequences: false, whereSeparator: { $0 == "." || $0 == "," })
        let exponent = parts[1].first == "+" || parts[1].first == "-" ? parts[1].dropFirst() : parts[1]
        let isDigits: (Substring) -> Bool = { !$0.isEmpty && $0.allSatisfy { $0.isASCII && $0.isNumber } }
        return (1...2).contains(mantissa.count) && mantissa.allSatisfy(isDigits) && isDigits(exponent)
    }

    static func excelNumberDigits(_ text: String) -> String? {
        let upper = text.uppercased()
        var mantissa = Substring(upper)
        var exponent = 0
        if let e = upper.firstIndex(of: "E") {
            mantissa = upper[..<e]
            var exp = upper[upper.index(after: e)...]
            var negative = false
            if exp.hasPrefix("+") { exp = exp.dropFirst() } else if exp.hasPrefix("-") { exp = exp.dropFirst(); negative = true }
            guard !exp.isEmpty, exp.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int(exp), n <= 20 else { return nil }
            exponent = negative ? -n : n
        } else if !(upper.hasSuffix(".0") && upper.dropLast(2).allSatisfy({ $0.isASCII && $0.isNumber })) {
            return nil
        }
        let parts = mantissa.split(separator: mantissa.contains(",") ? "," : ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count),
            parts.allSatisfy({ $0.allSatisfy { $0.isASCII && $0.isNumber } }), !parts[0].isEmpty
        else { return nil }
        var intPart = String(parts[0])
        var fraction = parts.count == 2 ? String(parts[1]) : ""
        // Every digit must be in the text: 9.1E8 could be any of 910 000 000…919 999 999, and
        // padding it with zeros would store digits nobody wrote.
        while exponent > 0 {
            guard !fraction.isEmpty else { return nil }
            intPart.append(fraction.removeFirst())
            exponent -= 1
        }
        guard exponent == 0, fraction.allSatisfy({ $0 == "0" }) else { return nil }
        while intPart.count > 1, intPart.hasPrefix("0") { intPart.removeFirst() }
        return intPart
    }
}

extension String {
    /// Canonical decomposition (NFD) without Foundation: é → e + U+0301, ñ → n + U+0303.
    fileprivate var decomposedStringWithCanonicalMappingCompat: String {
        var out = String.UnicodeScalarView()
        for scalar in unicodeScalars {
            Self.decompose(scalar, into: &out)
        }
        return String(out)
    }

    private static func decompose(_ scalar: Unicode.Scalar, into out: inout String.UnicodeScalarView) {
        // Character-level NFD is not in the standard library on every platform; Latin letters with
        // diacritics are what matters for Spanish and nearby languages.
        if let base = latinBase[scalar] {
            out.append(contentsOf: base.unicodeScalars)
        } else {
            out.append(scalar)
        }
    }

    private static let latinBase: [Unicode.Scalar: String] = {
        let table: [(String, String)] = [
            ("àáâãäåāăą", "a"), ("çćĉċč", "c"), ("ďđ", "d"), ("èéêëēĕėęě", "e"), ("ĝğġģ", "g"),
            ("ĥħ", "h"), ("ìíîïĩīĭįı", "i"), ("ĵ", "j"), ("ķ", "k"), ("ĺļľŀł", "l"), ("ñńņňŉ", "n"),
            ("òóôõöøōŏő", "o"), ("ŕŗř", "r"), ("śŝşšș", "s"), ("ţťŧț", "t"), ("ùúûüũūŭůűų", "u"),
            ("ŵ", "w"), ("ýÿŷ", "y"), ("źżž", "z"), ("ª", "a"), ("º", "o"),
        ]
        var map: [Unicode.Scalar: String] = [:]
        for (letters, base) in table {
            for s in letters.unicodeScalars { map[s] = base }
        }
        map["æ"] = "ae"; map["œ"] = "oe"; map["ß"] = "ss"
        return map
    }()
}
