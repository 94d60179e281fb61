public import Foundation
public import Spreadsheet
import PGClient

/// A finding about one cell or row: what the error file shows.
struct ImportIssue: Sendable, Hashable, Codable {
    var column: String?
    var raw: String?
    var code: String
    var message: String
    var severity: String = "error"

    static func error(_ code: String, _ message: String, column: String? = nil, raw: String? = nil) -> ImportIssue {
        ImportIssue(column: column, raw: raw, code: code, message: message, severity: "error")
    }

    static func warning(_ code: String, _ message: String, column: String? = nil, raw: String? = nil) -> ImportIssue {
        ImportIssue(column: column, raw: raw, code: code, message: message, severity: "warning")
    }
}

/// Turns cells into field values under the import's locale. Dates written as text take the
/// day/month order decided for their column from the whole file (`ImportDateEvidence`).
struct ImportValueReader: Sendable {
    var locale: ImportLocale
    /// Column index → decided order for text dates.
    var dateOrders: [Int: ImportDateOrder] = [:]
    let timeZone: TimeZone
    /// Gregorian in `timeZone`, made once (a Calendar per value cost more than the rest).
    private let calendar: Calendar

    /// Single-choice fields: code or label as written → code, so a million cells are not each
    /// folded against every option (FieldSpecSet.normalize still decides misses and their errors).
    private var choices: [String: [String: String]] = [:]

    init(locale: ImportLocale, dateOrders: [Int: ImportDateOrder] = [:], specs: FieldSpecSet? = nil) {
        self.locale = locale
        self.dateOrders = dateOrders
        self.timeZone = TimeZone(identifier: locale.timeZone) ?? TimeZone(identifier: "Europe/Madrid")!
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        self.calendar = calendar
        for spec in specs?.active ?? [] where spec.type == .singleChoice {
            var index: [String: String] = [:]
            for option in spec.options {
                for name in [option.code, option.label.es] + (option.label.en.map { [$0] } ?? []) where index[name] == nil {
                    index[name] = option.code
                }
            }
            choices[spec.key] = index
        }
    }

    /// What converting the cells of one column needs, looked up once for the column (a class:
    /// rows fetch it by reference instead of copying a whole FieldSpec).
    final class Conversion {
        let spec: FieldSpec
        /// The column's header and index (messages, date order), without its target.
        let column: ImportColumn
        /// Single choice: code or label as written → code.
        let choices: [String: String]?
        /// An identifier-like field (phone, postal code, tax id, short text): a number Excel
        /// shortened to scientific notation rejects the row instead of being expanded.
        let needsEveryDigit: Bool

        init(spec: FieldSpec, column: ImportColumn, choices: [String: String]?) {
            self.spec = spec
            self.column = column
            self.choices = choices
            switch spec.type {
            case .phone, .postalCode, .taxID, .text: needsEveryDigit = true
            default: needsEveryDigit = false
            }
        }
    }

    func conversion(spec: FieldSpec, column: ImportColumn) -> Conversion {
        Conversion(spec: spec, column: ImportColumn(index: column.index, header: column.header, target: nil), choices: choices[spec.key])
    }

    /// The normalised value of `cell` for `spec`, or the issue that rejects it. Warnings (a
    /// postal code that lost its leading zero) come back alongside the value.
    func value(_ cell: CellValue, spec: FieldSpec, column: ImportColumn) -> (FieldValue?, ImportIssue?) {
        value(cell, conversion(spec: spec, column: column))
    }

    func value(_ cell: CellValue, _ conversion: Conversion) -> (FieldValue?, ImportIssue?) {
        if case .text(let text) = cell, let code = conversion.choices?[text] {
            return (.string(code), nil)
        }
        let raw = cell.displayText
        if conversion.needsEveryDigit, let issue = Self.shortenedNumberIssue(cell, column: conversion.column.header) {
            return (nil, issue)
        }
        do {
            let prepared = try prepare(cell, spec: conversion.spec, column: conversion.column)
            let value = try FieldSpecSet.normalize(prepared, spec: conversion.spec, field: conversion.column.header)
            if conversion.spec.type == .postalCode, case .string(let code) = value, Self.leadingDigits(raw) == 4 {
                return (value, .warning("postal_code_padded", "a 4-digit postal code lost its leading zero; imported as \(code)", column: conversion.column.header, raw: raw))
            }
            return (value, nil)
        } catch let error as CoreError {
            let message = error.fieldErrors.first?.message ?? error.message
            return (nil, .error("invalid_value", message, column: conversion.column.header, raw: raw))
        } catch let issue as ImportIssueError {
            return (nil, issue.issue)
        } catch {
            return (nil, .error("invalid_value", "\(error)", column: conversion.column.header, raw: raw))
        }
    }

