public import Foundation

/// A small streaming .xlsx writer: rows go to temporary files as they are appended, `finish()`
/// zips the package (deflate). Memory stays flat: only the shared-string dedupe table grows, and it
/// stops growing after 65,536 distinct strings (later strings are written without deduplication).
///
///     let writer = try XLSXWriter(url: url)
///     try writer.addSheet(name: "Cuentas")
///     try writer.appendRow([.text("Nombre"), .text("CP")])
///     try writer.appendRow([.text("Pérez SL"), .number(8001)])
///     try writer.finish()
///
/// Styles: 0 General, 1 a date (built-in format 14, shown in the reader's locale, e.g. dd/mm/yyyy in
/// Spanish Excel), 2 a date and time (format 22), then one per distinct custom format code.
public final class XLSXWriter {
    public enum Cell: Sendable, Hashable {
        case empty
        /// A shared string (deduplicated).
        case text(String)
        /// An inline string (`t="inlineStr"`).
        case inlineText(String)
        /// A shared string made of rich-text runs (the second run bold).
        case richText([String])
        /// An inline string made of rich-text runs.
        case inlineRichText([String])
        case number(Double)
        /// A number written exactly as given in `<v>` (e.g. "8001", "1E-3", "12345678901234567").
        case numberLiteral(String)
        /// A number with a custom number format code (e.g. "dd/mm/yyyy hh:mm" or "#,##0.00").
        case formatted(Double, format: String)
        /// A date with the date style, or the date-time style when `hasTime`.
        case date(SpreadsheetDateTime)
        case bool(Bool)
        /// A formula with its cached value (`.empty`: none saved, as when calculation was off).
        case formula(String, cachedValue: CellValue = .empty)
        /// An error value such as "#N/A".
        case error(String)
    }

    public struct Options: Sendable, Hashable {
        public var date1904 = false
        /// Write `r` on rows and cells, as Excel does. Off: cells carry none (a gap is written as
        /// `<c/>`) and a row carries one only when it does not follow the previous row.
        public var writeReferences = true
        /// ISO/IEC 29500 Strict namespaces instead of Transitional.
        public var strict = false
        /// A namespace prefix for SpreadsheetML elements (`x:row`), as some generators write.
        public var namespacePrefix: String?

        public init(date1904: Bool = false) {
            self.date1904 = date1904
        }
    }

    public let url: URL
    public let options: Options

    private let directory: URL
    private var sheets: [SheetEntry] = []
    private var sheet: XLSXWriterStream?
    private var lastRow = 0
    private var sharedStrings: XLSXWriterStream
    private var sharedStringCount = 0
    private var sharedStringIndex: [String: Int] = [:]
    private var customFormats: [String: Int] = [:]
    private var finished = false
    private var line: [UInt8] = []
    private var rowDigits: [UInt8] = []
    private var columnNames: [[UInt8]] = []
    private let tags: Tags

    /// The element names of the hot path as bytes, with the chosen prefix.
    private struct Tags {
        let rowOpen, rowClose, cellOpen, cellClose, valueOpen, valueClose: [UInt8]
        let formulaOpen, formulaClose, inlineOpen, inlineClose, emptyCell: [UInt8]

        init(prefix: String?) {
            func name(_ local: String) -> String { prefix.map { "\($0):\(local)" } ?? local }
            rowOpen = Array("<\(name("row"))".utf8)
            rowClose = Array("</\(name("row"))>".utf8)
            cellOpen = Array("<\(name("c"))".utf8)
            cellClose = Array("</\(name("c"))>".utf8)
            valueOpen = Array("<\(name("v"))>".utf8)
            valueClose = Array("</\(name("v"))>".utf8)
            formulaOpen = Array("<\(name("f"))>".utf8)
            formulaClose = Array("</\(name("f"))>".utf8)
            inlineOpen = Array("<\(name("is"))>".utf8)
            inlineClose = Array("</\(name("is"))>".utf8)
            emptyCell = Array("<\(name("c"))/>".utf8)
        }
    }

    private struct SheetEntry {
        var name: String
        var hidden: Bool
        var file: URL
    }

    static let maxDedupedStrings = 65_536

