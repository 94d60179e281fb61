public import Foundation

/// Reading prepared spreadsheets (CSV/TSV and XLSX) row by row with flat memory. This module knows
/// nothing of the CRM: cells come out as the file holds them; locale, field types and mapping are
/// the importer's business (ComarcaCore/Import).

/// A cell as the source file holds it.
public enum CellValue: Sendable, Hashable {
    case empty
    /// CSV cells are always text (already transcoded to UTF-8, quotes removed); XLSX shared,
    /// inline and formula-string cells too (rich-text runs concatenated).
    case text(String)
    /// An XLSX number that its style does not format as a date. `literal` is the `<v>` text as
    /// stored, so callers can keep digits a Double would lose (e.g. "12345678901234567").
    case number(Double, literal: String)
    /// An XLSX number whose number format is a date/time format, converted with the workbook's
    /// date system (1900 with its fictitious 1900-02-29, or 1904). No time zone.
    case date(SpreadsheetDateTime)
    case bool(Bool)
    /// An XLSX error cell such as `#N/A` or `#DIV/0!`.
    case error(String)

    /// The cell as text the way a person would read it (numbers by their literal, dates ISO 8601).
    public var displayText: String {
        switch self {
        case .empty: ""
        case .text(let text): text
        case .number(_, let literal): literal
        case .date(let date): date.iso8601
        case .bool(let value): value ? "TRUE" : "FALSE"
        case .error(let code): code
        }
    }

    public var isEmpty: Bool {
        switch self {
        case .empty: true
        case .text(let text):
            // A visible ASCII first byte settles it without Unicode property lookups.
            if let first = text.utf8.first, (0x21...0x7E).contains(first) { false } else { text.allSatisfy(\.isWhitespace) }
        default: false
        }
    }
}

/// A calendar date with an optional time of day, as Excel shows it (no time zone).
public struct SpreadsheetDateTime: Sendable, Hashable {
    public var year: Int
    public var month: Int
    public var day: Int
    public var hour: Int
    public var minute: Int
    public var second: Int
    /// False when the serial had no fractional part (a pure date).
    public var hasTime: Bool

    public init(year: Int, month: Int, day: Int, hour: Int = 0, minute: Int = 0, second: Int = 0, hasTime: Bool = false) {
        self.year = year
        self.month = month
        self.day = day
        self.hour = hour
        self.minute = minute
        self.second = second
        self.hasTime = hasTime
    }

    /// "2024-03-09" or "2024-03-09T14:05:00".
    public var iso8601: String {
        func pad(_ value: Int, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        let date = "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))"
        return hasTime ? date + "T\(pad(hour, 2)):\(pad(minute, 2)):\(pad(second, 2))" : date
    }
}

/// One row of a sheet. `cells[i]` is column i (0-based, A = 0); trailing empty cells may be absent,
/// so read with `cell(at:)`.
public struct SheetRow: Sendable, Hashable {
    /// 1-based row number a person sees: for XLSX the row's `r` (or its position when absent); for
    /// CSV the physical line where the record starts (a quoted newline makes a record span lines).
    public var number: Int
    public var cells: [CellValue]

    public init(number: Int, cells: [CellValue]) {
        self.number = number
        self.cells = cells
    }

    public func cell(at column: Int) -> CellValue {
        column < cells.count ? cells[column] : .empty
    }

    public var isEmpty: Bool { cells.allSatisfy(\.isEmpty) }
}

/// A source of rows, read front to back once. Readers hold at most a chunk of the file in memory.
public protocol SheetRowReader: AnyObject {
    /// The next row, or nil at the end. Throws `SpreadsheetError` for unreadable input (the error
    /// names the row/line). Entirely empty rows may be skipped by XLSX readers (sparse sheets).
    func nextRow() throws -> SheetRow?
    /// Non-fatal findings (mojibake spotted, delimiter guessed from few rows, ...), stable codes.
    var warnings: [SpreadsheetWarning] { get }
}

public struct SpreadsheetWarning: Sendable, Hashable {
    /// Stable code: "mojibake", "ragged_rows", "hidden_sheet", ...
    public var code: String
    public var message: String
    /// Row number the warning is about, when it is about one.
    public var row: Int?

    public init(code: String, message: String, row: Int? = nil) {
        self.code = code
        self.message = message
        self.row = row
    }
}

/// Everything that makes a file unreadable. `code` is stable (used in reports and HTTP problem
/// types); `message` says what is wrong and what to do, never quoting cell contents at length.
public struct SpreadsheetError: Error, Sendable, Hashable, CustomStringConvertible {
    public var code: Code
    public var message: String
    public var row: Int?

    public init(_ code: Code, _ message: String, row: Int? = nil) {
        self.code = code
        self.message = message
        self.row = row
    }

    public var description: String {
        if let row { return "row \(row): \(message)" }
        return message
    }

    public struct Code: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        public static let legacyOrEncrypted = Code(rawValue: "legacy_or_encrypted_workbook")
        public static let unknownFormat = Code(rawValue: "unknown_format")
        public static let fileTooLarge = Code(rawValue: "file_too_large")
        public static let zipBomb = Code(rawValue: "zip_bomb")
        public static let tooManyColumns = Code(rawValue: "too_many_columns")
        public static let tooManyRows = Code(rawValue: "too_many_rows")
        public static let cellTooLong = Code(rawValue: "cell_too_long")
        public static let unterminatedQuote = Code(rawValue: "unterminated_quote")
        public static let badQuoting = Code(rawValue: "bad_quoting")
        public static let badEncoding = Code(rawValue: "bad_encoding")
        public static let sheetNotFound = Code(rawValue: "sheet_not_found")
        public static let malformedWorkbook = Code(rawValue: "malformed_workbook")
        public static let unreadable = Code(rawValue: "unreadable_file")
    }
}

/// Up-front limits (IMPORT.md §20). Defaults suit a consultancy's hand-made files with room to spare.
public struct SpreadsheetLimits: Sendable, Hashable {
    public var maxFileBytes: Int64 = 1 << 30              // 1 GiB on disk
    public var maxUncompressedBytes: Int64 = 4 << 30      // XLSX: sum of the parts we read
    public var maxCompressionRatio: Int64 = 200           // XLSX: per part, uncompressed / compressed
    public var maxRows: Int = 5_000_000
    public var maxColumns: Int = 1_000
    public var maxCellBytes: Int = 32_767                 // Excel's own cell limit

    public init() {}
}

public enum SpreadsheetKind: String, Sendable, Hashable {
    case csv
    case xlsx
}

public struct SheetInfo: Sendable, Hashable {
    public var name: String
    /// 0-based position in the workbook.
    public var index: Int
    public var hidden: Bool

    public init(name: String, index: Int, hidden: Bool) {
        self.name = name
        self.index = index
        self.hidden = hidden
    }
}