    private func prepare(_ cell: CellValue, spec: FieldSpec, column: ImportColumn) throws -> FieldValue {
        switch cell {
        case .empty:
            return .null
        case .error(let code):
            throw ImportIssueError(issue: .error("cell_error", "the cell holds the spreadsheet error \(code); fix the formula or type the value", column: column.header, raw: code))
        case .bool(let flag):
            return spec.type == .boolean ? .bool(flag) : .string(flag ? "true" : "false")
        case .date(let date):
            switch spec.type {
            case .date: return .string(String(date.iso8601.prefix(10)))
            case .datetime: return .string(utcISO(date))
            default: return .string(date.iso8601)
            }
        case .number(let double, let literal):
            switch spec.type {
            case .integer, .decimal, .money:
                let scale: Int? = spec.type == .integer ? 0 : (spec.type == .money ? 2 : nil)
                guard let number = Self.decimal(fromDouble: double, literal: literal, scale: scale) else {
                    throw ImportIssueError(issue: .error("invalid_value", "expected a number", column: column.header, raw: literal))
                }
                return .number(number)
            case .date, .datetime:
                throw ImportIssueError(issue: .error("invalid_value", "a number where a date is expected; format the column as a date in Excel", column: column.header, raw: literal))
            case .phone:
                return .string(try Normalize.phone(literal, defaultCountry: locale.phoneCountry, field: column.header))
            default:
                return .string(literal)
            }
        case .text(let text):
            switch spec.type {
            case .date:
                return .string(try textDate(text, column: column))
            case .datetime:
                return .string(try textDateTime(text, column: column))
            case .integer, .decimal, .money:
                var t = Normalize.trimmed(text)
                if !locale.decimalComma { t = t.replacingOccurrences(of: ",", with: "") }
                return .string(t)
            case .phone:
                let t = Normalize.trimmed(text)
                return t.isEmpty ? .null : .string(try Normalize.phone(t, defaultCountry: locale.phoneCountry, field: column.header))
            default:
                return .string(text)
            }
        }
    }

    // MARK: - Numbers

    /// The row's issue when `cell` holds a number in scientific notation that lacks digits the
    /// value needs (`6,12346E+08` for a 9-digit phone): the digits Excel dropped are not in the
    /// file, so the row is rejected rather than given invented zeros. Nil when every digit is there.
    static func shortenedNumberIssue(_ cell: CellValue, column: String) -> ImportIssue? {
        let text: String
        switch cell {
        case .text(let value):
            // Text must look the way spreadsheets write it (a signed exponent: E+08), so a code
            // such as 3E10 stays a code.
            guard Normalize.isShortenedNumber(value, signedExponent: true) else { return nil }
            text = Normalize.trimmed(value)
        case .number(_, let literal):
            guard Normalize.isShortenedNumber(literal, signedExponent: false) else { return nil }
            text = literal
        default:
            return nil
        }
        return .error("shortened_number", shortenedNumberMessage(text, column: column), column: column, raw: text)
    }

    static func shortenedNumberMessage(_ text: String, column: String) -> String {
        "Excel shortened the number \(text) in \(column); format the column as text and save again"
    }

