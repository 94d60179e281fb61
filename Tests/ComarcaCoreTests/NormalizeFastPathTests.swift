@testable import ComarcaCore
import Foundation
import PGClient
import Testing

/// The byte-by-byte readings of ASCII values (Normalize.ASCIIFast) against the general rules
/// they stand in for: over generated values, whatever the fast path returns is what the general
/// rule returns.
@Suite("normaliser fast paths agree with the general rules")
struct NormalizeFastPathTests {
    /// Deterministic random texts over `alphabet`, up to `length` characters, plus `extra`.
    static func corpus(_ alphabet: [String], length: Int, count: Int = 20_000, seed: UInt64, extra: [String] = []) -> [String] {
        var generator = SeededGenerator(seed: seed)
        var texts = extra
        for _ in 0..<count {
            let n = Int.random(in: 0...length, using: &generator)
            texts.append((0..<n).map { _ in alphabet.randomElement(using: &generator)! }.joined())
        }
        return texts
    }

    static let digits = (0...9).map(String.init)

    @Test("an ASCII e-mail the fast path accepts is what the general rule returns")
    func email() {
        let parts = Self.corpus(["a", "B", "z", ".", " ", "\t", "é", "-", "1"], length: 5, count: 4_000, seed: 13)
        var texts = Self.corpus(["a", "B", "z", "@", ".", " ", "\t", "\n", "é", "\u{A0}", "-", "1"], length: 8, seed: 1,
                                extra: ["Ana@Acme.ES", " ana@acme.es ", "a@b", "@b", "a@", "a@@b", "a b@c", "\u{1C}a@b"])
        for (i, local) in parts.enumerated() { texts.append(local + "@" + parts[(i * 7) % parts.count]) }
        var fast = 0
        for text in texts {
            guard let value = Normalize.ASCIIFast.email(text) else { continue }
            fast += 1
            #expect(value == (try? Normalize.emailByCharacter(text, field: "email")), "\(text.debugDescription)")
        }
        #expect(fast > 500)
    }

    @Test("an ASCII phone the fast path reads is what the general rule returns with Spain as default")
    func phone() {
        let texts = Self.corpus(Self.digits + ["6", "9", "3", "4", "0", "+", " ", ".", "-", "(", ")", "/", "\t", "E", "e", ",", "x", "\u{A0}"],
                                length: 16, count: 60_000, seed: 2,
                                extra: ["612345678", "+34 612 345 678", "0034612345678", "34612345678", "612345678.0", "6.12345678E8",
                                        "+44 20 7946 0958", "00447946095812", "+0123456789", "(91) 123-45-67", " 912345678 ", ".0", "+"])
            + Self.corpus(["6", "7", "9", "0", "1", "3", "4", " "], length: 3, count: 2_000, seed: 14).flatMap { prefix in
                ["", "+", "00", "+34", "34", "0034 "].map { $0 + prefix + "12345678".prefix(prefix.count % 9) + " 678" }
            }
        var fast = 0
        for text in texts {
            guard let value = Normalize.ASCIIFast.spanishDefaultPhone(text) else { continue }
            fast += 1
            #expect(value == (try? Normalize.phoneByCharacter(text, defaultCountry: "ES", field: "phone")), "\(text.debugDescription)")
        }
        #expect(fast > 500)
    }

    @Test("a tax id the fast path accepts is what the general rule returns")
    func taxID() {
        var texts = ["12345678Z", "1234567L", "es12345678z", "X1234567L", "Y1234567X", "Z1234567R", "B12345674", "A58818501",
                     "Q2826000H", "N0032484H", "ES1234567L", "ESB12345674", "b-1234567-4", "12.345.678-Z", "ß1234567"]
        var generator = SeededGenerator(seed: 3)
        let letters = Array("TRWAGMYFPDXBNJZSQVHLCKE")
        for n in 0..<20_000 {
            let number = Int.random(in: 0...99_999_999, using: &generator)
            let dni = String(format: "%08d", number) + String(letters[number % 23])
            texts.append(n % 3 == 0 ? dni.lowercased() : n % 3 == 1 ? "ES" + dni : dni)
            let cif = String("ABCDEFGHJNPQRSUVW".randomElement(using: &generator)!) + String(format: "%07d", number % 10_000_000)
            texts.append(cif + String("0123456789JABCDEFGHI".randomElement(using: &generator)!))
            let nie = String("XYZ".randomElement(using: &generator)!) + String(format: "%07d", number % 10_000_000)
            texts.append(nie + String(letters.randomElement(using: &generator)!))
        }
        texts += Self.corpus(Self.digits + ["X", "E", "S", "B", " ", ".", "-", "/", "\t", "a"], length: 12, seed: 4)
        var fast = 0
        for text in texts {
            guard let value = Normalize.ASCIIFast.spanishTaxID(text) else { continue }
            fast += 1
            #expect(value == (try? Normalize.spanishTaxIDByCharacter(text, field: "taxId")), "\(text.debugDescription)")
        }
        #expect(fast > 5_000)
    }

