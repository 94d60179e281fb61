public import Foundation

/// An opened .xlsx workbook: its sheets (in workbook order, hidden ones flagged) and a streaming
/// row reader per sheet.
///
/// Opening reads `_rels/.rels`, `xl/workbook.xml`, its relationships and `styles.xml`,
/// and checks the declared sizes of every part it may read against the zip-bomb limits. The
/// shared strings are read on the first `rows(sheet:)` call. Each reader extracts its sheet to a
/// temporary file (unlinked once open; see `XLSXSheetReader`) and parses it in 1 MiB chunks.
public final class XLSXWorkbook {
    public let sheets: [SheetInfo]
    /// True for the 1904 date system (old Mac Excel); serial 0 is then 1904-01-01.
    public let date1904: Bool

    private let package: XLSXPackage
    private let limits: SpreadsheetLimits
    private let sheetParts: [SheetPart]
    private let styles: XLSXStyles
    private let sharedStringsPath: String?
    private var sharedStrings: XLSXSharedStrings?
    /// Bytes unpacked for the parts every sheet needs (workbook, relationships, styles, strings).
    private var sharedBytes: Int64 = 0

    struct SheetPart {
        var path: String?
        var isWorksheet: Bool
    }

    public init(url: URL, limits: SpreadsheetLimits) throws {
        self.limits = limits
        let package = try XLSXPackage(url: url, limits: limits)
        self.package = package
        var budget: Int64 = 0

        // The main part: from the package relationships, else the usual place.
        var workbookPath = "xl/workbook.xml"
        if let rootRels = try package.read("_rels/.rels", budget: &budget) {
            let relationships = try XLSXRelationships.parse(rootRels, partName: "_rels/.rels", base: "")
            if let main = relationships.first(where: { $0.type.hasSuffix("/officeDocument") }),
               package.contains(main.target) {
                workbookPath = main.target
            }
        }
        guard let workbookBytes = try package.read(workbookPath, budget: &budget) else {
            let name = url.lastPathComponent
            if package.contains("xl/workbook.bin") {
                throw SpreadsheetError(.malformedWorkbook, "\(name) is an Excel Binary Workbook (.xlsb), which is not supported; open it in Excel and save it as .xlsx (Excel Workbook)")
            }
            if package.contains("content.xml"), package.contains("mimetype") {
                throw SpreadsheetError(.malformedWorkbook, "\(name) is an OpenDocument file (.ods), not an Excel workbook; save it as .xlsx (Excel 2007-365)")
            }
            throw SpreadsheetError(.malformedWorkbook, "\(name) is a zip archive but not an Excel workbook (it has no xl/workbook.xml); save it from Excel as .xlsx")
        }
        let workbook = try XLSXWorkbookPart.parse(workbookBytes, partName: workbookPath)
        date1904 = workbook.date1904

        let relsPath = XLSXRelationships.relationshipsPath(of: workbookPath)
        let base = XLSXRelationships.directory(of: workbookPath)
        let relationships = try package.read(relsPath, budget: &budget)
            .map { try XLSXRelationships.parse($0, partName: relsPath, base: base) } ?? []
        let byId = Dictionary(relationships.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })

        var infos: [SheetInfo] = []
        var parts: [SheetPart] = []
        for (index, sheet) in workbook.sheets.enumerated() {
            infos.append(SheetInfo(name: sheet.name, index: index, hidden: sheet.hidden))
            if let relationship = sheet.relationshipId.flatMap({ byId[$0] }) {
                parts.append(SheetPart(path: relationship.target, isWorksheet: relationship.type.hasSuffix("/worksheet")))
            } else {
                // No relationships part at all: fall back to Excel's naming.
                let guess = "\(base)worksheets/sheet\(index + 1).xml"
                parts.append(SheetPart(path: relationships.isEmpty && package.contains(guess) ? guess : nil, isWorksheet: true))
            }
        }
        sheets = infos
        sheetParts = parts

        let stylesPath = relationships.first(where: { $0.type.hasSuffix("/styles") })?.target ?? "\(base)styles.xml"
        let stringsPath = relationships.first(where: { $0.type.hasSuffix("/sharedStrings") })?.target ?? "\(base)sharedStrings.xml"
        sharedStringsPath = package.contains(stringsPath) ? stringsPath : nil

        // Limits up front, on the sizes the zip declares, for every part a reader may unpack.
        try package.checkDeclaredSize(of: stringsPath)
        for part in parts { if let path = part.path { try package.checkDeclaredSize(of: path) } }