    /// An XLSX number as the decimal it stands for. The file holds a binary double written with
    /// up to 17 digits (Excel) or 16 (openpyxl), so 9.890,47 € may read 9890.469999999998. It is
    /// read as the shortest decimal that gives the same double back (Swift's `description`);
    /// then, when the field has a `scale` (money 2, integer 0; else the 15 significant digits a
    /// spreadsheet shows), rounded to it if the rounded value is within one ulp of the double.
    /// A value that really carries more decimals (9890.4712) keeps them, for the field to refuse.
    /// A literal that is a plain integer is taken as written (a tool may write more digits than
    /// a double holds).
    static func decimal(fromDouble value: Double, literal: String, scale: Int?) -> Decimal? {
        if isPlainInteger(literal) { return Decimal(string: literal, locale: FieldSpecSet.posix) }
        guard value.isFinite, var shortest = Decimal(string: value.description, locale: FieldSpecSet.posix) else { return nil }
        let places: Int
        if let scale {
            places = scale
        } else {
            guard value != 0 else { return shortest }
            places = 15 - (Int((abs(value)).log10Floor) + 1)
        }
        var rounded = Decimal()
        NSDecimalRound(&rounded, &shortest, places, .plain)
        guard rounded != shortest, let back = Double("\(rounded)") else { return shortest }
        return abs(back - value) <= max(value.ulp, back.ulp) ? rounded : shortest
    }

    private static func isPlainInteger(_ text: String) -> Bool {
        var bytes = Substring(text).utf8[...]
        if let first = bytes.first, first == UInt8(ascii: "-") || first == UInt8(ascii: "+") { bytes = bytes.dropFirst() }
        return !bytes.isEmpty && bytes.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
    }

    // MARK: - Dates

    /// d/m/yyyy, m/d/yyyy (by the column's decided order), yyyy-mm-dd, with `/`, `-` or `.`.
    func textDate(_ text: String, column: ImportColumn) throws -> String {
        let t = Normalize.trimmed(text)
        guard let (y, m, d) = civilDate(t, order: dateOrders[column.index] ?? locale.dateOrder) else {
            throw ImportIssueError(issue: .error(
                "invalid_value", "expected a date (dd/mm/yyyy or yyyy-mm-dd) that exists in the calendar", column: column.header, raw: text))
        }
        return FieldSpecSet.formatDate(year: y, month: m, day: d)
    }

    /// A date with an optional hh:mm[:ss] in the import's time zone, or ISO 8601 with a zone.
    func textDateTime(_ text: String, column: ImportColumn) throws -> String {
        let t = Normalize.trimmed(text)
        if t.contains("T"), t.hasSuffix("Z") || t.dropFirst(10).contains("+") || t.dropFirst(10).contains("-") {
            return t  // ISO 8601 with a zone: FieldSpecSet checks it
        }
        let parts = t.split(whereSeparator: { $0 == " " || $0 == "T" }).map(String.init)
        guard let first = parts.first, let (y, m, d) = civilDate(first, order: dateOrders[column.index] ?? locale.dateOrder) else {
            throw ImportIssueError(issue: .error(
                "invalid_value", "expected a date and time (dd/mm/yyyy hh:mm)", column: column.header, raw: text))
        }
        var hour = 0, minute = 0, second = 0
        if parts.count >= 2 {
            let clock = parts[1].split(separator: ":").map { Int($0) }
            guard (2...3).contains(clock.count), clock.allSatisfy({ $0 != nil }),
                (0...23).contains(clock[0]!), (0...59).contains(clock[1]!), clock.count == 2 || (0...59).contains(clock[2]!)
            else {
                throw ImportIssueError(issue: .error("invalid_value", "expected a time as hh:mm or hh:mm:ss", column: column.header, raw: text))
            }
            hour = clock[0]!
            minute = clock[1]!
            second = clock.count == 3 ? clock[2]! : 0
        }
        return utcISO(SpreadsheetDateTime(year: y, month: m, day: d, hour: hour, minute: minute, second: second, hasTime: true))
    }

