import Foundation
import Spreadsheet
import Testing

@Suite struct CSVDialectTests {
    let fixtures: CSVFixtures
    init() throws { fixtures = try CSVFixtures() }

    @Test func windows1252SemicolonFileFromSpanishExcelDecodesExactly() throws {
        let text = "Nombre;Importe;Fecha;Notas\r\n"
            + "Peña Muñoz S.L.;1.234,56;09/03/2024;Precio 20 €\r\n"
            + "José Ibáñez;-0,5;31/12/2023;“cita” – fin\r\n"
            + "Añón;;01/01/2024;ÑANDÚ ™\r\n"
        let url = try fixtures.write(CSVFixtures.windows1252(text))
        let (rows, dialect, warnings) = try csvReadAll(url)
        #expect(dialect.encoding == .windows1252)
        #expect(dialect.delimiter == UInt8(ascii: ";"))
        #expect(rows.map(\.csvTexts) == [
            ["Nombre", "Importe", "Fecha", "Notas"],
            ["Peña Muñoz S.L.", "1.234,56", "09/03/2024", "Precio 20 €"],
            ["José Ibáñez", "-0,5", "31/12/2023", "“cita” – fin"],
            ["Añón", "", "01/01/2024", "ÑANDÚ ™"],
        ])
        #expect(rows[3].cells[1] == .empty)
        #expect(rows.map(\.number) == [1, 2, 3, 4])
        #expect(warnings.isEmpty)
    }

    @Test func windows1252UpperRangeDecodesToTheWindowsTableAndUndefinedBytesToC1() throws {
        let bytes: [UInt8] = Array(0x80...0x9F) + [0x0A]
        let url = try fixtures.write(bytes)
        let rows = try csvReadAll(url, dialect: CSVDialect(encoding: .windows1252, delimiter: UInt8(ascii: ",")))
        let expected = "€\u{81}‚ƒ„…†‡ˆ‰Š‹Œ\u{8D}Ž\u{8F}\u{90}‘’“”•–—˜™š›œ\u{9D}žŸ"
        #expect(rows.map(\.csvTexts) == [[expected]])
    }

    @Test func utf8WithBOMIsDetectedAndTheBOMIsNotInTheFirstCell() throws {
        let url = try fixtures.write([0xEF, 0xBB, 0xBF] + Array("Código;Ciudad\n7;Logroño\n".utf8))
        let (rows, dialect, _) = try csvReadAll(url)
        #expect(dialect.encoding == .utf8BOM)
        #expect(rows.map(\.csvTexts) == [["Código", "Ciudad"], ["7", "Logroño"]])
    }

    @Test func validUTF8WithoutBOMIsUTF8() throws {
        let url = try fixtures.write(utf8: "a,b\nñ,€\n")
        let (rows, dialect, _) = try csvReadAll(url)
        #expect(dialect.encoding == .utf8)
        #expect(rows.map(\.csvTexts) == [["a", "b"], ["ñ", "€"]])
    }

    @Test func oneInvalidUTF8ByteFarIntoTheFileMakesItWindows1252() throws {
        // Valid UTF-8 for the first 2 MiB: detection must look at the whole file.
        var bytes = Array(String(repeating: "año;x\n", count: 400_000).utf8)
        bytes += CSVFixtures.windows1252("Peña;€\n")
        let url = try fixtures.write(bytes)
        let (rows, dialect, warnings) = try csvReadAll(url)
        #expect(dialect.encoding == .windows1252)
        #expect(rows.count == 400_001)
        #expect(rows.last?.csvTexts == ["Peña", "€"])
        // The UTF-8 "ñ" read as 1252 becomes "Ã±": flagged.
        #expect(warnings.map(\.code) == ["mojibake"])
    }

    @Test func utf16LETabWithBOMIsReadAsExcelTextoUnicode() throws {
        let text = "Nombre\tCiudad\tEmoji\r\nAna Ñúñez\tA Coruña\t😀\r\n"
        let url = try fixtures.write(CSVFixtures.utf16(text, bigEndian: false, bom: true), name: "unicode.txt")
        let (rows, dialect, _) = try csvReadAll(url)
        #expect(dialect.encoding == .utf16LE)
        #expect(dialect.delimiter == 0x09)
        #expect(rows.map(\.csvTexts) == [["Nombre", "Ciudad", "Emoji"], ["Ana Ñúñez", "A Coruña", "😀"]])
    }

    @Test func utf16BEWithBOMIsRead() throws {
        let url = try fixtures.write(CSVFixtures.utf16("a;b\n€;ç\n", bigEndian: true, bom: true))
        let (rows, dialect, _) = try csvReadAll(url)
        #expect(dialect.encoding == .utf16BE)
        #expect(rows.map(\.csvTexts) == [["a", "b"], ["€", "ç"]])
    }

    @Test func utf16LEWithoutBOMIsRecognisedByItsNulBytes() throws {
        let url = try fixtures.write(CSVFixtures.utf16("id;nombre\n1;Íñigo\n", bigEndian: false, bom: false))
        let (rows, dialect, _) = try csvReadAll(url)
        #expect(dialect.encoding == .utf16LE)
        #expect(rows.map(\.csvTexts) == [["id", "nombre"], ["1", "Íñigo"]])
    }

    @Test func utf16SurrogatePairsAndOddBytesSurviveAnyChunkBoundary() throws {
        let text = (0..<300).map { "r\($0)\t😀𝄞ñ\t\"x\ty\"" }.joined(separator: "\r\n") + "\r\n"
        let url = try fixtures.write(CSVFixtures.utf16(text, bigEndian: false, bom: true))
        let dialect = CSVDialect(encoding: .utf16LE, delimiter: 0x09)
        let expected = (0..<300).map { ["r\($0)", "😀𝄞ñ", "x\ty"] }
        for chunk in [64, 65, 67, 101, 4096] {
            let rows = try csvReadAll(url, dialect: dialect, chunkSize: chunk)
            #expect(rows.map(\.csvTexts) == expected, "chunk \(chunk)")
        }
    }

    @Test func sepLineSetsTheDelimiterAndIsNotARow() throws {
        let url = try fixtures.write(utf8: "sep=|\na|b;c|d,e\n1|2|3\n")
        let (rows, dialect, _) = try csvReadAll(url)
        #expect(dialect.delimiter == UInt8(ascii: "|"))
        #expect(dialect.hasSepLine)
        #expect(rows.map(\.csvTexts) == [["a", "b;c", "d,e"], ["1", "2", "3"]])
        #expect(rows.map(\.number) == [2, 3])
    }

    @Test func sepLineAfterABOMIsHonoured() throws {
        let url = try fixtures.write([0xEF, 0xBB, 0xBF] + Array("sep=;\r\na;b\r\n".utf8))
        let (rows, dialect, _) = try csvReadAll(url)
        #expect(dialect.delimiter == UInt8(ascii: ";"))
        #expect(rows.map(\.csvTexts) == [["a", "b"]])
        #expect(rows.first?.number == 2)
    }

    @Test(arguments: [";", ",", "\t", "|"])
    func delimiterIsSniffed(_ delimiter: String) throws {
        let lines = [["id", "nombre", "ciudad"], ["1", "Ana", "Soria"], ["2", "Luis", "Vigo"], ["3", "Eva", "Jaén"]]
        let url = try fixtures.write(utf8: lines.map { $0.joined(separator: delimiter) }.joined(separator: "\n") + "\n")
        let (rows, dialect, _) = try csvReadAll(url)
        #expect(dialect.delimiter == UInt8(ascii: Unicode.Scalar(delimiter)!))
        #expect(rows.map(\.csvTexts) == lines)
    }

    @Test func semicolonWinsWhenCommasAppearOnlyInsideQuotedValues() throws {
        let text = """
        Nombre;Dirección;Importe
        "Pérez, Ana";"Calle Mayor, 5";"1.234,56"
        "Gil, Luis";"Av. Sol, 12, 3º";"7,00"
        "Ruiz, Eva";"Pza. España, 1";"0,99"

        """
        let url = try fixtures.write(utf8: text)
        let (rows, dialect, warnings) = try csvReadAll(url)
        #expect(dialect.delimiter == UInt8(ascii: ";"))
        #expect(rows[1].csvTexts == ["Pérez, Ana", "Calle Mayor, 5", "1.234,56"])
        #expect(rows[2].csvTexts == ["Gil, Luis", "Av. Sol, 12, 3º", "7,00"])
        #expect(warnings.isEmpty)
    }

    @Test func semicolonWinsOverUnquotedDecimalCommas() throws {
        let url = try fixtures.write(utf8: "Nombre;Importe;Peso\nA;1,5;2,25\nB;3;4,1\nC;10,75;1\n")
        let (_, dialect, _) = try csvReadAll(url)
        #expect(dialect.delimiter == UInt8(ascii: ";"))
    }

    @Test func titleLinesAboveTheHeaderDoNotMisleadSniffing() throws {
        let url = try fixtures.write(utf8: "Listado de clientes\n\nid;nombre;zona\n1;Ana;N\n2;Luis;S\n")
        let (rows, dialect, _) = try csvReadAll(url)
        #expect(dialect.delimiter == UInt8(ascii: ";"))
        #expect(rows.count == 5)
    }

    @Test func aOneColumnFileDefaultsToComma() throws {
        let url = try fixtures.write(utf8: "email\nana@example.com\nluis@example.com\n")
        let (rows, dialect, _) = try csvReadAll(url)
        #expect(dialect.delimiter == UInt8(ascii: ","))
        #expect(rows.map(\.csvTexts) == [["email"], ["ana@example.com"], ["luis@example.com"]])
    }

    @Test func forcedEncodingAndDelimiterOverrideDetection() throws {
        // Valid UTF-8 bytes and a comma layout; the caller says it is Windows-1252 with `;`.
        let url = try fixtures.write(utf8: "a,b;c\nñ,x;y\n")
        var options = SpreadsheetOptions()
        options.csvEncoding = .windows1252
        options.csvDelimiter = UInt8(ascii: ";")
        let (rows, dialect, _) = try csvReadAll(url, options: options)
        #expect(dialect.encoding == .windows1252)
        #expect(dialect.delimiter == UInt8(ascii: ";"))
        #expect(rows.map(\.csvTexts) == [["a,b", "c"], ["Ã±,x", "y"]])
    }

    @Test func aBOMIsSkippedEvenWhenUTF8IsForced() throws {
        let url = try fixtures.write([0xEF, 0xBB, 0xBF] + Array("id;x\n1;2\n".utf8))
        var options = SpreadsheetOptions()
        options.csvEncoding = .utf8
        let (rows, _, _) = try csvReadAll(url, options: options)
        #expect(rows.first?.csvTexts == ["id", "x"])
    }

    @Test func emptyFileHasNoRows() throws {
        let url = try fixtures.write([])
        let (rows, dialect, _) = try csvReadAll(url)
        #expect(rows.isEmpty)
        #expect(dialect.delimiter == UInt8(ascii: ","))
    }
}
