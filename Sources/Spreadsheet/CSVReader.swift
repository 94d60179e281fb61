public import Foundation

// PLACEHOLDER — replaced by the CSV reader work (owner: CSV helper).

public enum CSVEncoding: String, Sendable, Hashable {
    case utf8, utf8BOM = "utf8_bom", utf16LE = "utf16le", utf16BE = "utf16be", windows1252
}

public struct CSVDialect: Sendable, Hashable {
    public var encoding: CSVEncoding
    public var delimiter: UInt8
    /// True when a leading `sep=X` line set the delimiter (that line is not a data row).
    public var hasSepLine: Bool

    public static func detect(at url: URL, options: SpreadsheetOptions) throws -> CSVDialect {
        throw SpreadsheetError(.unreadable, "CSV reading is not built yet")
    }
}

public final class CSVReader: SheetRowReader {
    public private(set) var warnings: [SpreadsheetWarning] = []
    public init(url: URL, dialect: CSVDialect, limits: SpreadsheetLimits) throws {
        throw SpreadsheetError(.unreadable, "CSV reading is not built yet")
    }
    public func nextRow() throws -> SheetRow? { nil }
}
