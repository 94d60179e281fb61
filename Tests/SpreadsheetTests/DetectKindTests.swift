import Foundation
import Spreadsheet
import Testing

@Suite struct DetectKindTests {
    @Test func legacyXLSHeaderIsRefusedWithWhatToDo() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("legacy-\(UUID()).xls")
        try Data([0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, 0, 0]).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        #expect(throws: SpreadsheetError.self) { try SpreadsheetFile.detectKind(at: url) }
        do {
            _ = try SpreadsheetFile.detectKind(at: url)
        } catch let error as SpreadsheetError {
            #expect(error.code == .legacyOrEncrypted)
            #expect(error.message.contains("save it as .xlsx"))
        }
    }
}
