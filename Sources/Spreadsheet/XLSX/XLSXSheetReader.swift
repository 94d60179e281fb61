import Foundation

/// Streams one worksheet's rows from its extracted XML: a temporary file this reader owns. On
/// POSIX systems the file is unlinked as soon as it is open, so nothing is left behind even if
/// the process dies mid-import; elsewhere it is deleted at the end or when the reader goes away.
///
/// Rows and cells without `r` take the next position; rows that hold nothing are skipped, so a
/// used range claiming a million empty rows costs only the time to scan their tags.
final class XLSXSheetReader: SheetRowReader {
    private let parser: XLSXPullParser
    private let source: XLSXFileByteSource
    /// Where the sheet was extracted (already unlinked on POSIX systems).
    private(set) var temporaryFile: URL?
    private let partName: String
    private let sharedStrings: XLSXSharedStrings
    private let styles: XLSXStyles
    private let date1904: Bool
    private let limits: SpreadsheetLimits

    private var finished = false
    private var inSheetData = false
    private var lastRowNumber = 0
    private var rowsReturned = 0
    private var value: [UInt8] = []
    private var inlineText: [UInt8] = []

    private let keyRow = XLSXPullParser.key("row")
    private let keyC = XLSXPullParser.key("c")
    private let keyV = XLSXPullParser.key("v")
    private let keyF = XLSXPullParser.key("f")
    private let keyIs = XLSXPullParser.key("is")
    private let keyT = XLSXPullParser.key("t")
    private let keyRPh = XLSXPullParser.key("rPh")

    private var baseWarnings: [SpreadsheetWarning] = []
    private var formulasWithoutValue = 0
    private var firstFormulaWithoutValueRow: Int?

    var warnings: [SpreadsheetWarning] {
        var warnings = baseWarnings
        if formulasWithoutValue > 0, let row = firstFormulaWithoutValueRow {
            warnings.append(SpreadsheetWarning(
                code: "formula_without_value",
                message: "\(formulasWithoutValue) formula cell(s) have no calculated value saved in the file (first at row \(row)); they read as empty. Open the file in Excel and save it again so the values are calculated",
                row: row))
        }
        return warnings
    }

    init(temporaryFile: URL, partName: String, sheet: SheetInfo, sharedStrings: XLSXSharedStrings,
         styles: XLSXStyles, date1904: Bool, limits: SpreadsheetLimits) throws {
        self.temporaryFile = temporaryFile
        do {
            source = try XLSXFileByteSource(path: temporaryFile.path)
        } catch {
            try? FileManager.default.removeItem(at: temporaryFile)
            throw error
        }
        #if !os(Windows)
        try? FileManager.default.removeItem(at: temporaryFile)
        #endif
        self.parser = XLSXPullParser(source: source, partName: partName)
        self.partName = partName
        self.sharedStrings = sharedStrings
        self.styles = styles
        self.date1904 = date1904
        self.limits = limits
        value.reserveCapacity(256)
        inlineText.reserveCapacity(256)
        if sheet.hidden {
            baseWarnings.append(SpreadsheetWarning(
                code: "hidden_sheet",
                message: "sheet \"\(sheet.name)\" is hidden in the workbook; make sure it is the sheet you meant to import"))
        }
    }

    deinit { finish() }

    private func finish() {
        finished = true
        source.close()
        if let temporaryFile {
            try? FileManager.default.removeItem(at: temporaryFile)
            self.temporaryFile = nil
        }
    }

    func nextRow() throws -> SheetRow? {
        guard !finished else { return nil }
        do {
            while true {
                switch try parser.next() {
                case .endOfDocument:
                    finish()
                    return nil
                case .startElement:
                    if inSheetData, parser.nameKey == keyRow {
                        if let row = try readRow() { return row }
                    } else if parser.nameIs("sheetData") {
                        inSheetData = !parser.isEmptyElement
                    }
                case .endElement:
                    if parser.nameIs("sheetData") {
                        // Nothing after sheetData (merged cells, page setup, ...) holds values.
                        finish()
                        return nil
                    }
                case .text:
                    continue
                }
            }
        } catch {
            finish()
            throw error
        }
    }

    /// At a `<row>` start tag: reads its cells; nil when the row holds nothing.
    private func readRow() throws -> SheetRow? {
        let rowNumber = parser.attribute("r").flatMap { parser.integer($0.start, $0.end) } ?? lastRowNumber + 1
        lastRowNumber = rowNumber
        if parser.isEmptyElement { return nil }
        var cells: [CellValue] = []
        var lastColumn = -1
        var hasValue = false
        while true {
            switch try parser.next() {
            case .startElement:
                guard parser.nameKey == keyC else { continue }
                let (column, cell) = try readCell(previousColumn: lastColumn, row: rowNumber)
                lastColumn = column
                if case .empty = cell { continue }
                guard column < limits.maxColumns else {
                    throw SpreadsheetError(.tooManyColumns, "sheet has a value in column \(XLSXText.columnName(column)); the limit is \(limits.maxColumns) columns", row: rowNumber)
                }
                if column >= cells.count {
                    while cells.count < column { cells.append(.empty) }
                    cells.append(cell)
                } else {
                    cells[column] = cell
                }
                if !hasValue, !XLSXSheetReader.isBlank(cell) { hasValue = true }
            case .endElement:
                guard parser.nameKey == keyRow else { continue }
                guard hasValue else { return nil }
                rowsReturned += 1
                guard rowsReturned <= limits.maxRows else {
                    throw SpreadsheetError(.tooManyRows, "the sheet has more than \(limits.maxRows) rows; split the file", row: rowNumber)
                }
                return SheetRow(number: rowNumber, cells: cells)
            case .text:
                continue
            case .endOfDocument:
                throw SpreadsheetError(.malformedWorkbook, "\(partName) ends inside a row; open the file in Excel and save it again as .xlsx", row: rowNumber)
            }
        }
    }

