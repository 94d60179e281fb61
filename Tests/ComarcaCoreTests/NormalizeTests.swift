import ComarcaCore
import Testing

@Suite("value normalisers")
struct NormalizeTests {
    /// The message of the one field error `body` throws, or nil when it does not throw.
    static func failure(_ body: () throws -> String) -> CoreError? {
        do {
            _ = try body()
            return nil
        } catch let error as CoreError {
            return error
        } catch {
            Issue.record("unexpected error \(error)")
            return nil
        }
    }

    // MARK: email

    @Test(arguments: [
        ("ana@acme.es", "ana@acme.es"),
        ("  Ana.Garcia@ACME.ES \n", "ana.garcia@acme.es"),
        ("JOSÉ@Correo.es", "josé@correo.es"),
    ])
    func emailValid(raw: String, expected: String) throws {
        #expect(try Normalize.email(raw) == expected)
    }

    @Test(arguments: ["", "   ", "ana", "ana@", "@acme.es", "ana@@acme.es", "ana@b@acme.es", "ana maria@acme.es"])
    func emailInvalid(raw: String) throws {
        let error = try #require(Self.failure { try Normalize.email(raw, field: "correo") })
        #expect(error.code == .invalidInput)
        #expect(error.fieldErrors.map(\.field) == ["correo"])
    }

    // MARK: phone

    @Test(arguments: [
        ("612345678", "+34612345678"),
        ("612 34 56 78", "+34612345678"),
        ("612.345.678", "+34612345678"),
        ("612-345-678", "+34612345678"),
        ("(91) 123 45 67", "+34911234567"),
        ("+34 612 345 678", "+34612345678"),
        ("+34-612-345-678", "+34612345678"),
        ("0034 612 345 678", "+34612345678"),
        ("0034612345678", "+34612345678"),
        ("34612345678", "+34612345678"),
        ("34 912 345 678", "+34912345678"),
        ("6.12345678E8", "+34612345678"),
        ("6.12345678E+08", "+34612345678"),
        ("6,12345678E+08", "+34612345678"),
        ("3.4612345678E10", "+34612345678"),
        ("612345678.0", "+34612345678"),
        ("712345678", "+34712345678"),
        ("812345678", "+34812345678"),
        ("+351 912 345 678", "+351912345678"),
        ("0033 1 23 45 67 89", "+33123456789"),
    ])
    func phoneValid(raw: String, expected: String) throws {
        #expect(try Normalize.phone(raw) == expected)
    }

    @Test(arguments: [
        "", "12345678", "512345678", "6123456789", "61234567", "+34 512 345 678", "612-abc-678",
        "6.1234E4", "6.123456785E8", "+0612345678", "+12", "9.1E8", "6,12346E+08",
    ])
    func phoneInvalid(raw: String) throws {
        let error = try #require(Self.failure { try Normalize.phone(raw, field: "movil") })
        #expect(error.fieldErrors.map(\.field) == ["movil"])
    }

    @Test("a phone Excel shortened to scientific notation is refused saying so, never padded with zeros")
    func phoneInScientificNotationWithMissingDigits() throws {
        let error = try #require(Self.failure { try Normalize.phone("9.1E8") })
        #expect(error.fieldErrors.first?.message.contains("scientific notation") == true, "\(error)")
        #expect(try Normalize.phone("9.12345678E8") == "+34912345678")
    }

    @Test func phoneOtherDefaultCountry() throws {
        #expect(try Normalize.phone("0912 345 678", defaultCountry: "PT") == "+351912345678")
        #expect(try Normalize.phone("01 23 45 67 89", defaultCountry: "FR") == "+33123456789")
        #expect(try Normalize.phone("+34 612 345 678", defaultCountry: "FR") == "+34612345678")
        #expect(Self.failure { try Normalize.phone("612345678", defaultCountry: "XX") } != nil)
    }