        if let stylesBytes = try package.read(stylesPath, budget: &budget) {
            styles = try XLSXStyles.parse(stylesBytes, partName: stylesPath)
        } else {
            styles = .none
        }
        sharedBytes = budget
    }

    /// Rows of one sheet, by name (case-insensitive) or, when nil, the first visible worksheet.
    public func rows(sheet name: String?) throws -> any SheetRowReader {
        let index = try sheetIndex(named: name)
        let info = sheets[index]
        guard let path = sheetParts[index].path else {
            throw SpreadsheetError(.malformedWorkbook, "the data of sheet \"\(info.name)\" is missing from \(package.fileName); open the file in Excel and save it again as .xlsx")
        }
        var budget = sharedBytes
        let strings = try loadSharedStrings(budget: &budget)
        guard let temporary = try package.extractToTemporaryFile(path, budget: &budget) else {
            throw SpreadsheetError(.malformedWorkbook, "the data of sheet \"\(info.name)\" is missing from \(package.fileName); open the file in Excel and save it again as .xlsx")
        }
        let reader = try XLSXSheetReader(
            temporaryFile: temporary, partName: path, sheet: info, sharedStrings: strings,
            styles: styles, date1904: date1904, limits: limits)
        return reader
    }

    private func sheetIndex(named name: String?) throws -> Int {
        guard !sheets.isEmpty else {
            throw SpreadsheetError(.malformedWorkbook, "\(package.fileName) has no sheets; open it in Excel and save it again as .xlsx")
        }
        guard let name else {
            return sheets.indices.first { !sheets[$0].hidden && sheetParts[$0].isWorksheet }
                ?? sheets.indices.first { !sheets[$0].hidden }
                ?? 0
        }
        let wanted = name.lowercased()
        if let index = sheets.firstIndex(where: { $0.name.lowercased() == wanted }) { return index }
        let available = sheets.map { "\"\($0.name)\"" + ($0.hidden ? " (hidden)" : "") }.joined(separator: ", ")
        throw SpreadsheetError(.sheetNotFound, "the workbook has no sheet named \"\(name)\"; its sheets are \(available)")
    }

    private func loadSharedStrings(budget: inout Int64) throws -> XLSXSharedStrings {
        if let sharedStrings { return sharedStrings }
        guard let path = sharedStringsPath else {
            sharedStrings = .empty
            return .empty
        }
        guard let temporary = try package.extractToTemporaryFile(path, budget: &budget) else { return .empty }
        defer { try? FileManager.default.removeItem(at: temporary) }
        let source = try XLSXFileByteSource(path: temporary.path)
        #if !os(Windows)
        try? FileManager.default.removeItem(at: temporary)   // unlinked while open: nothing left behind
        #endif
        let strings = try XLSXSharedStrings.parse(source: source, partName: path)
        sharedStrings = strings
        sharedBytes = budget
        return strings
    }
}

/// `xl/workbook.xml`: the sheets in order and the date system.
struct XLSXWorkbookPart {
    struct Sheet {
        var name: String
        var hidden: Bool
        var relationshipId: String?
    }

    var sheets: [Sheet] = []
    var date1904 = false

    static func parse(_ bytes: [UInt8], partName: String) throws -> XLSXWorkbookPart {
        let parser = XLSXPullParser(source: XLSXMemoryByteSource(bytes), partName: partName)
        var result = XLSXWorkbookPart()
        var inSheets = false
        while true {
            switch try parser.next() {
            case .endOfDocument:
                return result
            case .startElement:
                if parser.nameIs("workbookPr") {
                    let value = parser.attributeString("date1904")?.lowercased()
                    result.date1904 = value == "1" || value == "true"
                } else if parser.nameIs("sheets") {
                    inSheets = !parser.isEmptyElement
                } else if inSheets, parser.nameIs("sheet") {
                    let state = parser.attributeString("state")?.lowercased()
                    result.sheets.append(Sheet(
                        name: parser.attributeString("name") ?? "Sheet\(result.sheets.count + 1)",
                        hidden: state == "hidden" || state == "veryhidden",
                        relationshipId: parser.attributeString("id")))
                }
            case .endElement:
                if parser.nameIs("sheets") { inSheets = false }
            case .text:
                continue
            }
        }
    }
}

/// A `.rels` part, with targets resolved to package paths.
struct XLSXRelationships {
    var id: String
    var type: String
    var target: String

    static func parse(_ bytes: [UInt8], partName: String, base: String) throws -> [XLSXRelationships] {
        let parser = XLSXPullParser(source: XLSXMemoryByteSource(bytes), partName: partName)
        var result: [XLSXRelationships] = []
        while true {
            switch try parser.next() {
            case .endOfDocument:
                return result
            case .startElement:
                guard parser.nameIs("Relationship"),
                      parser.attributeString("TargetMode")?.lowercased() != "external",
                      let id = parser.attributeString("Id"),
                      let target = parser.attributeString("Target") else { continue }
                result.append(XLSXRelationships(
                    id: id, type: parser.attributeString("Type") ?? "", target: resolve(target, base: base)))
            case .endElement, .text:
                continue
            }
        }
    }

    /// "xl/workbook.xml" → "xl/_rels/workbook.xml.rels".
    static func relationshipsPath(of part: String) -> String {
        let directory = directory(of: part)
        let file = part.dropFirst(directory.count)
        return "\(directory)_rels/\(file).rels"
    }

    /// "xl/workbook.xml" → "xl/"; "workbook.xml" → "".
    static func directory(of part: String) -> String {
        guard let slash = part.lastIndex(of: "/") else { return "" }
        return String(part[...slash])
    }

    /// A target relative to `base` ("worksheets/sheet1.xml", "../xl/x.xml") or absolute ("/xl/...").
    static func resolve(_ target: String, base: String) -> String {
        let decoded = target.removingPercentEncoding ?? target
        let joined = decoded.hasPrefix("/") ? String(decoded.dropFirst()) : base + decoded
        var segments: [Substring] = []
        for segment in joined.split(separator: "/", omittingEmptySubsequences: true) {
            if segment == "." { continue }
            if segment == ".." {
                if !segments.isEmpty { segments.removeLast() }
                continue
            }
            segments.append(segment)
        }
        return segments.joined(separator: "/")
    }
}
