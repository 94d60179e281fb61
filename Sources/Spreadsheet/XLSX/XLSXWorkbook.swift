public import Foundation

// PLACEHOLDER — replaced by the XLSX reader work (owner: XLSX helper).

public final class XLSXWorkbook {
    public let sheets: [SheetInfo]
    public init(url: URL, limits: SpreadsheetLimits) throws {
        throw SpreadsheetError(.unreadable, "XLSX reading is not built yet")
    }
    public func rows(sheet: String?) throws -> any SheetRowReader {
        throw SpreadsheetError(.unreadable, "XLSX reading is not built yet")
    }
}
