import Foundation
import Spreadsheet
import Testing

@Suite struct CSVReaderTests {
    let fixtures: CSVFixtures
    init() throws { fixtures = try CSVFixtures() }

    let semicolon = CSVDialect(encoding: .utf8, delimiter: UInt8(ascii: ";"))

    @Test func quotedCellsKeepDelimitersEscapedQuotesAndLineBreaks() throws {
        let url = try fixtures.write(utf8: "a;\"b;c\";\"dijo \"\"hola\"\"\";\"\"\n\"línea 1\nlínea 2\";x;\"\"\"\";y\n")
        let rows = try csvReadAll(url, dialect: semicolon)
        #expect(rows.map(\.csvTexts) == [["a", "b;c", "dijo \"hola\"", ""], ["línea 1\nlínea 2", "x", "\"", "y"]])
        #expect(rows[0].cells[3] == .empty)
    }

    @Test func rowNumbersAfterQuotedLineBreaksAreThePhysicalLines() throws {
        let url = try fixtures.write(utf8: "h1;h2\n1;\"dos\nlíneas\"\n2;\"tres\r\nlí\rneas\"\n3;x\n")
        let rows = try csvReadAll(url, dialect: semicolon)
        #expect(rows.map(\.number) == [1, 2, 4, 7])
        #expect(rows[2].csvTexts == ["2", "tres\r\nlí\rneas"])
        #expect(rows[3].csvTexts == ["3", "x"])
    }

    @Test func crlfAndLoneCRLineEndingsEndRecords() throws {
        let crlf = try fixtures.write(utf8: "a;b\r\nc;d\r\n", name: "crlf.csv")
        let cr = try fixtures.write(utf8: "a;b\rc;d\re;f", name: "cr.csv")
        #expect(try csvReadAll(crlf, dialect: semicolon).map(\.csvTexts) == [["a", "b"], ["c", "d"]])
        let rows = try csvReadAll(cr, dialect: semicolon)
        #expect(rows.map(\.csvTexts) == [["a", "b"], ["c", "d"], ["e", "f"]])
        #expect(rows.map(\.number) == [1, 2, 3])
    }

    @Test func blankLinesInTheMiddleAreRowsButTheFinalLineBreakIsNot() throws {
        let url = try fixtures.write(utf8: "a;b\n\nc;d\n;\n")
        let rows = try csvReadAll(url, dialect: semicolon)
        #expect(rows.map(\.number) == [1, 2, 3, 4])
        #expect(rows[1].cells == [.empty])
        #expect(rows[1].isEmpty)
        #expect(rows[3].cells == [.empty, .empty])
    }

    @Test func lastRecordWithoutLineBreakIsRead() throws {
        let url = try fixtures.write(utf8: "a;b\nc;")
        #expect(try csvReadAll(url, dialect: semicolon).map(\.cells) == [[.text("a"), .text("b")], [.text("c"), .empty]])
    }

    @Test func cellsAreNotTrimmed() throws {
        let url = try fixtures.write(utf8: " a ; \"b \" ;\t\n")
        #expect(try csvReadAll(url, dialect: semicolon).map(\.csvTexts) == [[" a ", " \"b \" ", "\t"]])
    }

    @Test func aQuoteInsideAnUnquotedCellIsLiteral() throws {
        let url = try fixtures.write(utf8: "pantalla 27\";5\"x\"\n")
        let (rows, _, warnings) = try csvReadAll(url)
        #expect(rows.map(\.csvTexts) == [["pantalla 27\"", "5\"x\""]])
        #expect(warnings.isEmpty)
    }

    @Test func textAfterAClosingQuoteIsKeptAndWarnedOnceWithTheFirstRow() throws {
        let url = try fixtures.write(utf8: "h;i\nok;1\n\"abc\"x;2\n\"d\"\"e\" f;\"g\"h\n")
        let (rows, _, warnings) = try csvReadAll(url)
        #expect(rows.map(\.csvTexts) == [["h", "i"], ["ok", "1"], ["abcx", "2"], ["d\"e f", "gh"]])
        #expect(warnings.count == 1)
        #expect(warnings.first?.code == "bad_quoting")
        #expect(warnings.first?.row == 3)
        #expect(warnings.first?.message.contains("2 row(s)") == true)
    }

    @Test func unterminatedQuoteThrowsNamingTheLineWhereItOpened() throws {
        let url = try fixtures.write(utf8: "a;b\n1;2\n3;\"sin cerrar\n4;5\n6;7\n")
        let reader = try SpreadsheetFile(url: url).rows()
        #expect(try reader.nextRow()?.csvTexts == ["a", "b"])
        #expect(try reader.nextRow()?.csvTexts == ["1", "2"])
        let error = csvError { _ = try reader.nextRow() }
        #expect(error?.code == .unterminatedQuote)
        #expect(error?.row == 3)
        #expect(error?.message.contains("line 3") == true)
        #expect(error?.message.contains("close the quote") == true)
        // It does not pretend the file ended.
        #expect(csvError { _ = try reader.nextRow() }?.code == .unterminatedQuote)
    }

    @Test func unterminatedQuoteInALargeFileStopsAtTheCellLimit() throws {
        let body = (0..<50_000).map { "\($0);valor \($0)" }.joined(separator: "\n")
        let url = try fixtures.write(utf8: "a;b\n1;\"abierta\n" + body + "\n")
        let rows = try? csvReadAll(url, dialect: semicolon)
        #expect(rows == nil)
        let error = csvError { _ = try csvReadAll(url, dialect: semicolon, chunkSize: 4096) }
        #expect(error?.code == .unterminatedQuote)
        #expect(error?.row == 2)
    }