    /// The date parts, or nil when the text is not a date that exists (31/02 is nil, not March).
    func civilDate(_ t: String, order: ImportDateOrder) -> (Int, Int, Int)? {
        // Three runs of digits between `/`, `-` and `.` (empty runs ignored), read byte by byte;
        // any other byte fails, as it does by character below (non-ASCII text ends up in a piece).
        let fast: (Int, Int, Int)?? = Normalize.ASCIIFast.withBytes(t) { b in
            var pieces = (DatePiece(), DatePiece(), DatePiece())
            var n = 0
            var inPiece = false
            for c in b {
                if c == UInt8(ascii: "/") || c == UInt8(ascii: "-") || c == UInt8(ascii: ".") {
                    inPiece = false
                    continue
                }
                guard c >= 0x30, c <= 0x39 else { return .some(nil) }
                if !inPiece {
                    n += 1
                    guard n <= 3 else { return .some(nil) }
                    inPiece = true
                }
                let digit = Int(c - 0x30)
                switch n {
                case 1: pieces.0.add(digit)
                case 2: pieces.1.add(digit)
                default: pieces.2.add(digit)
                }
            }
            guard n == 3 else { return .some(nil) }
            // Longer pieces are read by the general code below (as Int would read them).
            guard pieces.0.count <= 18, pieces.1.count <= 18, pieces.2.count <= 18 else { return nil }
            return .some(Self.civilDate(pieces, order: order))
        }
        if let fast { return fast }
        let pieces = t.split(whereSeparator: { $0 == "/" || $0 == "-" || $0 == "." }).map(String.init)
        guard pieces.count == 3, pieces.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }) else { return nil }
        let n = pieces.map { Int($0)! }
        return Self.civilDate(
            (DatePiece(n[0], pieces[0].count), DatePiece(n[1], pieces[1].count), DatePiece(n[2], pieces[2].count)), order: order)
    }

    /// A run of digits of a date: its value and how many digits it has.
    private struct DatePiece {
        var value = 0
        var count = 0

        init(_ value: Int = 0, _ count: Int = 0) {
            self.value = value
            self.count = count
        }

        mutating func add(_ digit: Int) {
            if count < 18 { value = value * 10 + digit }
            count += 1
        }
    }

    /// y-m-d when the first piece has 4 digits, else day and month in `order` and a 4- or
    /// 2-digit year (2000 + yy); nil when that date does not exist.
    private static func civilDate(_ p: (DatePiece, DatePiece, DatePiece), order: ImportDateOrder) -> (Int, Int, Int)? {
        var y: Int, m: Int, d: Int
        if p.0.count == 4 {
            (y, m, d) = (p.0.value, p.1.value, p.2.value)
        } else {
            guard p.2.count == 4 || p.2.count == 2 else { return nil }
            y = p.2.count == 2 ? 2000 + p.2.value : p.2.value
            switch order {
            case .dayMonth: (d, m) = (p.0.value, p.1.value)
            case .monthDay: (m, d) = (p.0.value, p.1.value)
            }
        }
        guard FieldSpecSet.isRealDate(year: y, month: m, day: d) else { return nil }
        return (y, m, d)
    }

    func utcISO(_ date: SpreadsheetDateTime) -> String {
        var components = DateComponents()
        components.year = date.year
        components.month = date.month
        components.day = date.day
        components.hour = date.hour
        components.minute = date.minute
        components.second = date.second
        let instant = calendar.date(from: components) ?? Date(timeIntervalSince1970: 0)
        return CivilTime.rfc3339(instant)
    }

    /// How many digits the trimmed text starts with.
    static func leadingDigits(_ text: String) -> Int {
        guard text.utf8.allSatisfy({ $0 < 0x80 }) else { return Normalize.trimmed(text).prefix { $0.isNumber }.count }
        // ASCII: the digits are 0-9, and leading white space is what trimming drops.
        var count = 0
        var started = false
        for byte in text.utf8 {
            if !started, byte == 0x20 || (0x09...0x0D).contains(byte) { continue }
            started = true
            guard byte >= 0x30, byte <= 0x39 else { break }
            count += 1
        }
        return count
    }
}

struct ImportIssueError: Error {
    var issue: ImportIssue
}

extension Double {
    /// ⌊log10 |self|⌋ for a finite non-zero value.
    fileprivate var log10Floor: Double { Foundation.log10(Swift.abs(self)).rounded(.down) }
}

/// Evidence, per column, for the day/month order of dates written as text: a first part over 12
/// proves day-first, a second part over 12 proves month-first. Columns with no evidence use the
/// locale's order; a column with both is decided by the majority and the minority rows fail as
/// impossible dates (reported per row).
struct ImportDateEvidence {
    private var dayFirst: [Int: Int] = [:]
    private var monthFirst: [Int: Int] = [:]

