import Foundation
@testable import Spreadsheet
import Testing

@Suite struct XLSXWriterTests {
    private static let cities = ["Barcelona", "Madrid", "València", "Sevilla", "A Coruña", "Bilbao"]

    private static func row(_ index: Int) -> [XLSXWriter.Cell] {
        [
            .text("Cliente \(index)"),
            .text(cities[index % cities.count]),
            .number(Double(8000 + index % 1000)),
            .number(Double(index) * 1.25),
            .date(SpreadsheetDateTime(year: 2020 + index % 5, month: 1 + index % 12, day: 1 + index % 28)),
            .bool(index % 2 == 0),
            .text("cliente\(index)@example.es"),
            .inlineText("Calle Mayor \(index % 300)"),
            .numberLiteral(String(600_000_000 + index)),
            .formula("D\(index + 1)*2", cachedValue: .number(Double(index) * 2.5, literal: XLSXWriter.literal(Double(index) * 2.5)!)),
        ]
    }

    @Test func twoHundredThousandRowsOfTenColumnsReadBackCompletely() throws {
        let rowCount = 200_000
        let url = XLSXFixture.temporaryURL("large")
        defer { try? FileManager.default.removeItem(at: url) }
        let writeStart = ContinuousClock.now
        let writer = try XLSXWriter(url: url)
        try writer.addSheet(name: "Clientes")
        try writer.appendRow((1...10).map { .text("Columna \($0)") })
        for index in 1...rowCount { try writer.appendRow(Self.row(index)) }
        try writer.finish()
        let writeTime = ContinuousClock.now - writeStart

        let readStart = ContinuousClock.now
        let workbook = try XLSXWorkbook(url: url, limits: SpreadsheetLimits())
        let reader = try workbook.rows(sheet: nil)
        var count = 0
        var last: SheetRow?
        while let row = try reader.nextRow() {
            count += 1
            last = row
        }
        let readTime = ContinuousClock.now - readStart
        let size = (try FileManager.default.attributesOfItem(atPath: url.path)[.size] as? NSNumber)?.intValue ?? 0
        print("XLSX 200k×10: wrote \(size / 1024) KiB in \(writeTime), read in \(readTime)")

        #expect(count == rowCount + 1)
        let row = try #require(last)
        #expect(row.number == rowCount + 1)
        #expect(row.cells == [
            .text("Cliente \(rowCount)"), .text(Self.cities[rowCount % 6]), .number(8000, literal: "8000"),
            .number(250_000, literal: "250000"), .date(SpreadsheetDateTime(year: 2020, month: 9, day: 25)), .bool(true),
            .text("cliente\(rowCount)@example.es"), .text("Calle Mayor 200"),
            .number(600_200_000, literal: "600200000"), .number(500_000, literal: "500000"),
        ])
        #expect(reader.warnings.isEmpty)
    }

    @Test func rowsMustGoInAscendingOrder() throws {
        let url = XLSXFixture.temporaryURL("order")
        let writer = try XLSXWriter(url: url)
        try writer.addSheet(name: "Hoja")
        try writer.appendRow([.number(1)], rowNumber: 5)
        #expect(throws: XLSXWriterError.self) { try writer.appendRow([.number(2)], rowNumber: 5) }
    }

    @Test func sheetNamesFollowExcelRules() throws {
        let writer = try XLSXWriter(url: XLSXFixture.temporaryURL("names"))
        try writer.addSheet(name: "Cuentas 2024")
        #expect(throws: XLSXWriterError.self) { try writer.addSheet(name: "cuentas 2024") }
        #expect(throws: XLSXWriterError.self) { try writer.addSheet(name: "a/b") }
        #expect(throws: XLSXWriterError.self) { try writer.addSheet(name: String(repeating: "x", count: 32)) }
        #expect(throws: XLSXWriterError.self) { try writer.addSheet(name: "") }
    }

    @Test func workbookWithOnlyHiddenSheetsIsRefused() throws {
        let url = XLSXFixture.temporaryURL("hidden")
        defer { try? FileManager.default.removeItem(at: url) }
        let writer = try XLSXWriter(url: url)
        try writer.addSheet(name: "Oculta", hidden: true)
        #expect(throws: XLSXWriterError.self) { try writer.finish() }
    }

    @Test func dateBeforeTheDateSystemIsRefused() throws {
        let writer = try XLSXWriter(url: XLSXFixture.temporaryURL("early"), date1904: true)
        try writer.addSheet(name: "Hoja")
        #expect(throws: XLSXWriterError.self) {
            try writer.appendRow([.date(SpreadsheetDateTime(year: 1903, month: 12, day: 31))])
        }
    }

    @Test func packageHasThePartsExcelExpects() throws {
        let url = try XLSXFixture.written { writer in
            try writer.addSheet(name: "Hoja")
            try writer.appendRow([.text("a")])
        }
        defer { try? FileManager.default.removeItem(at: url) }
        let package = try XLSXPackage(url: url, limits: SpreadsheetLimits())
        for part in ["[Content_Types].xml", "_rels/.rels", "xl/workbook.xml", "xl/_rels/workbook.xml.rels",
                     "xl/styles.xml", "xl/sharedStrings.xml", "xl/worksheets/sheet1.xml"] {
            #expect(package.contains(part), "missing \(part)")
        }
    }
}
