public import Foundation

/// Reads CSV/TSV records one at a time, RFC 4180 as Excel writes it: quoted cells with `""`
/// escapes, delimiters and line breaks inside quotes, LF / CRLF / lone CR line endings.
///
/// - The file is read in chunks (1 MiB by default); memory holds a chunk plus the current record,
///   and the record is bounded by `limits` (columns × cell bytes), so it stays flat for any file size.
/// - The parser is a byte-level state machine over the buffer; one `String` per non-empty cell.
/// - `SheetRow.number` is the physical line where the record starts (the `sep=` line counts).
///   A blank line in the file is a row with one `.empty` cell; the end of the file right after a
///   line break is not a row. Cells are not trimmed; zero-length cells are `.empty`.
/// - Cell lengths are measured in the file's bytes (UTF-8, or Windows-1252 bytes = characters).
/// - After an error, every further `nextRow()` throws the same error.
public final class CSVReader: SheetRowReader {
    public let dialect: CSVDialect
    private let limits: SpreadsheetLimits
    private let source: CSVByteSource
    private let chunkSize: Int
    private let decodesWindows1252: Bool

    private var buffer: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    /// Unconsumed bytes are `buffer[start..<end]`.
    private var start = 0
    private var end = 0
    private var endOfInput = false
    private var sepLinePending: Bool
    /// Physical line where the next record starts.
    private var line = 1
    private var rowsRead = 0
    /// Cell boundaries of the record being scanned (reused between records).
    private var fields: [CSVField] = []
    private var failure: SpreadsheetError?
    private var mojibake = CSVWarningTally()
    private var badQuoting = CSVWarningTally()