    @Test func duplicateAndEmptyHeadersAreReturnedAsTheyAre() throws {
        let url = try fixtures.write(utf8: "Nombre;;Nombre;Email;\nAna;x;Ana B;a@b.es;\n")
        let rows = try csvReadAll(url, dialect: semicolon)
        #expect(rows[0].cells == [.text("Nombre"), .empty, .text("Nombre"), .text("Email"), .empty])
    }

    @Test func mojibakeAlreadyInTheDataIsWarnedOnceWithCountAndFirstRow() throws {
        let url = try fixtures.write(utf8: "nombre;nota\nAna;ok\nCompaÃ±Ã\u{AD}a;â‚¬ 5\nPeÃ‘A;x\nJosé;bien\n")
        let (rows, dialect, warnings) = try csvReadAll(url)
        #expect(dialect.encoding == .utf8)
        #expect(rows[2].csvTexts == ["CompaÃ±Ã\u{AD}a", "â‚¬ 5"])
        #expect(warnings.count == 1)
        let warning = try #require(warnings.first)
        #expect(warning.code == "mojibake")
        #expect(warning.row == 3)
        #expect(warning.message.contains("3 cell(s)"))
    }

    @Test func correctSpanishTextIsNotMojibake() throws {
        let url = try fixtures.write(utf8: "Ñandú;Ã;SÃO PAULO;€;“x”;º;Â\n")
        let (_, _, warnings) = try csvReadAll(url)
        #expect(warnings.isEmpty)
    }

    @Test func tooManyColumnsNamesTheRow() throws {
        var limits = SpreadsheetLimits()
        limits.maxColumns = 3
        let url = try fixtures.write(utf8: "a;b;c\n1;2;3\n1;2;3;4\n")
        let error = csvError { _ = try csvReadAll(url, dialect: semicolon, limits: limits) }
        #expect(error?.code == .tooManyColumns)
        #expect(error?.row == 3)
    }

    @Test func aCellLongerThanTheLimitNamesTheRow() throws {
        var limits = SpreadsheetLimits()
        limits.maxCellBytes = 10
        let url = try fixtures.write(utf8: "a;b\n1;0123456789\n2;\"01234567\"\"9\"\n3;01234567890\n")
        let error = csvError { _ = try csvReadAll(url, dialect: semicolon, limits: limits) }
        #expect(error?.code == .cellTooLong)
        #expect(error?.row == 4)
        #expect(error?.message.contains("column 2") == true)
    }

    @Test func tooManyRowsThroughTheFacadeNamesTheRow() throws {
        var options = SpreadsheetOptions()
        options.limits.maxRows = 3
        let url = try fixtures.write(utf8: "sep=;\na;b\n1;2\n3;4\n5;6\n")
        let error = csvError { _ = try csvReadAll(url, options: options) }
        #expect(error?.code == .tooManyRows)
        #expect(error?.row == 5)
    }

    @Test func chunkBoundariesAnywhereGiveTheSameRows() throws {
        // Quotes, escapes, CRLF split between chunks, Windows-1252 cells and bad quoting.
        var text = "id;texto;importe\r\n"
        for index in 0..<400 {
            text += "\(index);\"Peña \"\"\(index)\"\"\r\nsegunda línea\";\(index),50 €\r\n"
            if index % 7 == 0 { text += "\(index);\"x\"y;\r" }
        }
        let url = try fixtures.write(CSVFixtures.windows1252(text))
        let dialect = CSVDialect(encoding: .windows1252, delimiter: UInt8(ascii: ";"))
        let reference = try csvReadAll(url, dialect: dialect)
        #expect(reference.count == 1 + 400 + 58)
        #expect(reference[1].csvTexts == ["0", "Peña \"0\"\r\nsegunda línea", "0,50 €"])
        #expect(reference[2].csvTexts == ["0", "xy", ""])
        #expect(reference[3].number == 5)
        for chunk in [64, 65, 66, 67, 97, 128, 1000] {
            let rows = try csvReadAll(url, dialect: dialect, chunkSize: chunk)
            #expect(rows == reference, "chunk \(chunk)")
        }
    }

    @Test func twoHundredThousandGeneratedRowsAreReadCompletely() throws {
        let count = 200_000
        let url = fixtures.directory.appendingPathComponent("big.csv")
        var text = "id;nombre;email;ciudad;importe;fecha;notas\n"
        text.reserveCapacity(count * 90)
        for index in 1...count {
            text += "\(index);Cliente \(index);c\(index)@example.com;Logroño;\(index),25;09/03/2024;\"nota; con \"\"comillas\"\"\"\n"
        }
        try Data(text.utf8).write(to: url)
        let size = Double(text.utf8.count)

        let file = try SpreadsheetFile(url: url)
        let reader = try file.rows()
        let started = ContinuousClock.now
        var rows = 0
        var last: SheetRow?
        while let row = try reader.nextRow() {
            rows += 1
            last = row
        }
        let elapsed = ContinuousClock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        print("CSV read: \(rows) rows, \(Int(size / 1_048_576)) MiB in \(seconds) s = \(Int(size / 1_048_576 / seconds)) MiB/s")
        #expect(rows == count + 1)
        #expect(last?.number == count + 1)
        #expect(last?.csvTexts == ["\(count)", "Cliente \(count)", "c\(count)@example.com", "Logroño", "\(count),25", "09/03/2024", "nota; con \"comillas\""])
    }
}
