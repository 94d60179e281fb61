import Foundation
@testable import Spreadsheet
import Testing

/// Workbooks made by the tests: with `XLSXWriter`, or from hand-written XML parts zipped here.
enum XLSXFixture {
    static let main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    static let relationships = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    static let header = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"

    static func temporaryURL(_ name: String = "fixture") -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString).xlsx")
    }

    static func written(options: XLSXWriter.Options = XLSXWriter.Options(), _ build: (XLSXWriter) throws -> Void) throws -> URL {
        let url = temporaryURL("written")
        let writer = try XLSXWriter(url: url, options: options)
        try build(writer)
        try writer.finish()
        return url
    }

    /// One sheet ("Hoja1") with `rows` as its sheetData content, the given shared-string items
    /// (`<si>` content) and extra custom number formats (`id → code`, each also a cell style after
    /// styles 0 General, 1 date (14), 2 date-time (22)).
    static func handBuilt(rows: String, sharedStrings: [String] = [], formats: [(Int, String)] = [],
                          date1904: Bool = false, workbook: String? = nil) throws -> URL {
        let url = temporaryURL("hand")
        var numFmts = ""
        var xfs = "<xf numFmtId=\"0\"/><xf numFmtId=\"14\"/><xf numFmtId=\"22\"/>"
        if !formats.isEmpty {
            numFmts = "<numFmts count=\"\(formats.count)\">"
                + formats.map { "<numFmt numFmtId=\"\($0.0)\" formatCode=\"\($0.1)\"/>" }.joined() + "</numFmts>"
            xfs += formats.map { "<xf numFmtId=\"\($0.0)\" applyNumberFormat=\"1\"><alignment/></xf>" }.joined()
        }
        let parts: [XLSXZip.Part] = [
            XLSXZip.Part(path: "[Content_Types].xml", text: header + "<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\"/>"),
            XLSXZip.Part(path: "_rels/.rels", text: header + "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\"><Relationship Id=\"rId1\" Type=\"\(relationships)/officeDocument\" Target=\"xl/workbook.xml\"/></Relationships>"),
            XLSXZip.Part(path: "xl/workbook.xml", text: workbook ?? (header + "<workbook xmlns=\"\(main)\" xmlns:r=\"\(relationships)\"><workbookPr\(date1904 ? " date1904=\"1\"" : "")/><sheets><sheet name=\"Hoja1\" sheetId=\"1\" r:id=\"rId1\"/></sheets></workbook>")),
            XLSXZip.Part(path: "xl/_rels/workbook.xml.rels", text: header + "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\"><Relationship Id=\"rId1\" Type=\"\(relationships)/worksheet\" Target=\"/xl/worksheets/sheet1.xml\"/><Relationship Id=\"rId2\" Type=\"\(relationships)/styles\" Target=\"styles.xml\"/><Relationship Id=\"rId3\" Type=\"\(relationships)/sharedStrings\" Target=\"sharedStrings.xml\"/></Relationships>"),
            XLSXZip.Part(path: "xl/styles.xml", text: header + "<styleSheet xmlns=\"\(main)\">\(numFmts)<cellStyleXfs count=\"1\"><xf numFmtId=\"0\"/></cellStyleXfs><cellXfs>\(xfs)</cellXfs></styleSheet>"),
            XLSXZip.Part(path: "xl/sharedStrings.xml", text: header + "<sst xmlns=\"\(main)\">" + sharedStrings.map { "<si>\($0)</si>" }.joined() + "</sst>"),
            XLSXZip.Part(path: "xl/worksheets/sheet1.xml", text: header + "<worksheet xmlns=\"\(main)\"><dimension ref=\"A1:XFD1048576\"/><sheetData>\(rows)</sheetData><mergeCells count=\"1\"><mergeCell ref=\"A1:B1\"/></mergeCells></worksheet>"),
        ]
        try XLSXZip.write(parts, to: url)
        return url
    }

    static func readAll(_ url: URL, sheet: String? = nil) throws -> (rows: [SheetRow], warnings: [SpreadsheetWarning]) {
        let workbook = try XLSXWorkbook(url: url, limits: SpreadsheetLimits())
        let reader = try workbook.rows(sheet: sheet)
        var rows: [SheetRow] = []
        while let row = try reader.nextRow() { rows.append(row) }
        return (rows, reader.warnings)
    }
}

