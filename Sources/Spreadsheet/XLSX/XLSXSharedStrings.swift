/// The shared-string table kept compact: every string's UTF-8 bytes in one buffer plus end
/// offsets, a `String` made only when a cell asks for it. 200k unique names cost their bytes plus
/// 4 bytes each, not 200k `String` objects.
struct XLSXSharedStrings: Sendable {
    private var bytes: [UInt8] = []
    private var ends: [UInt32] = []

    static let empty = XLSXSharedStrings()

    var count: Int { ends.count }

    private func range(_ index: Int) -> Range<Int> {
        let start = index == 0 ? 0 : Int(ends[index - 1])
        return start..<Int(ends[index])
    }

    func byteCount(at index: Int) -> Int { range(index).count }

    func string(at index: Int) -> String {
        let range = range(index)
        return bytes.withUnsafeBufferPointer { buffer in
            String(decoding: UnsafeBufferPointer(rebasing: buffer[range]), as: UTF8.self)
        }
    }

    func scalarCount(at index: Int) -> Int {
        let range = range(index)
        return bytes.withUnsafeBufferPointer { buffer in
            XLSXText.scalarCount(UnsafeBufferPointer(rebasing: buffer[range]))
        }
    }

    /// Streams `sharedStrings.xml`: each `<si>` is its `<t>` text, or its rich-text runs' `<t>`
    /// texts concatenated; phonetic runs (`<rPh>`) are left out.
    static func parse(source: any XLSXByteSource, partName: String) throws -> XLSXSharedStrings {
        var table = XLSXSharedStrings()
        let parser = XLSXPullParser(source: source, partName: partName)
        var inItem = false
        var itemStart = 0
        var textDepth = 0
        var phoneticDepth = 0
        while true {
            switch try parser.next() {
            case .endOfDocument:
                return table
            case .startElement:
                if parser.isEmptyElement {
                    if parser.nameIs("si") { try table.finishItem(start: table.bytes.count, partName: partName) }
                    continue
                }
                if parser.nameIs("si") {
                    inItem = true
                    itemStart = table.bytes.count
                    textDepth = 0
                    phoneticDepth = 0
                } else if inItem, parser.nameIs("t") {
                    textDepth += 1
                } else if inItem, parser.nameIs("rPh") {
                    phoneticDepth += 1
                }
            case .endElement:
                if parser.nameIs("si") {
                    if inItem { try table.finishItem(start: itemStart, partName: partName) }
                    inItem = false
                } else if inItem, parser.nameIs("t") {
                    textDepth = max(0, textDepth - 1)
                } else if inItem, parser.nameIs("rPh") {
                    phoneticDepth = max(0, phoneticDepth - 1)
                }
            case .text:
                if inItem, textDepth > 0, phoneticDepth == 0 {
                    parser.appendText(to: &table.bytes)
                }
            }
        }
    }

    private mutating func finishItem(start: Int, partName: String) throws {
        XLSXText.decodeEscapes(&bytes, from: start)
        guard bytes.count <= Int(UInt32.max) else {
            throw SpreadsheetError(.malformedWorkbook, "\(partName) holds more than 4 GiB of text; split the workbook")
        }
        ends.append(UInt32(bytes.count))
    }
}