    @Test func phoneErrorNamesTheRule() throws {
        let error = try #require(Self.failure { try Normalize.phone("512345678") })
        #expect(error.fieldErrors.first?.message.contains("9 digits starting with 6 or 7") == true)
        #expect(!error.message.contains("512345678"))
    }

    // MARK: tax ids

    @Test(arguments: [
        ("12345678Z", "12345678Z"),  // DNI: 12345678 mod 23 = 14 → Z
        ("12.345.678-z", "12345678Z"),
        ("  12 345 678 Z ", "12345678Z"),
        ("ES12345678Z", "12345678Z"),
        ("es-12.345.678-Z", "12345678Z"),
        ("00000000T", "00000000T"),
        ("1234567L", "01234567L"),  // a DNI whose leading zero a spreadsheet dropped
        ("X1234567L", "X1234567L"),  // NIE: 01234567 mod 23 = 19 → L
        ("x-1234567-l", "X1234567L"),
        ("Y1234567X", "Y1234567X"),  // 11234567 mod 23 = 10 → X
        ("Z1234567R", "Z1234567R"),  // 21234567 mod 23 = 1 → R
        ("A28015865", "A28015865"),  // CIF, control digit (type A)
        ("ESA28015865", "A28015865"),
        ("A-28.015.865", "A28015865"),
        ("B12345674", "B12345674"),
        ("Q1234567D", "Q1234567D"),  // control letter (type Q): 4 → D
        ("S2800568D", "S2800568D"),
        ("G12345674", "G12345674"),  // either digit or letter for G
        ("G1234567D", "G1234567D"),
    ])
    func taxIDValid(raw: String, expected: String) throws {
        #expect(try Normalize.spanishTaxID(raw) == expected)
    }

    @Test(arguments: [
        ("12345678A", "check letter A"),
        ("X1234567T", "check letter T"),
        ("Y1234567L", "check letter L"),
        ("A28015864", "control digit 4"),
        ("B1234567D", "not the letter D"),
        ("Q12345674", "not the digit 4"),
        ("Q1234567E", "control letter E"),
        ("G12345675", "control character 5"),
    ])
    func taxIDWrongCheckCharacter(raw: String, named: String) throws {
        let error = try #require(Self.failure { try Normalize.spanishTaxID(raw, field: "nif") })
        #expect(error.fieldErrors.map(\.field) == ["nif"])
        let message = try #require(error.fieldErrors.first?.message)
        #expect(message.contains(named), "\(message)")
    }

    @Test(arguments: ["", "1234", "123456789", "12345678", "I1234567A", "X12345678", "12345678Ñ", "A12345678901"])
    func taxIDMalformed(raw: String) throws {
        #expect(Self.failure { try Normalize.spanishTaxID(raw) } != nil)
    }

    // MARK: postal codes

    @Test(arguments: [
        ("28001", "28001"), (" 08001 ", "08001"), ("8001", "08001"), ("1001", "01001"),
        ("52006", "52006"), ("8001.0", "08001"),
    ])
    func postalCodeValid(raw: String, expected: String) throws {
        #expect(try Normalize.postalCode(raw) == expected)
    }

    @Test(arguments: ["", "123", "280011", "53001", "00123", "28 001", "2800A", "999"])
    func postalCodeInvalid(raw: String) throws {
        let error = try #require(Self.failure { try Normalize.postalCode(raw, field: "cp") })
        #expect(error.fieldErrors.map(\.field) == ["cp"])
    }

    // MARK: folding

    @Test(arguments: [
        ("Muñoz", "munoz"), ("ÁLVAREZ", "alvarez"), ("Çe", "ce"), ("  José   María\tPeña ", "jose maria pena"),
        ("Iñaki Etxeberría", "inaki etxeberria"), ("Cataluña/Catalunya", "cataluna/catalunya"),
        ("Ü ü Ö", "u u o"), ("e\u{0301}", "e"), ("", ""),
    ])
    func folding(text: String, expected: String) {
        #expect(Normalize.folded(text) == expected)
    }
}
