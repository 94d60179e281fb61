/// The one thing the reader needs from `styles.xml`: for each cell style (`cellXfs` index, the
/// cell's `s`), whether its number format shows numbers as dates or times.
struct XLSXStyles: Sendable {
    private var kinds: [XLSXNumberFormat]

    static let none = XLSXStyles(kinds: [])

    init(kinds: [XLSXNumberFormat]) { self.kinds = kinds }

    func format(ofStyle index: Int) -> XLSXNumberFormat {
        index >= 0 && index < kinds.count ? kinds[index] : .number
    }

    /// Reads `numFmts` (custom codes, which may also redefine built-in ids) and `cellXfs`.
    static func parse(_ bytes: [UInt8], partName: String) throws -> XLSXStyles {
        let parser = XLSXPullParser(source: XLSXMemoryByteSource(bytes), partName: partName)
        var customFormats: [Int: XLSXNumberFormat] = [:]
        var styleFormatIds: [Int] = []
        var inCellXfs = false
        var xfDepth = 0
        while true {
            switch try parser.next() {
            case .endOfDocument:
                return XLSXStyles(kinds: styleFormatIds.map { id in customFormats[id] ?? XLSXNumberFormat.builtIn(id) })
            case .startElement:
                if parser.nameIs("numFmt") {
                    if let idRange = parser.attribute("numFmtId"), let id = parser.integer(idRange.start, idRange.end),
                       let code = parser.attributeString("formatCode") {
                        customFormats[id] = XLSXNumberFormat.classify(code)
                    }
                } else if parser.nameIs("cellXfs") {
                    inCellXfs = !parser.isEmptyElement
                } else if inCellXfs, parser.nameIs("xf") {
                    if xfDepth == 0 {
                        let id = parser.attribute("numFmtId").flatMap { parser.integer($0.start, $0.end) } ?? 0
                        styleFormatIds.append(id)
                    }
                    if !parser.isEmptyElement { xfDepth += 1 }
                }
            case .endElement:
                if parser.nameIs("cellXfs") {
                    inCellXfs = false
                } else if inCellXfs, parser.nameIs("xf") {
                    xfDepth = max(0, xfDepth - 1)
                }
            case .text:
                continue
            }
        }
    }
}
