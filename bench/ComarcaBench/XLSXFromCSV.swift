import Foundation
import Spreadsheet

/// `comarca-bench xlsx-from-csv IN.csv OUT.xlsx`: the benchmark's workbook, the same rows as the
/// CSV (read with the importer's own CSV reader) written as a Spanish client would have them:
/// numbers as numbers, dates as dates, text as shared strings.
enum XLSXFromCSV {
    static func run(input: String, output: String) throws {
        let file = try SpreadsheetFile(url: URL(fileURLWithPath: input))
        let reader = try file.rows()
        let writer = try XLSXWriter(url: URL(fileURLWithPath: output))
        try writer.addSheet(name: "Registros")
        var header = true
        while let row = try reader.nextRow() {
            if header {
                try writer.appendRow(row.cells.map { .text($0.displayText) })
                header = false
                continue
            }
            try writer.appendRow(row.cells.enumerated().map { index, cell in convert(cell.displayText, column: index) })
        }
        try writer.finish()
    }

    /// Columns of bench/import/generate-csv.awk: 5 phone, 8 amount (1.234,56), 9 date (dd/mm/yyyy),
    /// 10 postal code, 11 employees.
    static func convert(_ text: String, column: Int) -> XLSXWriter.Cell {
        switch column {
        case 5, 10, 11:
            return Double(text).map { .number($0) } ?? .text(text)
        case 8:
            let plain = text.replacingOccurrences(of: ".", with: "").replacingOccurrences(of: ",", with: ".")
            return Double(plain).map { .number($0) } ?? .text(text)
        case 9:
            let parts = text.split(separator: "/").compactMap { Int($0) }
            guard parts.count == 3 else { return .text(text) }
            return .date(SpreadsheetDateTime(year: parts[2], month: parts[1], day: parts[0]))
        default:
            return .text(text)
        }
    }
}