    @Test("a postal code the fast path accepts is what the general rule returns")
    func postalCode() {
        let texts = Self.corpus(Self.digits + ["0", ".", " ", "\t", "a", "\u{A0}"], length: 8, count: 40_000, seed: 5,
                                extra: ["08001", "8001", "08001.0", "8001.0", "53000", "00000", ".0", "1.0"])
        var fast = 0
        for text in texts {
            guard let value = Normalize.ASCIIFast.postalCode(text) else { continue }
            fast += 1
            #expect(value == (try? Normalize.postalCodeByCharacter(text, field: "postalCode")), "\(text.debugDescription)")
        }
        #expect(fast > 500)
    }

    @Test("folding ASCII text gives what folding by scalar gives")
    func folded() {
        let texts = Self.corpus(["A", "b", " ", "  ", "\t", "\n", "\u{0B}", "\u{1C}", "-", "1", "é", "Ñ"], length: 10, seed: 6)
        var fast = 0
        for text in texts {
            guard let value = Normalize.ASCIIFast.folded(text) else { continue }
            fast += 1
            #expect(value == Normalize.foldedByScalar(text), "\(text.debugDescription)")
        }
        #expect(fast > 1_000)
    }

    @Test("trimming keeps texts whose end characters are not white space and trims the others as before")
    func trimmed() {
        let texts = Self.corpus(["a", "é", " ", "\u{A0}", "\u{2029}", "\u{3000}", "\u{301}", "ñ", "\t", "😀"], length: 6, seed: 7)
        for text in texts {
            #expect(Normalize.trimmed(text) == Normalize.trimmedByScalar(text), "\(text.debugDescription)")
        }
    }

    @Test("a plain number's text is NSDecimalNumber's plain notation of the Decimal the general reading makes")
    func plainNumberText() throws {
        let texts = Self.corpus(Self.digits + ["0", "0", ".", ",", "-", "+", " ", "\t", "e", "€"], length: 14, count: 60_000, seed: 8,
                                extra: ["10.313,25", "-0", "-0,00", ".5", "5.", "+.5", "1.234.567", "0,001", "007", "123456789012345678",
                                        "1234567890123456789", "0.000000000000000001"])
        var fast = 0
        for text in texts {
            guard let number = PlainNumber(text) else { continue }
            fast += 1
            let decimal = try #require(try? FieldSpecSet.decimal(.string(text), field: "n"), "\(text.debugDescription)")
            #expect(number.text == NSDecimalNumber(decimal: decimal).stringValue, "\(text.debugDescription)")
            #expect((number.scale == 0) == (FieldSpecSet.decimalPlaces(decimal) == 0), "\(text.debugDescription)")
        }
        #expect(fast > 5_000)
    }

    @Test("integer, decimal and money values normalise as the Decimal reading did")
    func numbersNormalise() throws {
        let texts = Self.corpus(Self.digits + [".", ",", "-", " "], length: 18, count: 20_000, seed: 9)
        for text in texts {
            for type in [FieldType.integer, .decimal, .money] {
                let spec = FieldSpec(key: "n", label: FieldLabel(es: "N"), type: type)
                let value = try? FieldSpecSet.normalize(.string(text), spec: spec, field: "n")
                let expected = try? Self.numberByDecimal(text, type: type)
                #expect(value == expected, "\(type) \(text.debugDescription)")
                if case .number(let number) = value, case .number(let reference) = expected {
                    #expect(number.description == reference.description)
                }
            }
        }
    }

    /// The reading before the fast path: Decimal, then NSDecimalNumber's plain notation.
    static func numberByDecimal(_ text: String, type: FieldType) throws -> FieldValue {
        if FieldValue.string(text).isEmpty { return .null }
        let number = try FieldSpecSet.decimal(.string(text), field: "n")
        switch type {
        case .integer:
            guard FieldSpecSet.decimalPlaces(number) == 0, abs(number) < FieldSpecSet.integerLimit else {
                throw CoreError.invalid("n", "an integer has no decimals")
            }
            return .number(number)
        default:
            let plain = NSDecimalNumber(decimal: number).stringValue
            if type == .money, FieldSpecSet.decimalPlaces(plain) > 2 { throw CoreError.invalid("n", "money") }
            return .string(plain)
        }
    }