    public init(url: URL, dialect: CSVDialect, limits: SpreadsheetLimits, chunkSize: Int = 1 << 20) throws {
        self.dialect = dialect
        self.limits = limits
        self.chunkSize = max(chunkSize, 64)
        self.source = try CSVByteSource(url: url, encoding: dialect.encoding, chunkSize: self.chunkSize)
        self.decodesWindows1252 = dialect.encoding == .windows1252
        self.sepLinePending = dialect.hasSepLine
        self.capacity = self.chunkSize
        self.buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: self.chunkSize)
    }

    deinit { buffer.deallocate() }

    /// Non-fatal findings so far, one per code: "mojibake" (text already mis-decoded, like `Ã±`)
    /// and "bad_quoting" (text after a closing quote, kept literally as Excel does).
    public var warnings: [SpreadsheetWarning] {
        var result: [SpreadsheetWarning] = []
        if let first = mojibake.firstRow {
            result.append(SpreadsheetWarning(
                code: "mojibake",
                message: "\(mojibake.count) cell(s) look already mis-decoded (like \"Ã±\" for \"ñ\" or \"â‚¬\" for \"€\"), first on row \(first): the data was probably saved from a program that read UTF-8 as Windows-1252; fix the text at its source",
                row: first))
        }
        if let first = badQuoting.firstRow {
            result.append(SpreadsheetWarning(
                code: SpreadsheetError.Code.badQuoting.rawValue,
                message: "\(badQuoting.count) row(s) have text after a closing quote (like \"abc\"x), first on row \(first); it was kept as part of the cell, as Excel does — check those cells",
                row: first))
        }
        return result
    }

    public func nextRow() throws -> SheetRow? {
        if let failure { throw failure }
        do {
            return try readRow()
        } catch let error as SpreadsheetError {
            failure = error
            throw error
        }
    }

    private func readRow() throws -> SheetRow? {
        if sepLinePending { try skipSepLine() }
        var scanned = fields
        fields = []
        defer { fields = scanned }
        while true {
            switch try scan(into: &scanned) {
            case .needMore:
                try fill()
            case .endOfInput:
                return nil
            case .record(let next, let innerLines):
                let number = line
                line += 1 + innerLines
                rowsRead += 1
                if rowsRead > limits.maxRows {
                    throw SpreadsheetError(
                        .tooManyRows,
                        "the file has more than \(limits.maxRows) rows (reached on line \(number)); split it into smaller files",
                        row: number)
                }
                let cells = makeCells(scanned, row: number)
                start = next
                return SheetRow(number: number, cells: cells)
            }
        }
    }

    // MARK: - Buffer

    /// Moves the unconsumed bytes to the front, grows the buffer when a long record fills it, and
    /// reads the next piece of the file.
    private func fill() throws {
        if start > 0 {
            let remaining = end - start
            if remaining > 0 { buffer.update(from: buffer + start, count: remaining) }
            end = remaining
            start = 0
        }
        if capacity - end < chunkSize / 2 {
            let newCapacity = max(capacity * 2, end + chunkSize)
            let grown = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
            grown.update(from: buffer, count: end)
            buffer.deallocate()
            buffer = grown
            capacity = newCapacity
        }
        let got = try source.read(into: buffer + end, capacity: capacity - end)
        if got == 0 { endOfInput = true } else { end += got }
    }

    private func skipSepLine() throws {
        while true {
            var index = start
            while index < end && buffer[index] != 0x0A && buffer[index] != 0x0D { index += 1 }
            if index < end && buffer[index] == 0x0D {
                if index + 1 == end && !endOfInput { try fill(); continue }
                index += index + 1 < end && buffer[index + 1] == 0x0A ? 2 : 1
            } else if index < end {
                index += 1
            } else if !endOfInput {
                try fill()
                continue
            }
            start = index
            line = 2
            sepLinePending = false
            return
        }
    }

    // MARK: - Scanning

    private enum ScanResult {
        case needMore
        case endOfInput
        /// A complete record; `next` is where the following one starts, `innerLines` the line
        /// breaks inside its quoted cells.
        case record(next: Int, innerLines: Int)
    }

    /// Finds the cell boundaries of the record at `start`. Side-effect free apart from `fields`,
    /// so a record cut by the end of the buffer is simply scanned again after `fill()`.
    private func scan(into fields: inout [CSVField]) throws -> ScanResult {
        fields.removeAll(keepingCapacity: true)
        let p = buffer
        let end = self.end
        let eof = endOfInput
        let delimiter = dialect.delimiter
        let maxCell = limits.maxCellBytes
        let maxColumns = limits.maxColumns
        let quote = UInt8(ascii: "\""), lf: UInt8 = 0x0A, cr: UInt8 = 0x0D
        var index = start
        if index == end { return eof ? .endOfInput : .needMore }
        var innerLines = 0

        while true {
            if fields.count == maxColumns {
                throw SpreadsheetError(
                    .tooManyColumns,
                    "the record starting on line \(line) has more than \(maxColumns) columns; check the delimiter (\(Self.name(of: delimiter)) was used) or remove unused columns",
                    row: line)
            }
            if index < end && p[index] == quote {
                // Quoted cell: up to the closing quote, `""` is one quote.
                let open = index
                var cursor = index + 1
                var escapes = 0
                var lineBreaks = 0
                var bits: UInt8 = 0
                while true {
                    while cursor < end {
                        let byte = p[cursor]
                        if byte == quote { break }
                        bits |= byte
                        if byte == lf {
                            lineBreaks += 1
                        } else if byte == cr && cursor + 1 < end && p[cursor + 1] != lf {
                            lineBreaks += 1
                        }
                        cursor += 1
                    }
                    if cursor == end {
                        let length = cursor - open - 1 - escapes
                        if length > maxCell {
                            throw lineBreaks > 0
                                ? unterminatedQuote(openedOn: line + innerLines, within: maxCell)
                                : cellTooLong(column: fields.count + 1, length: length)
                        }
                        if eof { throw unterminatedQuote(openedOn: line + innerLines, within: nil) }
                        return .needMore
                    }
                    if cursor + 1 == end && !eof { return .needMore }  // `"` or `""`? need the next byte
                    if cursor + 1 < end && p[cursor + 1] == quote {
                        escapes += 1
                        cursor += 2
                        continue
                    }
                    break
                }
                let close = cursor
                var after = close + 1
                var flags: UInt8 = escapes > 0 ? CSVField.unescape : 0
                if after < end {
                    let byte = p[after]
                    if byte != delimiter && byte != lf && byte != cr {
                        // Text after the closing quote: kept literally, like Excel.
                        flags |= CSVField.unescape | CSVField.badQuoting
                        while after < end {
                            let byte = p[after]
                            if byte == delimiter || byte == lf || byte == cr { break }
                            bits |= byte
                            after += 1
                        }
                        if after == end && !eof { return .needMore }
                    }
                }
                let length = (close - open - 1 - escapes) + (after - close - 1)
                if length > maxCell {
                    throw cellTooLong(column: fields.count + 1, length: length)
                }
                if bits >= 0x80 { flags |= CSVField.highBytes }
                let contentEnd = flags & CSVField.unescape != 0 ? after : close
                fields.append(CSVField(start: open + 1, end: contentEnd, flags: flags))
                innerLines += lineBreaks
                index = after
            } else {
                // Unquoted cell: up to the delimiter or the line end; quotes inside are literal.
                var cursor = index
                var bits: UInt8 = 0
                while cursor < end {
                    let byte = p[cursor]
                    if byte == delimiter || byte == lf || byte == cr { break }
                    bits |= byte
                    cursor += 1
                }
                if cursor - index > maxCell {
                    throw cellTooLong(column: fields.count + 1, length: cursor - index)
                }
                if cursor == end && !eof { return .needMore }
                fields.append(CSVField(start: index, end: cursor, flags: bits >= 0x80 ? CSVField.highBytes : 0))
                index = cursor
            }

            // After a cell: a delimiter, a line break, or the end of the file.
            if index == end { return .record(next: end, innerLines: innerLines) }
            let byte = p[index]
            if byte == delimiter {
                index += 1
                continue
            }
            if byte == lf { return .record(next: index + 1, innerLines: innerLines) }
            if index + 1 < end { return .record(next: p[index + 1] == lf ? index + 2 : index + 1, innerLines: innerLines) }
            return eof ? .record(next: index + 1, innerLines: innerLines) : .needMore
        }
    }

    // MARK: - Cells

    private func makeCells(_ fields: [CSVField], row: Int) -> [CellValue] {
        var cells: [CellValue] = []
        cells.reserveCapacity(fields.count)
        let p = buffer
        var sawBadQuoting = false
        for field in fields {
            let count = field.end - field.start
            if count == 0 {
                cells.append(.empty)
                continue
            }
            let bytes = UnsafeBufferPointer(start: p + field.start, count: count)
            if field.flags == 0 {
                cells.append(.text(String(decoding: bytes, as: UTF8.self)))
                continue
            }
            if field.flags & CSVField.badQuoting != 0 { sawBadQuoting = true }
            let highBytes = field.flags & CSVField.highBytes != 0
            let text: String
            if field.flags & CSVField.unescape == 0 && !(highBytes && decodesWindows1252) {
                if highBytes && CSVMojibake.appears(in: bytes) { mojibake.note(row: row) }
                text = String(decoding: bytes, as: UTF8.self)
            } else {
                let windows1252 = highBytes && decodesWindows1252
                let unescape = field.flags & CSVField.unescape != 0
                var suspicious = false
                text = String(unsafeUninitializedCapacity: windows1252 ? count * 3 : count) { output in
                    let written = Self.decode(bytes, unescape: unescape, windows1252: windows1252, into: output.baseAddress!)
                    if highBytes {
                        suspicious = CSVMojibake.appears(in: UnsafeBufferPointer(rebasing: output[0..<written]))
                    }
                    return written
                }
                if suspicious { mojibake.note(row: row) }
            }
            cells.append(text.isEmpty ? .empty : .text(text))
        }
        if sawBadQuoting { badQuoting.note(row: row) }
        return cells
    }

    /// Removes the quoting of a cell (`""` → `"`, the closing quote, text after it kept) and/or
    /// transcodes Windows-1252; `input` starts after the opening quote when `unescape` is set.
    private static func decode(_ input: UnsafeBufferPointer<UInt8>, unescape: Bool, windows1252: Bool, into output: UnsafeMutablePointer<UInt8>) -> Int {
        guard unescape else { return CSVWindows1252.transcode(input, into: output) }
        let quote = UInt8(ascii: "\"")
        var out = 0
        var index = 0
        var inQuotes = true
        var runStart = 0
        func flush(_ upTo: Int) {
            guard upTo > runStart else { return }
            let run = UnsafeBufferPointer(rebasing: input[runStart..<upTo])
            if windows1252 {
                out += CSVWindows1252.transcode(run, into: output + out)
            } else {
                (output + out).update(from: run.baseAddress!, count: run.count)
                out += run.count
            }
        }
        while index < input.count {
            if inQuotes && input[index] == quote {
                // Keep one quote of a `""` pair; drop the closing quote.
                flush(index + 1 < input.count && input[index + 1] == quote ? index + 1 : index)
                if index + 1 < input.count && input[index + 1] == quote {
                    index += 2
                } else {
                    inQuotes = false
                    index += 1
                }
                runStart = index
                continue
            }
            index += 1
        }
        flush(input.count)
        return out
    }

    // MARK: - Errors

    private func unterminatedQuote(openedOn line: Int, within limit: Int?) -> SpreadsheetError {
        let what = limit.map { "is not closed within \($0) bytes, across several lines" } ?? "is never closed, so the rest of the file would be one cell"
        return SpreadsheetError(
            .unterminatedQuote,
            "the quoted cell opened on line \(line) \(what); close the quote (a quote inside a quoted cell is written twice: \"\") or save the file again from Excel",
            row: line)
    }

    private func cellTooLong(column: Int, length: Int) -> SpreadsheetError {
        SpreadsheetError(
            .cellTooLong,
            "column \(column) of the record starting on line \(line) is longer than \(limits.maxCellBytes) bytes (\(length)); shorten that cell",
            row: line)
    }

    private static func name(of delimiter: UInt8) -> String {
        switch delimiter {
        case 0x09: "TAB"
        case 0x20...0x7E: "\"\(Character(Unicode.Scalar(delimiter)))\""
        default: "byte \(delimiter)"
        }
    }
}

/// Where one cell's content lies in the reader's buffer.
struct CSVField {
    var start: Int
    var end: Int
    var flags: UInt8

    /// Some byte is ≥ 0x80 (Windows-1252 transcoding, mojibake check).
    static let highBytes: UInt8 = 1
    /// `start..<end` still holds `""` pairs, the closing quote and/or text after it.
    static let unescape: UInt8 = 2
    static let badQuoting: UInt8 = 4
}

/// One warning code: the first row it concerns and how many rows/cells.
struct CSVWarningTally {
    var firstRow: Int?
    var count = 0

    mutating func note(row: Int) {
        if firstRow == nil { firstRow = row }
        count += 1
    }
}
