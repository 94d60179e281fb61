import Foundation
@testable import Spreadsheet
import Testing

@Suite struct XLSXLimitsTests {
    /// A workbook whose only sheet is `spaces` bytes of blanks between its tags, streamed into the zip.
    private func workbookWithBlankSheet(spaces: Int64) throws -> URL {
        let url = XLSXFixture.temporaryURL("blank")
        let main = XLSXFixture.main
        let rels = XLSXFixture.relationships
        try XLSXZip.write([
            XLSXZip.Part(path: "[Content_Types].xml", text: "<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\"/>"),
            XLSXZip.Part(path: "xl/workbook.xml", text: "<workbook xmlns=\"\(main)\" xmlns:r=\"\(rels)\"><sheets><sheet name=\"Hoja1\" sheetId=\"1\" r:id=\"rId1\"/></sheets></workbook>"),
            XLSXZip.Part(path: "xl/_rels/workbook.xml.rels", text: "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\"><Relationship Id=\"rId1\" Type=\"\(rels)/worksheet\" Target=\"worksheets/sheet1.xml\"/></Relationships>"),
            XLSXZip.Part(path: "xl/worksheets/sheet1.xml", segments: [
                .bytes(Array("<worksheet xmlns=\"\(main)\"><sheetData><row r=\"1\"><c r=\"A1\"><v>1</v></c></row>".utf8)),
                .repeated(UInt8(ascii: " "), count: spaces),
                .bytes(Array("</sheetData></worksheet>".utf8)),
            ]),
        ], to: url)
        return url
    }

    private func readEverything(_ url: URL, limits: SpreadsheetLimits = SpreadsheetLimits()) throws -> Int {
        let workbook = try XLSXWorkbook(url: url, limits: limits)
        let reader = try workbook.rows(sheet: nil)
        var count = 0
        while try reader.nextRow() != nil { count += 1 }
        return count
    }

    /// Overwrites a field of `path`'s central and local zip headers (little-endian, 2 or 4 bytes).
    private func patchHeaders(of path: String, in url: URL, central: Int, local: Int, width: Int, value: UInt32) throws {
        var bytes = [UInt8](try Data(contentsOf: url))
        let name = Array(path.utf8)
        var patched = 0
        func nameMatches(at start: Int, length: Int) -> Bool {
            length == name.count && start + length <= bytes.count && Array(bytes[start..<(start + length)]) == name
        }
        func write(at offset: Int) {
            for index in 0..<width { bytes[offset + index] = UInt8((value >> (8 * UInt32(index))) & 0xFF) }
        }
        var i = 0
        while i + 46 <= bytes.count {
            if bytes[i] == 0x50, bytes[i + 1] == 0x4B {
                if bytes[i + 2] == 0x01, bytes[i + 3] == 0x02,
                   nameMatches(at: i + 46, length: Int(bytes[i + 28]) | Int(bytes[i + 29]) << 8) {
                    write(at: i + central)
                    patched += 1
                } else if bytes[i + 2] == 0x03, bytes[i + 3] == 0x04,
                          nameMatches(at: i + 30, length: Int(bytes[i + 26]) | Int(bytes[i + 27]) << 8) {
                    write(at: i + local)
                    patched += 1
                }
            }
            i += 1
        }
        #expect(patched == 2)
        try Data(bytes).write(to: url)
    }

    private func forgeUncompressedSize(of path: String, in url: URL, to size: UInt32) throws {
        try patchHeaders(of: path, in: url, central: 24, local: 22, width: 4, value: size)
    }

    @Test func zipBombIsRefusedBeforeExtracting() throws {
        let url = try workbookWithBlankSheet(spaces: 300 << 20)
        defer { try? FileManager.default.removeItem(at: url) }
        let size = try FileManager.default.attributesOfItem(atPath: url.path)[.size] as? NSNumber
        #expect((size?.intValue ?? 0) < 2 << 20)
        let started = ContinuousClock.now
        let error = #expect(throws: SpreadsheetError.self) { try readEverything(url) }
        #expect(error?.code == .zipBomb)
        #expect(error?.message.contains("xl/worksheets/sheet1.xml") == true)
        #expect(error?.message.contains("export the sheet as CSV") == true)
        #expect(ContinuousClock.now - started < .seconds(2))
    }

    @Test func sizeHeaderThatLiesIsCaughtWhileExtracting() throws {
        let url = try workbookWithBlankSheet(spaces: 20 << 20)
        defer { try? FileManager.default.removeItem(at: url) }
        try forgeUncompressedSize(of: "xl/worksheets/sheet1.xml", in: url, to: 4096)
        let error = #expect(throws: SpreadsheetError.self) { try readEverything(url) }
        #expect(error?.code == .zipBomb)
        #expect(error?.message.contains("declares") == true)
    }