    public convenience init(url: URL, date1904: Bool = false) throws {
        try self.init(url: url, options: Options(date1904: date1904))
    }

    /// The file at `url` is replaced by `finish()`.
    public init(url: URL, options: Options) throws {
        self.url = url
        self.options = options
        tags = Tags(prefix: options.namespacePrefix)
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("comarca-xlsx-writer-\(UUID().uuidString)")
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            sharedStrings = try XLSXWriterStream(url: directory.appendingPathComponent("sharedStrings.body"))
        } catch {
            try? FileManager.default.removeItem(at: directory)
            throw XLSXWriterError("a temporary directory for writing \(url.lastPathComponent) could not be created: \(error)")
        }
        line.reserveCapacity(4096)
    }

    deinit {
        try? FileManager.default.removeItem(at: directory)
    }

    /// Starts a new sheet; the rows appended next go to it. Names follow Excel's rules: 1–31
    /// characters, none of `[ ] : * ? / \`, unique ignoring case.
    public func addSheet(name: String, hidden: Bool = false) throws {
        try checkOpen()
        guard !name.isEmpty, name.count <= 31, !name.contains(where: { "[]:*?/\\".contains($0) }),
              !name.hasPrefix("'"), !name.hasSuffix("'") else {
            throw XLSXWriterError("\"\(name)\" is not a valid sheet name (1–31 characters, none of [ ] : * ? / \\, not starting or ending with ')")
        }
        guard !sheets.contains(where: { $0.name.lowercased() == name.lowercased() }) else {
            throw XLSXWriterError("the workbook already has a sheet named \"\(name)\"")
        }
        try closeSheet()
        let file = directory.appendingPathComponent("sheet\(sheets.count + 1).xml")
        let stream = try XLSXWriterStream(url: file)
        stream.append("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n")
        stream.append("<\(tag("worksheet")) \(namespaceDeclarations)><\(tag("sheetData"))>")
        sheets.append(SheetEntry(name: name, hidden: hidden, file: file))
        sheet = stream
        lastRow = 0
    }

    /// Appends a row to the current sheet. `rowNumber` (1-based) must be after the previous row's;
    /// nil means the next row.
    public func appendRow(_ cells: [Cell], rowNumber: Int? = nil) throws {
        try checkOpen()
        guard let sheet else { throw XLSXWriterError("call addSheet(name:) before appending rows") }
        let number = rowNumber ?? lastRow + 1
        guard number > lastRow, number <= 1_048_576 else {
            throw XLSXWriterError("row \(number) cannot follow row \(lastRow) (rows go in ascending order, up to 1048576)")
        }
        guard cells.count <= 16_384 else { throw XLSXWriterError("a row has at most 16384 columns") }
        line.removeAll(keepingCapacity: true)
        rowDigits.removeAll(keepingCapacity: true)
        rowDigits.append(contentsOf: String(number).utf8)
        line.append(contentsOf: tags.rowOpen)
        if options.writeReferences || number != lastRow + 1 {
            line.append(contentsOf: [0x20, 0x72, 0x3D, 0x22])   // r="
            line.append(contentsOf: rowDigits)
            line.append(0x22)
        }
        line.append(UInt8(ascii: ">"))
        let lastNonEmpty = cells.lastIndex { if case .empty = $0 { false } else { true } } ?? -1
        for (column, cell) in cells.enumerated() where column <= lastNonEmpty {
            try appendCell(cell, column: column, row: number)
        }
        line.append(contentsOf: tags.rowClose)
        sheet.append(bytes: line)
        lastRow = number
    }

    /// Writes the package to `url` and removes the temporary files. Needs at least one visible sheet.
    public func finish() throws {
        try checkOpen()
        finished = true
        defer { try? FileManager.default.removeItem(at: directory) }
        try closeSheet()
        try sharedStrings.close()
        guard !sheets.isEmpty else { throw XLSXWriterError("a workbook needs at least one sheet") }
        guard sheets.contains(where: { !$0.hidden }) else {
            throw XLSXWriterError("a workbook needs at least one visible sheet")
        }
        var parts: [XLSXZip.Part] = [
            XLSXZip.Part(path: "[Content_Types].xml", text: contentTypes),
            XLSXZip.Part(path: "_rels/.rels", text: rootRelationships),
            XLSXZip.Part(path: "xl/workbook.xml", text: workbook),
            XLSXZip.Part(path: "xl/_rels/workbook.xml.rels", text: workbookRelationships),
            XLSXZip.Part(path: "xl/styles.xml", text: styles),
            XLSXZip.Part(path: "xl/sharedStrings.xml", segments: [
                .bytes(Array(("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
                    + "<\(tag("sst")) \(mainNamespace) count=\"\(sharedStringCount)\" uniqueCount=\"\(sharedStringCount)\">").utf8)),
                .file(sharedStrings.url),
                .bytes(Array("</\(tag("sst"))>".utf8)),
            ]),
        ]
        for (index, entry) in sheets.enumerated() {
            parts.append(XLSXZip.Part(path: "xl/worksheets/sheet\(index + 1).xml", segments: [.file(entry.file)]))
        }
        try? FileManager.default.removeItem(at: url)
        do {
            try XLSXZip.write(parts, to: url)
        } catch {
            try? FileManager.default.removeItem(at: url)
            throw XLSXWriterError("\(url.lastPathComponent) could not be written: \(error)")
        }
    }

    // MARK: - Cells

    private func appendCell(_ cell: Cell, column: Int, row: Int) throws {
        switch cell {
        case .empty:
            // With references a gap needs nothing; without, it keeps the next cell's position.
            if !options.writeReferences { line.append(contentsOf: tags.emptyCell) }
            return
        case .text(let text):
            openCell(column: column, row: row, type: "s")
            appendValue(String(sharedString(text)))
        case .richText(let runs):
            openCell(column: column, row: row, type: "s")
            appendValue(String(sharedRichString(runs)))
        case .inlineText(let text):
            openCell(column: column, row: row, type: "inlineStr")
            line.append(contentsOf: tags.inlineOpen)
            appendTextElement(text, to: &line)
            line.append(contentsOf: tags.inlineClose)
        case .inlineRichText(let runs):
            openCell(column: column, row: row, type: "inlineStr")
            line.append(contentsOf: tags.inlineOpen)
            appendRuns(runs, to: &line)
            line.append(contentsOf: tags.inlineClose)
        case .number(let number):
            guard let literal = XLSXWriter.literal(number) else {
                openCell(column: column, row: row, type: "e")
                appendValue("#NUM!")
                break
            }
            openCell(column: column, row: row)
            appendValue(literal)
        case .numberLiteral(let literal):
            openCell(column: column, row: row)
            appendValue(literal)
        case .formatted(let number, let format):
            openCell(column: column, row: row, style: styleIndex(format))
            appendValue(XLSXWriter.literal(number) ?? "0")
        case .date(let date):
            openCell(column: column, row: row, style: date.hasTime ? 2 : 1)
            appendValue(try serial(date, row: row, column: column))
        case .bool(let value):
            openCell(column: column, row: row, type: "b")
            appendValue(value ? "1" : "0")
        case .error(let code):
            openCell(column: column, row: row, type: "e")
            appendValue(code)
        case .formula(let formula, let cached):
            var type: StaticString?
            var style = 0
            var value: String?
            switch cached {
            case .empty: break
            case .text(let text): type = "str"; value = text
            case .number(_, let literal): value = literal
            case .date(let date): style = date.hasTime ? 2 : 1; value = try serial(date, row: row, column: column)
            case .bool(let flag): type = "b"; value = flag ? "1" : "0"
            case .error(let code): type = "e"; value = code
            }
            openCell(column: column, row: row, type: type, style: style)
            line.append(contentsOf: tags.formulaOpen)
            XLSXText.appendEscaped(formula, to: &line, ooxmlEscapes: false)
            line.append(contentsOf: tags.formulaClose)
            if let value {
                line.append(contentsOf: tags.valueOpen)
                XLSXText.appendEscaped(value, to: &line)
                line.append(contentsOf: tags.valueClose)
            }
            line.append(contentsOf: tags.cellClose)
            return
        }
        line.append(contentsOf: tags.cellClose)
    }

    private func openCell(column: Int, row: Int, type: StaticString? = nil, style: Int = 0) {
        line.append(contentsOf: tags.cellOpen)
        if options.writeReferences {
            line.append(contentsOf: [0x20, 0x72, 0x3D, 0x22])   // r="
            while columnNames.count <= column { columnNames.append(Array(XLSXText.columnName(columnNames.count).utf8)) }
            line.append(contentsOf: columnNames[column])
            line.append(contentsOf: rowDigits)
            line.append(0x22)
        }
        if style != 0 {
            line.append(contentsOf: [0x20, 0x73, 0x3D, 0x22])   // s="
            line.append(contentsOf: String(style).utf8)
            line.append(0x22)
        }
        if let type {
            line.append(contentsOf: [0x20, 0x74, 0x3D, 0x22])   // t="
            line.append(contentsOf: UnsafeBufferPointer(start: type.utf8Start, count: type.utf8CodeUnitCount))
            line.append(0x22)
        }
        line.append(UInt8(ascii: ">"))
    }

    private func appendValue(_ value: String) {
        line.append(contentsOf: tags.valueOpen)
        XLSXText.appendEscaped(value, to: &line)
        line.append(contentsOf: tags.valueClose)
    }

    private func appendTextElement(_ text: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "<"))
        out.append(contentsOf: tag("t").utf8)
        if let first = text.unicodeScalars.first, let last = text.unicodeScalars.last,
           first.properties.isWhitespace || last.properties.isWhitespace {
            out.append(contentsOf: " xml:space=\"preserve\"".utf8)
        }
        out.append(UInt8(ascii: ">"))
        XLSXText.appendEscaped(text, to: &out)
        out.append(contentsOf: "</\(tag("t"))>".utf8)
    }

    private func appendRuns(_ runs: [String], to out: inout [UInt8]) {
        for (index, run) in runs.enumerated() {
            out.append(contentsOf: "<\(tag("r"))>".utf8)
            if index % 2 == 1 {
                out.append(contentsOf: "<\(tag("rPr"))><\(tag("b"))/></\(tag("rPr"))>".utf8)
            }
            appendTextElement(run, to: &out)
            out.append(contentsOf: "</\(tag("r"))>".utf8)
        }
    }

    private func sharedString(_ text: String) -> Int {
        if let index = sharedStringIndex[text] { return index }
        var item: [UInt8] = Array("<\(tag("si"))>".utf8)
        appendTextElement(text, to: &item)
        item.append(contentsOf: "</\(tag("si"))>".utf8)
        sharedStrings.append(bytes: item)
        let index = sharedStringCount
        sharedStringCount += 1
        if sharedStringIndex.count < XLSXWriter.maxDedupedStrings { sharedStringIndex[text] = index }
        return index
    }

    private func sharedRichString(_ runs: [String]) -> Int {
        var item: [UInt8] = Array("<\(tag("si"))>".utf8)
        appendRuns(runs, to: &item)
        item.append(contentsOf: "</\(tag("si"))>".utf8)
        sharedStrings.append(bytes: item)
        sharedStringCount += 1
        return sharedStringCount - 1
    }

    private func styleIndex(_ format: String) -> Int {
        if let index = customFormats[format] { return index }
        let index = 3 + customFormats.count
        customFormats[format] = index
        return index
    }

    private func serial(_ date: SpreadsheetDateTime, row: Int, column: Int) throws -> String {
        guard let serial = XLSXDateSerial.serial(of: date, date1904: options.date1904),
              let literal = XLSXWriter.literal(serial) else {
            throw XLSXWriterError("cell \(XLSXText.columnName(column))\(row): \(date.iso8601) is not a date the workbook's date system can hold")
        }
        return literal
    }

    /// Integers without ".0"; other values in Swift's shortest round-trip form.
    static func literal(_ number: Double) -> String? {
        guard number.isFinite else { return nil }
        if number == number.rounded(), abs(number) < 1e15 { return String(Int64(number)) }
        return "\(number)"
    }

    // MARK: - XML bits

    private func tag(_ name: String) -> String {
        if let prefix = options.namespacePrefix { return "\(prefix):\(name)" }
        return name
    }

    private var mainNamespaceURI: String {
        options.strict ? "http://purl.oclc.org/ooxml/spreadsheetml/main" : "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    }

    private var relationshipsNamespaceURI: String {
        options.strict ? "http://purl.oclc.org/ooxml/officeDocument/relationships" : "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    }

    private func relationshipType(_ name: String) -> String {
        "\(relationshipsNamespaceURI)/\(name)"
    }

    private var mainNamespace: String {
        if let prefix = options.namespacePrefix { return "xmlns:\(prefix)=\"\(mainNamespaceURI)\"" }
        return "xmlns=\"\(mainNamespaceURI)\""
    }

    private var namespaceDeclarations: String {
        "\(mainNamespace) xmlns:r=\"\(relationshipsNamespaceURI)\""
    }

    private let header = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"

    private var contentTypes: String {
        var xml = header + "<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">"
        xml += "<Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/>"
        xml += "<Default Extension=\"xml\" ContentType=\"application/xml\"/>"
        xml += "<Override PartName=\"/xl/workbook.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml\"/>"
        for index in sheets.indices {
            xml += "<Override PartName=\"/xl/worksheets/sheet\(index + 1).xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml\"/>"
        }
        xml += "<Override PartName=\"/xl/styles.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml\"/>"
        xml += "<Override PartName=\"/xl/sharedStrings.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml\"/>"
        return xml + "</Types>"
    }

    private var rootRelationships: String {
        header + "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
            + "<Relationship Id=\"rId1\" Type=\"\(relationshipType("officeDocument"))\" Target=\"xl/workbook.xml\"/>"
            + "</Relationships>"
    }

    private var workbook: String {
        let activeTab = sheets.firstIndex { !$0.hidden } ?? 0
        var xml = header + "<\(tag("workbook")) \(namespaceDeclarations)\(options.strict ? " conformance=\"strict\"" : "")>"
        xml += "<\(tag("workbookPr"))\(options.date1904 ? " date1904=\"1\"" : "")/>"
        xml += "<\(tag("bookViews"))><\(tag("workbookView")) activeTab=\"\(activeTab)\"/></\(tag("bookViews"))>"
        xml += "<\(tag("sheets"))>"
        for (index, sheet) in sheets.enumerated() {
            var name: [UInt8] = []
            XLSXText.appendEscaped(sheet.name, to: &name, attribute: true, ooxmlEscapes: false)
            xml += "<\(tag("sheet")) name=\"\(String(decoding: name, as: UTF8.self))\" sheetId=\"\(index + 1)\""
            if sheet.hidden { xml += " state=\"hidden\"" }
            xml += " r:id=\"rId\(index + 1)\"/>"
        }
        return xml + "</\(tag("sheets"))></\(tag("workbook"))>"
    }

    private var workbookRelationships: String {
        var xml = header + "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
        for index in sheets.indices {
            xml += "<Relationship Id=\"rId\(index + 1)\" Type=\"\(relationshipType("worksheet"))\" Target=\"worksheets/sheet\(index + 1).xml\"/>"
        }
        xml += "<Relationship Id=\"rId\(sheets.count + 1)\" Type=\"\(relationshipType("styles"))\" Target=\"styles.xml\"/>"
        xml += "<Relationship Id=\"rId\(sheets.count + 2)\" Type=\"\(relationshipType("sharedStrings"))\" Target=\"sharedStrings.xml\"/>"
        return xml + "</Relationships>"
    }

    private var styles: String {
        let formats = customFormats.sorted { $0.value < $1.value }
        var xml = header + "<\(tag("styleSheet")) \(mainNamespace)>"
        if !formats.isEmpty {
            xml += "<\(tag("numFmts")) count=\"\(formats.count)\">"
            for (code, style) in formats {
                var escaped: [UInt8] = []
                XLSXText.appendEscaped(code, to: &escaped, attribute: true, ooxmlEscapes: false)
                xml += "<\(tag("numFmt")) numFmtId=\"\(164 + style - 3)\" formatCode=\"\(String(decoding: escaped, as: UTF8.self))\"/>"
            }
            xml += "</\(tag("numFmts"))>"
        }
        xml += "<\(tag("fonts")) count=\"2\"><\(tag("font"))><\(tag("sz")) val=\"11\"/><\(tag("name")) val=\"Calibri\"/><\(tag("family")) val=\"2\"/></\(tag("font"))>"
        xml += "<\(tag("font"))><\(tag("b"))/><\(tag("sz")) val=\"11\"/><\(tag("name")) val=\"Calibri\"/><\(tag("family")) val=\"2\"/></\(tag("font"))></\(tag("fonts"))>"
        xml += "<\(tag("fills")) count=\"2\"><\(tag("fill"))><\(tag("patternFill")) patternType=\"none\"/></\(tag("fill"))>"
        xml += "<\(tag("fill"))><\(tag("patternFill")) patternType=\"gray125\"/></\(tag("fill"))></\(tag("fills"))>"
        xml += "<\(tag("borders")) count=\"1\"><\(tag("border"))><\(tag("left"))/><\(tag("right"))/><\(tag("top"))/><\(tag("bottom"))/><\(tag("diagonal"))/></\(tag("border"))></\(tag("borders"))>"
        xml += "<\(tag("cellStyleXfs")) count=\"1\"><\(tag("xf")) numFmtId=\"0\" fontId=\"0\" fillId=\"0\" borderId=\"0\"/></\(tag("cellStyleXfs"))>"
        xml += "<\(tag("cellXfs")) count=\"\(3 + formats.count)\">"
        xml += "<\(tag("xf")) numFmtId=\"0\" fontId=\"0\" fillId=\"0\" borderId=\"0\" xfId=\"0\"/>"
        xml += "<\(tag("xf")) numFmtId=\"14\" fontId=\"0\" fillId=\"0\" borderId=\"0\" xfId=\"0\" applyNumberFormat=\"1\"/>"
        xml += "<\(tag("xf")) numFmtId=\"22\" fontId=\"0\" fillId=\"0\" borderId=\"0\" xfId=\"0\" applyNumberFormat=\"1\"/>"
        for (_, style) in formats {
            xml += "<\(tag("xf")) numFmtId=\"\(164 + style - 3)\" fontId=\"0\" fillId=\"0\" borderId=\"0\" xfId=\"0\" applyNumberFormat=\"1\"/>"
        }
        xml += "</\(tag("cellXfs"))>"
        xml += "<\(tag("cellStyles")) count=\"1\"><\(tag("cellStyle")) name=\"Normal\" xfId=\"0\" builtinId=\"0\"/></\(tag("cellStyles"))>"
        return xml + "</\(tag("styleSheet"))>"
    }

    // MARK: - Lifecycle

    private func closeSheet() throws {
        guard let sheet else { return }
        sheet.append("</\(tag("sheetData"))></\(tag("worksheet"))>")
        try sheet.close()
        self.sheet = nil
    }

    private func checkOpen() throws {
        guard !finished else { throw XLSXWriterError("the workbook was already finished") }
    }
}

public struct XLSXWriterError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Buffered appends to a temporary file.
final class XLSXWriterStream {
    let url: URL
    private let handle: FileHandle
    private var buffer: [UInt8] = []
    private var failure: (any Error)?
    private var closed = false

    init(url: URL) throws {
        self.url = url
        guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
            throw XLSXWriterError("a temporary file could not be created at \(url.path)")
        }
        handle = try FileHandle(forWritingTo: url)
        buffer.reserveCapacity(1 << 20)
    }

    func append(_ text: String) { append(bytes: Array(text.utf8)) }

    func append(bytes: [UInt8]) {
        buffer.append(contentsOf: bytes)
        if buffer.count >= 1 << 20 { flush() }
    }

    private func flush() {
        guard !buffer.isEmpty, failure == nil else { return }
        do {
            try handle.write(contentsOf: buffer)
        } catch {
            failure = error
        }
        buffer.removeAll(keepingCapacity: true)
    }

    func close() throws {
        guard !closed else { return }
        closed = true
        flush()
        try? handle.close()
        if let failure { throw XLSXWriterError("a temporary file could not be written: \(failure)") }
    }

    deinit { try? handle.close() }
}