    private enum CellType {
        case number, sharedString, inlineString, formulaString, boolean, error, isoDate
    }

    /// At a `<c>` start tag: its column and value.
    private func readCell(previousColumn: Int, row: Int) throws -> (Int, CellValue) {
        var column = previousColumn + 1
        var type = CellType.number
        var style = 0
        var cursor = parser.attributesStart
        while let attribute = parser.nextAttribute(&cursor) {
            guard attribute.nameEnd - attribute.nameStart == 1 else { continue }
            switch parser.byte(at: attribute.nameStart) {
            case UInt8(ascii: "r"):
                if let index = columnIndex(attribute.valueStart, attribute.valueEnd) { column = index }
            case UInt8(ascii: "s"):
                style = parser.integer(attribute.valueStart, attribute.valueEnd) ?? 0
            case UInt8(ascii: "t"):
                type = cellType(attribute.valueStart, attribute.valueEnd)
            default:
                continue
            }
        }
        if parser.isEmptyElement { return (column, .empty) }

        value.removeAll(keepingCapacity: true)
        inlineText.removeAll(keepingCapacity: true)
        var hasValue = false
        var hasInline = false
        var hasFormula = false
        // 1 = inside <v>, 2 = inside <is><t> (not in a phonetic run)
        var textTarget = 0
        var inInline = false
        var phoneticDepth = 0
        let maxBytes = limits.maxCellBytes * 4
        loop: while true {
            switch try parser.next() {
            case .startElement:
                let empty = parser.isEmptyElement
                let name = parser.nameKey
                if name == keyV {
                    hasValue = true
                    if !empty { textTarget = 1 }
                } else if name == keyF {
                    hasFormula = true
                } else if name == keyIs {
                    hasInline = true
                    inInline = !empty
                } else if inInline, name == keyT {
                    if !empty, phoneticDepth == 0 { textTarget = 2 }
                } else if inInline, name == keyRPh {
                    if !empty { phoneticDepth += 1 }
                }
            case .endElement:
                let name = parser.nameKey
                if name == keyC { break loop }
                if name == keyV || name == keyT {
                    textTarget = 0
                } else if name == keyIs {
                    inInline = false
                } else if name == keyRPh {
                    phoneticDepth = max(0, phoneticDepth - 1)
                }
            case .text:
                if textTarget == 1 {
                    parser.appendText(to: &value)
                    if value.count > maxBytes { throw cellTooLong(column: column, row: row) }
                } else if textTarget == 2 {
                    parser.appendText(to: &inlineText)
                    if inlineText.count > maxBytes { throw cellTooLong(column: column, row: row) }
                }
            case .endOfDocument:
                throw SpreadsheetError(.malformedWorkbook, "\(partName) ends inside a cell; open the file in Excel and save it again as .xlsx", row: row)
            }
        }

        let cell: CellValue
        switch type {
        case .inlineString:
            if hasInline {
                cell = try text(&inlineText, column: column, row: row)
            } else {
                cell = hasValue ? try text(&value, column: column, row: row) : .empty
            }
        case .sharedString:
            guard hasValue else { cell = .empty; break }
            guard let index = parseInteger(value), index < sharedStrings.count else {
                throw SpreadsheetError(.malformedWorkbook, "cell \(XLSXText.columnName(column))\(row) points to a shared string that does not exist; open the file in Excel and save it again as .xlsx", row: row)
            }
            if sharedStrings.byteCount(at: index) > limits.maxCellBytes,
               sharedStrings.scalarCount(at: index) > limits.maxCellBytes {
                throw cellTooLong(column: column, row: row)
            }
            cell = .text(sharedStrings.string(at: index))
        case .formulaString:
            cell = hasValue ? try text(&value, column: column, row: row) : .empty
        case .boolean:
            let literal = trimmedString(value)
            cell = hasValue ? .bool(literal == "1" || literal.lowercased() == "true") : .empty
        case .error:
            cell = hasValue ? .error(trimmedString(value)) : .empty
        case .isoDate:
            cell = hasValue ? XLSXSheetReader.isoDate(trimmedString(value)) : .empty
        case .number:
            guard hasValue, !value.isEmpty else { cell = .empty; break }
            let literal = trimmedString(value)
            guard let number = Double(literal) else {
                cell = .text(literal)
                break
            }
            switch styles.format(ofStyle: style) {
            case .number:
                cell = .number(number, literal: literal)
            case .date:
                cell = XLSXDateSerial.cellValue(serial: number, date1904: date1904, timeOnly: false)
            case .time:
                cell = XLSXDateSerial.cellValue(serial: number, date1904: date1904, timeOnly: true)
            }
        }
        // No cached value: no <v>, or an empty one on a numeric cell (a cached empty string is
        // `t="str"` with `<v></v>`, which is a value).
        if hasFormula, !hasInline, !hasValue || (type == .number && value.isEmpty) {
            formulasWithoutValue += 1
            if firstFormulaWithoutValueRow == nil { firstFormulaWithoutValueRow = row }
        }
        return (column, cell)
    }