    @Test("a whole Decimal is written in JSON as its description")
    func decimalJSON() {
        var generator = SeededGenerator(seed: 10)
        var values: [Decimal] = [0, -1, 1e15, Decimal(string: "383.0")!, Decimal(string: "1e30")!, Decimal(string: "-2.5")!, .nan]
        for _ in 0..<5_000 {
            let mantissa = Int.random(in: -1_000_000_000...1_000_000_000, using: &generator)
            let exponent = Int.random(in: -4...4, using: &generator)
            values.append(Decimal(sign: mantissa < 0 ? .minus : .plus, exponent: exponent, significand: Decimal(mantissa.magnitude)))
        }
        for value in values {
            #expect(FieldValue.number(value).jsonText == value.description, "\(value)")
        }
    }

    @Test("dates read by hand are the dates the split reading gave")
    func dates() {
        let texts = Self.corpus(Self.digits + ["-", "/", " ", "0", "1", "2"], length: 11, count: 60_000, seed: 11,
                                extra: ["2024-02-29", "2023-02-29", "29/02/2024", "1/2/2024", "01/02/0999", "2024-1-02", " 2024-01-02 "])
        for text in texts {
            let value = try? FieldSpecSet.date(text, field: "d")
            #expect(value == Self.dateBySplitting(text), "\(text.debugDescription)")
        }
    }

    /// The reading before: split at dashes or slashes.
    static func dateBySplitting(_ text: String) -> String? {
        let t = Array(Normalize.trimmed(text).utf8)
        func number(_ slice: ArraySlice<UInt8>) -> Int? {
            guard !slice.isEmpty, slice.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
            return slice.reduce(0) { $0 * 10 + Int($1 - 48) }
        }
        var parts: [Int]?
        let dashes = t.split(separator: UInt8(ascii: "-"), omittingEmptySubsequences: false)
        let slashes = t.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        if dashes.count == 3, dashes[0].count == 4, dashes[1].count == 2, dashes[2].count == 2,
            let y = number(dashes[0]), let m = number(dashes[1]), let d = number(dashes[2])
        {
            parts = [y, m, d]
        } else if slashes.count == 3, (1...2).contains(slashes[0].count), (1...2).contains(slashes[1].count), slashes[2].count == 4,
            let d = number(slashes[0]), let m = number(slashes[1]), let y = number(slashes[2])
        {
            parts = [y, m, d]
        }
        guard let p = parts, FieldSpecSet.isRealDate(year: p[0], month: p[1], day: p[2]) else { return nil }
        return CivilTime.formatDate(year: p[0], month: p[1], day: p[2])
    }

    @Test("a UTC timestamp with zero or no milliseconds is what the ISO 8601 formatter writes back")
    func utcTimestamps() throws {
        var generator = SeededGenerator(seed: 12)
        var texts = ["2024-02-29T23:59:59Z", "1600-01-01T00:00:00.000Z", "9999-12-31T23:59:59Z", "2024-08-08T10:30:00.000Z"]
        for _ in 0..<3_000 {
            let year = Int.random(in: 1600...9999, using: &generator), month = Int.random(in: 1...12, using: &generator)
            let day = Int.random(in: 1...28, using: &generator), hour = Int.random(in: 0...23, using: &generator)
            let minute = Int.random(in: 0...59, using: &generator), second = Int.random(in: 0...59, using: &generator)
            let base = String(format: "%04d-%02d-%02dT%02d:%02d:%02d", year, month, day, hour, minute, second)
            texts.append(base + (Bool.random(using: &generator) ? "Z" : ".000Z"))
        }
        for text in texts {
            let fast = try #require(FieldSpecSet.utcSeconds(text), "\(text)")
            #expect(fast == (try FieldSpecSet.datetimeByFormatter(text, field: "t")), "\(text)")
        }
        for text in ["2024-02-30T10:00:00Z", "2024-01-01T24:00:00Z", "2024-01-01T10:00:00.500Z", "1582-10-10T00:00:00Z", " 2024-01-01T10:00:00Z"] {
            #expect(FieldSpecSet.utcSeconds(text) == nil, "\(text)")
        }
    }
}