    mutating func observe(_ cell: CellValue, column: Int) {
        guard case .text(let text) = cell else { return }
        let a: Int, b: Int
        if let parts = Self.firstTwoNumbers(text) {
            guard let parts else { return }
            (a, b) = parts
        } else {
            let t = Normalize.trimmed(text)
            let date = t.split(separator: " ").first.map(String.init) ?? t
            let pieces = date.split(whereSeparator: { $0 == "/" || $0 == "-" || $0 == "." })
            guard pieces.count == 3, pieces[0].count <= 2, let first = Int(pieces[0]), let second = Int(pieces[1]) else { return }
            (a, b) = (first, second)
        }
        if a > 12, b <= 12 { dayFirst[column, default: 0] += 1 }
        if b > 12, a <= 12 { monthFirst[column, default: 0] += 1 }
    }

    /// Whether some column has seen a date only `order`'s opposite can read. Without such
    /// evidence `decide(default: order)` gives `order` to every column.
    func goesAgainst(_ order: ImportDateOrder) -> Bool {
        switch order {
        case .dayMonth: !monthFirst.isEmpty
        case .monthDay: !dayFirst.isEmpty
        }
    }

    /// For ASCII text, what `observe` reads below: the first two of exactly three pieces of
    /// the first word (split at `/`, `-`, `.`), the first at most 2 characters, both whole
    /// numbers (`+` allowed); `.some(nil)` when they are not. Nil: not sure (the general code).
    private static func firstTwoNumbers(_ text: String) -> (Int, Int)?? {
        Normalize.ASCIIFast.withBytes(text) { b -> (Int, Int)?? in
            guard b.allSatisfy({ $0 < 0x80 }) else { return nil }
            var (lo, hi) = Normalize.ASCIIFast.trimmedBounds(b)
            if let space = (lo..<hi).first(where: { b[$0] == 0x20 }) { hi = space }
            // Pieces: the runs between separators; the bounds of the first two.
            var pieces = 0
            var bounds = (0, 0, 0, 0)
            var i = lo
            while i < hi {
                let c = b[i]
                if c == UInt8(ascii: "/") || c == UInt8(ascii: "-") || c == UInt8(ascii: ".") {
                    i += 1
                    continue
                }
                let start = i
                while i < hi, b[i] != UInt8(ascii: "/"), b[i] != UInt8(ascii: "-"), b[i] != UInt8(ascii: ".") { i += 1 }
                pieces += 1
                if pieces == 1 { (bounds.0, bounds.1) = (start, i) }
                if pieces == 2 { (bounds.2, bounds.3) = (start, i) }
            }
            guard pieces == 3, bounds.1 - bounds.0 <= 2 else { return .some(nil) }
            func integer(_ from: Int, _ to: Int) -> Int?? {
                var k = from
                if b[k] == UInt8(ascii: "+") { k += 1 }
                guard k < to, (k..<to).allSatisfy({ b[$0] >= 0x30 && b[$0] <= 0x39 }) else { return .some(nil) }
                guard to - k <= 18 else { return nil }
                return .some((k..<to).reduce(0) { $0 * 10 + Int(b[$1] - 0x30) })
            }
            guard let first = integer(bounds.0, bounds.1), let second = integer(bounds.2, bounds.3) else { return nil }
            guard let a = first, let b = second else { return .some(nil) }
            return .some((a, b))
        }
    }

    func decide(default order: ImportDateOrder) -> [Int: ImportDateOrder] {
        var result: [Int: ImportDateOrder] = [:]
        for column in Set(dayFirst.keys).union(monthFirst.keys) {
            let d = dayFirst[column] ?? 0
            let m = monthFirst[column] ?? 0
            result[column] = d == m ? order : (d > m ? .dayMonth : .monthDay)
        }
        return result
    }
}

extension Stage {
    /// A stage as people write it in a spreadsheet, in Spanish or English.
    static func fromSpreadsheet(_ text: String) -> Stage? {
        switch Normalize.folded(Normalize.trimmed(text)) {
        case "target", "objetivo", "publico objetivo", "prospecto": .target
        case "potential", "potencial", "cliente potencial", "lead": .potential
        case "contact", "contacto", "cliente", "customer": .contact
        case "disqualified", "descalificado", "descartado": .disqualified
        default: nil
        }
    }
}