    @Test func truncatedCompressedPartIsDamageNotAHang() throws {
        let url = try workbookWithBlankSheet(spaces: 100_000)
        defer { try? FileManager.default.removeItem(at: url) }
        try patchHeaders(of: "xl/worksheets/sheet1.xml", in: url, central: 20, local: 18, width: 4, value: 40)
        let error = #expect(throws: SpreadsheetError.self) { try readEverything(url) }
        #expect(error?.code == .malformedWorkbook)
        #expect(error?.message.contains("open the file in Excel and save it again") == true)
    }

    @Test func deflateStreamThatNeverEndsIsRefusedNotAHang() throws {
        // A non-final stored block promising 65535 bytes, then the part ends: inflate keeps asking.
        let url = XLSXFixture.temporaryURL("endless")
        defer { try? FileManager.default.removeItem(at: url) }
        let rels = XLSXFixture.relationships
        try XLSXZip.write([
            XLSXZip.Part(path: "xl/workbook.xml", text: "<workbook xmlns:r=\"\(rels)\"><sheets><sheet name=\"H\" sheetId=\"1\" r:id=\"rId1\"/></sheets></workbook>"),
            XLSXZip.Part(path: "xl/_rels/workbook.xml.rels", text: "<Relationships><Relationship Id=\"rId1\" Type=\"\(rels)/worksheet\" Target=\"worksheets/sheet1.xml\"/></Relationships>"),
            XLSXZip.Part(path: "xl/worksheets/sheet1.xml", segments: [.bytes([0x00, 0xFF, 0xFF, 0x00, 0x00] + Array("<worksheet><sheetData>".utf8))], compressed: false),
        ], to: url)
        try patchHeaders(of: "xl/worksheets/sheet1.xml", in: url, central: 10, local: 8, width: 2, value: 8)
        try forgeUncompressedSize(of: "xl/worksheets/sheet1.xml", in: url, to: 1_000_000)
        let error = #expect(throws: SpreadsheetError.self) { try readEverything(url) }
        #expect(error?.code == .malformedWorkbook)
    }

    @Test func blankPaddedSheetUnderTheLimitsReads() throws {
        let url = try workbookWithBlankSheet(spaces: 100_000)
        defer { try? FileManager.default.removeItem(at: url) }
        #expect(try readEverything(url) == 1)
    }

    @Test func unpackedSizeOverTheLimitIsRefused() throws {
        let url = try workbookWithBlankSheet(spaces: 3 << 20)
        defer { try? FileManager.default.removeItem(at: url) }
        var limits = SpreadsheetLimits()
        limits.maxUncompressedBytes = 2 << 20
        limits.maxCompressionRatio = 10_000
        let error = #expect(throws: SpreadsheetError.self) { try readEverything(url, limits: limits) }
        #expect(error?.code == .zipBomb)
        #expect(error?.message.contains("the limit is 2 MiB") == true)
    }

    @Test func zipWithoutWorkbookIsNotAnExcelWorkbook() throws {
        let url = XLSXFixture.temporaryURL("nowb")
        defer { try? FileManager.default.removeItem(at: url) }
        try XLSXZip.write([XLSXZip.Part(path: "word/document.xml", text: "<document/>")], to: url)
        let error = #expect(throws: SpreadsheetError.self) { try XLSXWorkbook(url: url, limits: SpreadsheetLimits()) }
        #expect(error?.code == .malformedWorkbook)
        #expect(error?.message.contains("not an Excel workbook") == true)
        #expect(error?.message.contains("save it from Excel as .xlsx") == true)
    }

    @Test func bytesThatAreNotAZipAreAMalformedWorkbook() throws {
        let url = XLSXFixture.temporaryURL("notzip")
        defer { try? FileManager.default.removeItem(at: url) }
        try Data("PK\u{03}\u{04} this is not really a zip archive".utf8).write(to: url)
        let error = #expect(throws: SpreadsheetError.self) { try XLSXWorkbook(url: url, limits: SpreadsheetLimits()) }
        #expect(error?.code == .malformedWorkbook)
    }

    @Test func temporarySheetFileIsGoneOnceTheReaderHasItOpen() throws {
        let url = try XLSXFixture.written { writer in
            try writer.addSheet(name: "Hoja")
            for number in 1...3 { try writer.appendRow([.number(Double(number))]) }
        }
        defer { try? FileManager.default.removeItem(at: url) }
        let workbook = try XLSXWorkbook(url: url, limits: SpreadsheetLimits())
        let reader = try #require(try workbook.rows(sheet: nil) as? XLSXSheetReader)
        let file = try #require(reader.temporaryFile)
        #expect(!FileManager.default.fileExists(atPath: file.path))
        var numbers: [Int] = []
        while let row = try reader.nextRow() { numbers.append(row.number) }
        #expect(numbers == [1, 2, 3])
    }
}
