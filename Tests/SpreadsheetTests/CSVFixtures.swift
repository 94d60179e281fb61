import Foundation
import Spreadsheet
import Testing

/// CSV fixtures written by the tests into a fresh temporary directory.
final class CSVFixtures {
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("csv-tests-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    func write(_ bytes: [UInt8], name: String = "data.csv") throws -> URL {
        let url = directory.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url
    }

    func write(utf8 text: String, name: String = "data.csv") throws -> URL {
        try write(Array(text.utf8), name: name)
    }

    /// Windows-1252 bytes of `text` (only Latin-1 and the 0x80–0x9F additions used in tests).
    static func windows1252(_ text: String) -> [UInt8] {
        let extras: [Unicode.Scalar: UInt8] = ["€": 0x80, "‚": 0x82, "„": 0x84, "…": 0x85, "‘": 0x91, "’": 0x92, "“": 0x93, "”": 0x94, "–": 0x96, "—": 0x97, "™": 0x99, "Œ": 0x8C, "œ": 0x9C, "Ÿ": 0x9F]
        var bytes: [UInt8] = []
        for scalar in text.unicodeScalars {
            if let byte = extras[scalar] {
                bytes.append(byte)
            } else {
                precondition(scalar.value < 0x100, "not in the test's Windows-1252 subset")
                bytes.append(UInt8(scalar.value))
            }
        }
        return bytes
    }

    static func utf16(_ text: String, bigEndian: Bool, bom: Bool) -> [UInt8] {
        var bytes: [UInt8] = bom ? (bigEndian ? [0xFE, 0xFF] : [0xFF, 0xFE]) : []
        for unit in text.utf16 {
            let high = UInt8(unit >> 8), low = UInt8(unit & 0xFF)
            bytes += bigEndian ? [high, low] : [low, high]
        }
        return bytes
    }
}

extension SheetRow {
    /// Cells as strings ("" for empty) for compact expectations.
    var csvTexts: [String] { cells.map(\.displayText) }
}

/// Reads every row through the facade.
func csvReadAll(_ url: URL, options: SpreadsheetOptions = SpreadsheetOptions()) throws -> (rows: [SheetRow], dialect: CSVDialect, warnings: [SpreadsheetWarning]) {
    let file = try SpreadsheetFile(url: url, options: options)
    let reader = try file.rows()
    var rows: [SheetRow] = []
    while let row = try reader.nextRow() { rows.append(row) }
    return (rows, file.csvDialect!, reader.warnings)
}

/// Reads every row with an explicit dialect and chunk size (chunk boundaries anywhere).
func csvReadAll(_ url: URL, dialect: CSVDialect, limits: SpreadsheetLimits = SpreadsheetLimits(), chunkSize: Int = 1 << 20) throws -> [SheetRow] {
    let reader = try CSVReader(url: url, dialect: dialect, limits: limits, chunkSize: chunkSize)
    var rows: [SheetRow] = []
    while let row = try reader.nextRow() { rows.append(row) }
    return rows
}

/// The error `body` throws, as a SpreadsheetError.
func csvError(_ body: () throws -> Void) -> SpreadsheetError? {
    do {
        try body()
        return nil
    } catch let error as SpreadsheetError {
        return error
    } catch {
        return nil
    }
}

/// The fixtures' own encoders, which the dialect tests rely on, against Foundation's.
@Suite struct CSVFixturesTests {
    @Test func windows1252BytesAreFoundationsForTheTestsCharacters() throws {
        let text = "Peña;€ 1.234,56;“Ñandú” — Œuvre™…\n"
        #expect(CSVFixtures.windows1252(text) == Array(try #require(text.data(using: .windowsCP1252))))
    }

    @Test func utf16BytesAreFoundationsWithTheChosenOrderAndMark() throws {
        let text = "id;nombre\n1;Íñigo €\n"
        #expect(CSVFixtures.utf16(text, bigEndian: true, bom: false) == Array(try #require(text.data(using: .utf16BigEndian))))
        #expect(CSVFixtures.utf16(text, bigEndian: false, bom: false) == Array(try #require(text.data(using: .utf16LittleEndian))))
        #expect(CSVFixtures.utf16(text, bigEndian: false, bom: true).prefix(2) == [0xFF, 0xFE])
        #expect(CSVFixtures.utf16(text, bigEndian: true, bom: true).prefix(2) == [0xFE, 0xFF])
    }
}