    private func text(_ bytes: inout [UInt8], column: Int, row: Int) throws -> CellValue {
        XLSXText.decodeEscapes(&bytes, from: 0)
        if bytes.count > limits.maxCellBytes,
           bytes.withUnsafeBufferPointer({ XLSXText.scalarCount($0) }) > limits.maxCellBytes {
            throw cellTooLong(column: column, row: row)
        }
        return .text(String(decoding: bytes, as: UTF8.self))
    }

    /// `CellValue.isEmpty` without its per-character Unicode lookups for the usual case.
    private static func isBlank(_ cell: CellValue) -> Bool {
        if case .text(let text) = cell, let first = text.utf8.first, first > 0x20, first < 0x80 { return false }
        return cell.isEmpty
    }

    private func cellTooLong(column: Int, row: Int) -> SpreadsheetError {
        SpreadsheetError(.cellTooLong, "cell \(XLSXText.columnName(column))\(row) is longer than \(limits.maxCellBytes) characters; shorten it", row: row)
    }

    private func columnIndex(_ start: Int, _ end: Int) -> Int? {
        var column = 0
        var letters = 0
        var i = start
        while i < end {
            let upper = parser.byte(at: i) & 0xDF
            guard upper >= 0x41, upper <= 0x5A else { break }
            column = column * 26 + Int(upper - 0x40)
            letters += 1
            i += 1
        }
        return letters == 0 || letters > 4 ? nil : column - 1
    }

    private func cellType(_ start: Int, _ end: Int) -> CellType {
        if parser.bytesEqual(start, end, "s") { return .sharedString }
        if parser.bytesEqual(start, end, "n") { return .number }
        if parser.bytesEqual(start, end, "str") { return .formulaString }
        if parser.bytesEqual(start, end, "inlineStr") { return .inlineString }
        if parser.bytesEqual(start, end, "b") { return .boolean }
        if parser.bytesEqual(start, end, "e") { return .error }
        if parser.bytesEqual(start, end, "d") { return .isoDate }
        return .number
    }

    private func parseInteger(_ bytes: [UInt8]) -> Int? {
        var result = 0
        var digits = 0
        for byte in bytes {
            if XLSXPullParser.isSpace(byte) { continue }
            let digit = Int(byte) &- 48
            guard digit >= 0, digit <= 9, digits < 18 else { return nil }
            result = result * 10 + digit
            digits += 1
        }
        return digits == 0 ? nil : result
    }

    private func trimmedString(_ bytes: [UInt8]) -> String {
        var start = 0
        var end = bytes.count
        while start < end, XLSXPullParser.isSpace(bytes[start]) { start += 1 }
        while end > start, XLSXPullParser.isSpace(bytes[end - 1]) { end -= 1 }
        if start == 0, end == bytes.count { return String(decoding: bytes, as: UTF8.self) }
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }

    /// `t="d"` cells hold ISO 8601 text: "2024-03-09", "2024-03-09T14:05:00(.000)(Z)", "14:05:00".
    static func isoDate(_ text: String) -> CellValue {
        let bytes = Array(text.utf8)
        func number(_ from: Int, _ count: Int) -> Int? {
            guard from + count <= bytes.count else { return nil }
            var value = 0
            for index in from..<(from + count) {
                let digit = Int(bytes[index]) - 48
                guard (0...9).contains(digit) else { return nil }
                value = value * 10 + digit
            }
            return value
        }
        var date = SpreadsheetDateTime(year: 1899, month: 12, day: 31)
        var timeStart: Int?
        if bytes.count >= 10, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
           let year = number(0, 4), let month = number(5, 2), let day = number(8, 2) {
            date.year = year
            date.month = month
            date.day = day
            if bytes.count > 10, bytes[10] == UInt8(ascii: "T") { timeStart = 11 }
        } else {
            timeStart = 0
        }
        if let start = timeStart {
            guard let hour = number(start, 2), let minute = number(start + 3, 2) else { return .text(text) }
            date.hour = hour
            date.minute = minute
            date.second = number(start + 6, 2) ?? 0
            date.hasTime = true
        }
        guard (1...12).contains(date.month), date.day >= 1,
              date.day <= XLSXDateSerial.daysInMonth(date.year, date.month),
              date.hour < 24, date.minute < 60, date.second < 60 else { return .text(text) }
        return .date(date)
    }
}