@Suite struct XLSXReaderTests {
    @Test func datesIn1900SystemHonourTheFictitiousLeapDay() throws {
        let url = try XLSXFixture.handBuilt(rows: """
            <row r="1"><c r="A1" s="1"><v>1</v></c><c r="B1" s="1"><v>59</v></c><c r="C1" s="1"><v>60</v></c>\
            <c r="D1" s="1"><v>61</v></c><c r="E1" s="1"><v>45000</v></c><c r="F1" s="2"><v>45000.604166666664</v></c>\
            <c r="G1" s="2"><v>45000</v></c></row>
            """)
        defer { try? FileManager.default.removeItem(at: url) }
        let row = try #require(try XLSXFixture.readAll(url).rows.first)
        #expect(row.cells == [
            .date(SpreadsheetDateTime(year: 1900, month: 1, day: 1)),
            .date(SpreadsheetDateTime(year: 1900, month: 2, day: 28)),
            .error("#DATE"),
            .date(SpreadsheetDateTime(year: 1900, month: 3, day: 1)),
            .date(SpreadsheetDateTime(year: 2023, month: 3, day: 15)),
            .date(SpreadsheetDateTime(year: 2023, month: 3, day: 15, hour: 14, minute: 30, second: 0, hasTime: true)),
            .date(SpreadsheetDateTime(year: 2023, month: 3, day: 15)),
        ])
    }

    @Test func datesIn1904SystemStartAtNineteenOFour() throws {
        let url = try XLSXFixture.handBuilt(rows: """
            <row r="1"><c r="A1" s="1"><v>0</v></c><c r="B1" s="1"><v>43538</v></c><c r="C1" s="2"><v>43538.75</v></c></row>
            """, date1904: true)
        defer { try? FileManager.default.removeItem(at: url) }
        let workbook = try XLSXWorkbook(url: url, limits: SpreadsheetLimits())
        #expect(workbook.date1904)
        let row = try #require(try XLSXFixture.readAll(url).rows.first)
        #expect(row.cells == [
            .date(SpreadsheetDateTime(year: 1904, month: 1, day: 1)),
            .date(SpreadsheetDateTime(year: 2023, month: 3, day: 15)),
            .date(SpreadsheetDateTime(year: 2023, month: 3, day: 15, hour: 18, minute: 0, second: 0, hasTime: true)),
        ])
    }

    @Test(arguments: [false, true])
    func writtenDatesReadBackInEitherDateSystem(date1904: Bool) throws {
        let leapDay = SpreadsheetDateTime(year: 2024, month: 2, day: 29)
        let withTime = SpreadsheetDateTime(year: 2024, month: 3, day: 9, hour: 14, minute: 5, second: 7, hasTime: true)
        let early = SpreadsheetDateTime(year: 1904, month: 1, day: 2)
        let url = try XLSXFixture.written(options: XLSXWriter.Options(date1904: date1904)) { writer in
            try writer.addSheet(name: "Fechas")
            try writer.appendRow([.date(leapDay), .date(withTime), .date(early)])
        }
        defer { try? FileManager.default.removeItem(at: url) }
        let row = try #require(try XLSXFixture.readAll(url).rows.first)
        #expect(row.cells == [.date(leapDay), .date(withTime), .date(early)])
    }

    @Test func numericPostalCodeKeepsItsLiteral() throws {
        let url = try XLSXFixture.written { writer in
            try writer.addSheet(name: "Cuentas")
            try writer.appendRow([.text("CP"), .number(8001), .numberLiteral("12345678901234567"), .number(1.5)])
        }
        defer { try? FileManager.default.removeItem(at: url) }
        let row = try #require(try XLSXFixture.readAll(url).rows.first)
        #expect(row.cells == [
            .text("CP"), .number(8001, literal: "8001"),
            .number(12_345_678_901_234_567, literal: "12345678901234567"), .number(1.5, literal: "1.5"),
        ])
    }

    @Test func richTextRunsAreConcatenatedInSharedAndInlineStrings() throws {
        let url = try XLSXFixture.written { writer in
            try writer.addSheet(name: "Texto")
            try writer.appendRow([.richText(["Pérez ", "García", " SL"]), .inlineRichText(["Cal", "le Mayor"]), .inlineText(" con espacios ")])
        }
        defer { try? FileManager.default.removeItem(at: url) }
        let row = try #require(try XLSXFixture.readAll(url).rows.first)
        #expect(row.cells == [.text("Pérez García SL"), .text("Calle Mayor"), .text(" con espacios ")])
    }

    @Test func phoneticRunsAreLeftOutOfStrings() throws {
        let url = try XLSXFixture.handBuilt(
            rows: """
                <row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="inlineStr"><is><r><t>東</t></r><r><t>京</t></r><rPh sb="0" eb="2"><t>トウキョウ</t></rPh></is></c></row>
                """,
            sharedStrings: ["<r><rPr><b/></rPr><t>漢</t></r><r><t xml:space=\"preserve\">字 </t></r><rPh sb=\"0\" eb=\"1\"><t>カン</t></rPh><phoneticPr fontId=\"1\"/>"])
        defer { try? FileManager.default.removeItem(at: url) }
        let row = try #require(try XLSXFixture.readAll(url).rows.first)
        #expect(row.cells == [.text("漢字 "), .text("東京")])
    }

    @Test func formulasReadByTheirCachedValues() throws {
        let url = try XLSXFixture.written { writer in
            try writer.addSheet(name: "Fórmulas")
            try writer.appendRow([
                .formula("SUM(1,2)", cachedValue: .number(3, literal: "3")),
                .formula("\"a\"&\"b\"", cachedValue: .text("ab")),
                .formula("1=1", cachedValue: .bool(true)),
                .formula("NA()", cachedValue: .error("#N/A")),
                .formula("A1*2"),
                .number(1),
            ])
        }
        defer { try? FileManager.default.removeItem(at: url) }
        let result = try XLSXFixture.readAll(url)
        let row = try #require(result.rows.first)
        #expect(row.cells == [.number(3, literal: "3"), .text("ab"), .bool(true), .error("#N/A"), .empty, .number(1, literal: "1")])
        let warning = try #require(result.warnings.first { $0.code == "formula_without_value" })
        #expect(warning.row == 1)
    }

    @Test func emptyCachedNumberIsAFormulaWithoutValueButAnEmptyCachedStringIsNot() throws {
        // openpyxl writes <v></v> for formulas it cannot calculate; Excel writes t="str" <v></v> for "".
        let url = try XLSXFixture.handBuilt(rows: """
            <row r="2"><c r="A2" t="str"><f>""</f><v></v></c></row><row r="3"><c r="A3"><f>B2*2</f><v></v></c><c r="B3"><v>1</v></c></row>
            """)
        defer { try? FileManager.default.removeItem(at: url) }
        let result = try XLSXFixture.readAll(url)
        #expect(result.rows.map(\.number) == [3])
        #expect(result.rows.first?.cells == [.empty, .number(1, literal: "1")])
        let warnings = result.warnings.filter { $0.code == "formula_without_value" }
        #expect(warnings.map(\.row) == [3])
        #expect(warnings.first?.message.hasPrefix("1 formula cell(s)") == true)
    }

    @Test func isoDateCellsReadAsDates() throws {
        let url = try XLSXFixture.handBuilt(rows: """
            <row r="1"><c r="A1" t="d"><v>2024-03-09T14:05:00</v></c><c r="B1" t="d"><v>2024-02-29</v></c></row>
            """)
        defer { try? FileManager.default.removeItem(at: url) }
        let row = try #require(try XLSXFixture.readAll(url).rows.first)
        #expect(row.cells == [
            .date(SpreadsheetDateTime(year: 2024, month: 3, day: 9, hour: 14, minute: 5, second: 0, hasTime: true)),
            .date(SpreadsheetDateTime(year: 2024, month: 2, day: 29)),
        ])
    }

    @Test func errorAndBooleanCellsKeepTheirKind() throws {
        let url = try XLSXFixture.written { writer in
            try writer.addSheet(name: "Hoja")
            try writer.appendRow([.error("#DIV/0!"), .bool(false), .bool(true)])
        }
        defer { try? FileManager.default.removeItem(at: url) }
        let row = try #require(try XLSXFixture.readAll(url).rows.first)
        #expect(row.cells == [.error("#DIV/0!"), .bool(false), .bool(true)])
    }

    @Test func sheetsAreListedInOrderWithHiddenOnesFlagged() throws {
        let url = try XLSXFixture.written { writer in
            try writer.addSheet(name: "Notas", hidden: true)
            try writer.appendRow([.text("oculta")])
            try writer.addSheet(name: "Cuentas")
            try writer.appendRow([.text("cuentas")])
            try writer.addSheet(name: "Contactos")
            try writer.appendRow([.text("contactos")])
        }
        defer { try? FileManager.default.removeItem(at: url) }
        let workbook = try XLSXWorkbook(url: url, limits: SpreadsheetLimits())
        #expect(workbook.sheets == [
            SheetInfo(name: "Notas", index: 0, hidden: true),
            SheetInfo(name: "Cuentas", index: 1, hidden: false),
            SheetInfo(name: "Contactos", index: 2, hidden: false),
        ])
    }

    @Test func defaultSheetIsTheFirstVisibleOne() throws {
        let url = try XLSXFixture.written { writer in
            try writer.addSheet(name: "Notas", hidden: true)
            try writer.appendRow([.text("oculta")])
            try writer.addSheet(name: "Cuentas")
            try writer.appendRow([.text("cuentas")])
        }
        defer { try? FileManager.default.removeItem(at: url) }
        let result = try XLSXFixture.readAll(url)
        #expect(result.rows.map { $0.cells } == [[.text("cuentas")]])
        #expect(result.warnings.isEmpty)
    }

    @Test func sheetIsChosenByNameIgnoringCaseAndAHiddenOneIsFlagged() throws {
        let url = try XLSXFixture.written { writer in
            try writer.addSheet(name: "Notas", hidden: true)
            try writer.appendRow([.text("oculta")])
            try writer.addSheet(name: "Cuentas")
            try writer.appendRow([.text("cuentas")])
            try writer.addSheet(name: "Contactos")
            try writer.appendRow([.text("contactos")])
        }
        defer { try? FileManager.default.removeItem(at: url) }
        #expect(try XLSXFixture.readAll(url, sheet: "CONTACTOS").rows.map { $0.cells } == [[.text("contactos")]])
        let hidden = try XLSXFixture.readAll(url, sheet: "notas")
        #expect(hidden.rows.map { $0.cells } == [[.text("oculta")]])
        #expect(hidden.warnings.map(\.code) == ["hidden_sheet"])
    }

    @Test func unknownSheetNameListsTheSheets() throws {
        let url = try XLSXFixture.written { writer in
            try writer.addSheet(name: "Notas", hidden: true)
            try writer.addSheet(name: "Cuentas")
        }
        defer { try? FileManager.default.removeItem(at: url) }
        let error = #expect(throws: SpreadsheetError.self) { try XLSXFixture.readAll(url, sheet: "Oportunidades") }
        #expect(error?.code == .sheetNotFound)
        #expect(error?.message.contains("\"Cuentas\"") == true)
        #expect(error?.message.contains("\"Notas\" (hidden)") == true)
    }

    @Test func rowsAndCellsWithoutReferencesTakeTheNextPosition() throws {
        var options = XLSXWriter.Options()
        options.writeReferences = false
        let url = try XLSXFixture.written(options: options) { writer in
            try writer.addSheet(name: "Hoja")
            try writer.appendRow([.text("a"), .empty, .text("c")])
            try writer.appendRow([.empty, .number(2)])
            try writer.appendRow([.text("diez")], rowNumber: 10)
            try writer.appendRow([.text("once")])
        }
        defer { try? FileManager.default.removeItem(at: url) }
        let rows = try XLSXFixture.readAll(url).rows
        #expect(rows.map(\.number) == [1, 2, 10, 11])
        #expect(rows.map(\.cells) == [
            [.text("a"), .empty, .text("c")], [.empty, .number(2, literal: "2")], [.text("diez")], [.text("once")],
        ])
    }

    @Test func handWrittenRowsAndCellsWithoutReferencesAreCounted() throws {
        let url = try XLSXFixture.handBuilt(rows: """
            <row><c t="inlineStr"><is><t>a</t></is></c><c/><c><v>3</v></c></row><row/><row><c r="D3"><v>4</v></c><c><v>5</v></c></row>
            """)
        defer { try? FileManager.default.removeItem(at: url) }
        let rows = try XLSXFixture.readAll(url).rows
        #expect(rows.map(\.number) == [1, 3])
        #expect(rows[0].cells == [.text("a"), .empty, .number(3, literal: "3")])
        #expect(rows[1].cells == [.empty, .empty, .empty, .number(4, literal: "4"), .number(5, literal: "5")])
    }

    @Test func sparseRowsKeepTheirNumbersAndEmptyRowsAreSkipped() throws {
        let url = try XLSXFixture.written { writer in
            try writer.addSheet(name: "Hoja")
            try writer.appendRow([.text("dos")], rowNumber: 2)
            try writer.appendRow([.empty, .empty], rowNumber: 3)
            try writer.appendRow([.text("cincuenta mil")], rowNumber: 50_000)
        }
        defer { try? FileManager.default.removeItem(at: url) }
        let rows = try XLSXFixture.readAll(url).rows
        #expect(rows.map(\.number) == [2, 50_000])
        #expect(rows.map(\.cells) == [[.text("dos")], [.text("cincuenta mil")]])
    }

    @Test func aUsedRangeOfStyledEmptyRowsYieldsOnlyRealRows() throws {
        var rows = "<row r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t>cabecera</t></is></c></row>"
        for number in 2...100_000 {
            rows += "<row r=\"\(number)\" spans=\"1:3\" s=\"1\" customFormat=\"1\"><c r=\"A\(number)\" s=\"1\"/><c r=\"B\(number)\" t=\"s\"/></row>"
        }
        rows += "<row r=\"100001\"><c r=\"C100001\"><v>7</v></c></row>"
        let url = try XLSXFixture.handBuilt(rows: rows)
        defer { try? FileManager.default.removeItem(at: url) }
        let read = try XLSXFixture.readAll(url).rows
        #expect(read.map(\.number) == [1, 100_001])
    }

    @Test func strictNamespaceAndPrefixedElementsReadLikeTransitional() throws {
        var options = XLSXWriter.Options()
        options.strict = true
        options.namespacePrefix = "x"
        let url = try XLSXFixture.written(options: options) { writer in
            try writer.addSheet(name: "Estricto")
            try writer.appendRow([.text("Nombre"), .date(SpreadsheetDateTime(year: 2024, month: 5, day: 1)), .number(8001)])
        }
        defer { try? FileManager.default.removeItem(at: url) }
        let workbook = try XLSXWorkbook(url: url, limits: SpreadsheetLimits())
        #expect(workbook.sheets.map(\.name) == ["Estricto"])
        let row = try #require(try XLSXFixture.readAll(url).rows.first)
        #expect(row.cells == [.text("Nombre"), .date(SpreadsheetDateTime(year: 2024, month: 5, day: 1)), .number(8001, literal: "8001")])
    }

    @Test func entitiesAndOOXMLEscapesAreDecoded() throws {
        let url = try XLSXFixture.handBuilt(
            rows: """
                <row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c>\
                <c r="C1" t="inlineStr"><is><t><![CDATA[<b>&amp;</b>]]></t></is></c>\
                <c r="D1" t="str"><f>A1</f><v>x_x000A_y</v></c></row>
                """,
            sharedStrings: [
                "<t>A&amp;B &lt;c&gt; &quot;d&quot; &apos;e&apos; Espa&#241;a Espa&#xF1;a &unknown;</t>",
                "<t>l\u{0301}nea1_x000D_\nlínea2 _x005F_x000D_ _xD83D__xDE00_</t>",
            ])
        defer { try? FileManager.default.removeItem(at: url) }
        let row = try #require(try XLSXFixture.readAll(url).rows.first)
        #expect(row.cells == [
            .text("A&B <c> \"d\" 'e' España España &unknown;"),
            .text("l\u{0301}nea1\r\nlínea2 _x000D_ 😀"),
            .text("<b>&amp;</b>"),
            .text("x\ny"),
        ])
    }

    @Test func textWithControlCharactersAndEscapeLookalikesRoundTrips() throws {
        let texts = ["línea1\r\nlínea2", "tab\there", "_x000D_ literal", "bell\u{07}", "a & b < c > \"d\""]
        let url = try XLSXFixture.written { writer in
            try writer.addSheet(name: "Hoja")
            try writer.appendRow(texts.map { .text($0) } + texts.map { .inlineText($0) })
        }
        defer { try? FileManager.default.removeItem(at: url) }
        let row = try #require(try XLSXFixture.readAll(url).rows.first)
        #expect(row.cells == (texts + texts).map { .text($0) })
    }

    @Test func customDateFormatIsADateAndANumberFormatIsNot() throws {
        let url = try XLSXFixture.written { writer in
            try writer.addSheet(name: "Formatos")
            try writer.appendRow([
                .formatted(45000, format: "dd/mm/yyyy"),
                .formatted(45000.5, format: "[$-C0A]d \"de\" mmmm \"de\" yyyy hh:mm"),
                .formatted(1.75, format: "[h]:mm"),
                .formatted(45000, format: "#,##0.00 \"días\""),
                .formatted(45000, format: "[Red]0.00;[Blue]-0.00"),
                .formatted(0.25, format: "0.00%"),
            ])
        }
        defer { try? FileManager.default.removeItem(at: url) }
        let row = try #require(try XLSXFixture.readAll(url).rows.first)
        #expect(row.cells == [
            .date(SpreadsheetDateTime(year: 2023, month: 3, day: 15)),
            .date(SpreadsheetDateTime(year: 2023, month: 3, day: 15, hour: 12, minute: 0, second: 0, hasTime: true)),
            .date(SpreadsheetDateTime(year: 1900, month: 1, day: 1, hour: 18, minute: 0, second: 0, hasTime: true)),
            .number(45000, literal: "45000"),
            .number(45000, literal: "45000"),
            .number(0.25, literal: "0.25"),
        ])
    }

    @Test(arguments: [
        ("General", XLSXNumberFormat.number), ("0.00", .number), ("#,##0.00 €", .number), ("0.00E+00", .number),
        ("\"Day\" 0", .number), ("\\d0", .number), ("[Red]0", .number), ("@", .number), ("_-* #,##0_-", .number),
        ("dd/mm/yyyy", .date), ("d-mmm-yy", .date), ("mmm", .date), ("[$-409]m/d/yy h:mm AM/PM", .date),
        ("yyyy-mm-dd hh:mm:ss", .date), ("h:mm", .time), ("mm:ss", .time), ("[h]:mm", .time),
        ("[mm]:ss", .time), ("h AM/PM", .time), ("hh:mm:ss;@", .time),
    ])
    func numberFormatCodesAreClassified(code: String, expected: XLSXNumberFormat) {
        #expect(XLSXNumberFormat.classify(code) == expected)
    }

    @Test func builtInAndRedefinedFormatIdsDecideDates() throws {
        // style 3: id 165 custom date; style 4: built-in id 14 redefined as a plain number.
        let url = try XLSXFixture.handBuilt(
            rows: "<row r=\"1\"><c r=\"A1\" s=\"3\"><v>45000</v></c><c r=\"B1\" s=\"4\"><v>45000</v></c><c r=\"C1\" s=\"99\"><v>45000</v></c></row>",
            formats: [(165, "d/m/yyyy"), (14, "0.0")])
        defer { try? FileManager.default.removeItem(at: url) }
        let row = try #require(try XLSXFixture.readAll(url).rows.first)
        #expect(row.cells == [
            .date(SpreadsheetDateTime(year: 2023, month: 3, day: 15)),
            .number(45000, literal: "45000"),
            .number(45000, literal: "45000"),
        ])
    }

    @Test func missingSharedStringIsReportedAsDamage() throws {
        let url = try XLSXFixture.handBuilt(rows: "<row r=\"4\"><c r=\"B4\" t=\"s\"><v>7</v></c></row>", sharedStrings: ["<t>solo</t>"])
        defer { try? FileManager.default.removeItem(at: url) }
        let error = #expect(throws: SpreadsheetError.self) { try XLSXFixture.readAll(url) }
        #expect(error?.code == .malformedWorkbook)
        #expect(error?.row == 4)
    }

    @Test func valueBeyondTheColumnLimitIsRefused() throws {
        let url = try XLSXFixture.handBuilt(rows: "<row r=\"1\"><c r=\"XFD1\"><v>1</v></c></row>")
        defer { try? FileManager.default.removeItem(at: url) }
        let error = #expect(throws: SpreadsheetError.self) { try XLSXFixture.readAll(url) }
        #expect(error?.code == .tooManyColumns)
    }

    @Test func workbookOpensThroughTheSpreadsheetFacade() throws {
        let url = try XLSXFixture.written { writer in
            try writer.addSheet(name: "Cuentas")
            try writer.appendRow([.text("Nombre"), .text("CP")])
            try writer.appendRow([.text("Pérez SL"), .number(8001)])
        }
        defer { try? FileManager.default.removeItem(at: url) }
        let file = try SpreadsheetFile(url: url)
        #expect(file.kind == .xlsx)
        #expect(file.sheets.map(\.name) == ["Cuentas"])
        let reader = try file.rows(sheet: "cuentas")
        var rows: [SheetRow] = []
        while let row = try reader.nextRow() { rows.append(row) }
        #expect(rows.last?.cells == [.text("Pérez SL"), .number(8001, literal: "8001")])
    }
}
