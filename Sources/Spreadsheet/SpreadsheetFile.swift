public import Foundation

/// Options a caller may override; everything else is detected from the bytes.
public struct SpreadsheetOptions: Sendable, Hashable {
    public var limits = SpreadsheetLimits()
    /// CSV only: force an encoding instead of BOM → strict UTF-8 → Windows-1252 detection.
    public var csvEncoding: CSVEncoding?
    /// CSV only: force a delimiter byte instead of sniffing (`;` `,` TAB `|`) and `sep=` lines.
    public var csvDelimiter: UInt8?

    public init() {}
}

/// The entry point: detects the kind from the bytes (never the extension), lists sheets, and
/// hands out row readers.
public final class SpreadsheetFile {
    public let url: URL
    public let kind: SpreadsheetKind
    /// CSV: one sheet named after the file. XLSX: the workbook's sheets in order, hidden ones flagged.
    public let sheets: [SheetInfo]
    /// CSV only: what was detected (or forced).
    public let csvDialect: CSVDialect?
    private let options: SpreadsheetOptions
    private let workbook: XLSXWorkbook?

    public init(url: URL, options: SpreadsheetOptions = SpreadsheetOptions()) throws {
        self.url = url
        self.options = options
        let kind = try SpreadsheetFile.detectKind(at: url, limits: options.limits)
        self.kind = kind
        switch kind {
        case .csv:
            let dialect = try CSVDialect.detect(at: url, options: options)
            self.csvDialect = dialect
            self.workbook = nil
            self.sheets = [SheetInfo(name: url.deletingPathExtension().lastPathComponent, index: 0, hidden: false)]
        case .xlsx:
            let workbook = try XLSXWorkbook(url: url, limits: options.limits)
            self.workbook = workbook
            self.csvDialect = nil
            self.sheets = workbook.sheets
        }
    }

    /// Rows of one sheet, by name (case-insensitive) or, when nil, the first visible sheet.
    public func rows(sheet: String? = nil) throws -> any SheetRowReader {
        switch kind {
        case .csv:
            return try CSVReader(url: url, dialect: csvDialect!, limits: options.limits)
        case .xlsx:
            return try workbook!.rows(sheet: sheet)
        }
    }

    /// Looks at the first bytes: `PK\3\4` → XLSX (must contain xl/workbook.xml, checked on open);
    /// `D0 CF 11 E0` → legacy .xls or an encrypted workbook (refused with what to do); else text → CSV.
    /// Also enforces `limits.maxFileBytes`.
    public static func detectKind(at url: URL, limits: SpreadsheetLimits = SpreadsheetLimits()) throws -> SpreadsheetKind {
        let attributes: [FileAttributeKey: Any]
        do {
            attributes = try FileManager.default.attributesOfItem(atPath: url.path)
        } catch {
            throw SpreadsheetError(.unreadable, "\(url.lastPathComponent): the file cannot be read")
        }
        let size = (attributes[.size] as? NSNumber)?.int64Value ?? 0
        if size > limits.maxFileBytes {
            throw SpreadsheetError(
                .fileTooLarge,
                "\(url.lastPathComponent) is \(size / 1_048_576) MiB; the limit is \(limits.maxFileBytes / 1_048_576) MiB — split the file")
        }
        guard let handle = try? FileHandle(forReadingFrom: url) else {
            throw SpreadsheetError(.unreadable, "\(url.lastPathComponent): the file cannot be read")
        }
        defer { try? handle.close() }
        let head = [UInt8]((try? handle.read(upToCount: 8)) ?? Data())
        if head.starts(with: [0xD0, 0xCF, 0x11, 0xE0]) {
            throw SpreadsheetError(
                .legacyOrEncrypted,
                "\(url.lastPathComponent) is a legacy .xls workbook or a password-protected one; open it in Excel and save it as .xlsx (Excel Workbook) without a password")
        }
        if head.starts(with: [0x50, 0x4B, 0x03, 0x04]) { return .xlsx }
        if head.starts(with: [0x50, 0x4B]) {
            throw SpreadsheetError(.unknownFormat, "\(url.lastPathComponent) is an empty or unusual zip archive, not an .xlsx workbook; save it from Excel as .xlsx")
        }
        return .csv
    }
}
