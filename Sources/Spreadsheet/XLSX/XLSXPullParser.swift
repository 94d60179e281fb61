#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Where a pull parser's bytes come from, read front to back once.
protocol XLSXByteSource: AnyObject {
    /// Copies up to `count` bytes into `buffer`; returns 0 at the end.
    func read(into buffer: UnsafeMutablePointer<UInt8>, count: Int) throws -> Int
}

/// Bytes already in memory (small parts: workbook, relationships, styles).
final class XLSXMemoryByteSource: XLSXByteSource {
    private let bytes: [UInt8]
    private var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    func read(into buffer: UnsafeMutablePointer<UInt8>, count: Int) throws -> Int {
        let n = min(count, bytes.count - offset)
        guard n > 0 else { return 0 }
        bytes.withUnsafeBufferPointer { source in
            buffer.update(from: source.baseAddress! + offset, count: n)
        }
        offset += n
        return n
    }
}

/// A file read in chunks (an extracted sheet or shared-strings part). Closes itself at the end.
final class XLSXFileByteSource: XLSXByteSource {
    private var file: UnsafeMutablePointer<FILE>?

    init(path: String) throws {
        guard let file = fopen(path, "rb") else {
            throw SpreadsheetError(.unreadable, "a temporary file for the workbook could not be read; check the disk and retry")
        }
        self.file = file
    }

    func read(into buffer: UnsafeMutablePointer<UInt8>, count: Int) throws -> Int {
        guard let file else { return 0 }
        let n = fread(buffer, 1, count, file)
        if n == 0 {
            if ferror(file) != 0 {
                close()
                throw SpreadsheetError(.unreadable, "a temporary file for the workbook could not be read; check the disk and retry")
            }
            close()
        }
        return n
    }

    func close() {
        if let file { fclose(file) }
        file = nil
    }

    deinit { close() }
}

/// A small byte-level XML pull tokenizer for the parts of an XLSX package.
///
/// It is deliberately not a full XML parser: elements and attributes are matched by local name (the
/// prefix is dropped, so Transitional, Strict and any prefix choice read the same), namespaces are
/// not resolved, comments, processing instructions and DOCTYPEs are skipped (no custom entities are
/// ever expanded), CDATA comes out as text. The buffer holds at most a chunk plus the token being
/// read, so memory stays flat however large the part is; long text nodes come out in pieces.
///
/// Token fields are offsets into the buffer and stay valid only until the next call to `next()`.
final class XLSXPullParser {
    enum Event: Equatable {
        case startElement
        case endElement
        case text
        case endOfDocument
    }

    private let source: any XLSXByteSource
    private var storage: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private var position = 0
    private var limit = 0
    private var sourceExhausted = false
    private let chunkSize: Int
    private let maxTokenBytes: Int
    private let partName: String

    private(set) var nameStart = 0
    private(set) var nameEnd = 0
    private(set) var attributesStart = 0
    private(set) var attributesEnd = 0
    /// `<x/>`: no end event follows.
    private(set) var isEmptyElement = false
    private(set) var textStart = 0
    private(set) var textEnd = 0
    private(set) var textIsCDATA = false

    init(source: any XLSXByteSource, partName: String, chunkSize: Int = 1 << 20, maxTokenBytes: Int = 16 << 20) {
        self.source = source
        self.partName = partName
        self.chunkSize = chunkSize
        self.maxTokenBytes = maxTokenBytes
        self.capacity = chunkSize + 4096
        self.storage = .allocate(capacity: capacity)
    }

    deinit { storage.deallocate() }

    // MARK: - Tokens

    func next() throws -> Event {
        while true {
            if position >= limit {
                if try !fill() { return .endOfDocument }
                continue
            }
            if storage[position] != XLSXPullParser.lt {
                if let lt = find(XLSXPullParser.lt, from: position, to: limit) {
                    setText(position, lt, cdata: false)
                    position = lt
                    return .text
                }
                if sourceExhausted {
                    setText(position, limit, cdata: false)
                    position = limit
                    return .text
                }
                if limit - position >= chunkSize {
                    // A giant text node: hand it out in pieces, never splitting an entity reference.
                    var cut = limit
                    if let amp = findLast(XLSXPullParser.amp, from: max(position, limit - 16), to: limit),
                       find(XLSXPullParser.semicolon, from: amp, to: limit) == nil {
                        cut = amp
                    }
                    // Keep CR LF together so line-end normalisation sees both.
                    if cut - 1 > position, storage[cut - 1] == XLSXPullParser.cr { cut -= 1 }
                    if cut > position {
                        setText(position, cut, cdata: false)
                        position = cut
                        return .text
                    }
                }
                _ = try fill()
                continue
            }
            switch try markup() {
            case .event(let event):
                return event
            case .skipped:
                continue
            case .needMore:
                if try !fill() {
                    throw malformed("the XML ends in the middle of a tag")
                }
            }
        }
    }

    private enum MarkupResult {
        case event(Event)
        case skipped
        case needMore
    }

    private func markup() throws -> MarkupResult {
        // Locals instead of properties: no exclusivity checks per byte in debug builds.
        let storage = self.storage
        let limit = self.limit
        let p = position
        guard limit - p >= 2 else { return .needMore }
        let second = storage[p + 1]
        if second == XLSXPullParser.slash {
            guard let gt = find(XLSXPullParser.gt, from: p + 2, to: limit) else { return .needMore }
            var end = gt
            while end > p + 2, XLSXPullParser.isSpace(storage[end - 1]) { end -= 1 }
            setName(p + 2, end)
            attributesStart = end
            attributesEnd = end
            isEmptyElement = false
            position = gt + 1
            return .event(.endElement)
        }
        if second == XLSXPullParser.question {
            guard let end = find("?>", from: p + 2) else { return .needMore }
            position = end + 2
            return .skipped
        }
        if second == XLSXPullParser.bang {
            if matches("<!--", at: p) {
                guard let end = find("-->", from: p + 4) else { return .needMore }
                position = end + 3
                return .skipped
            }
            if matches("<![CDATA[", at: p) {
                guard let end = find("]]>", from: p + 9) else { return .needMore }
                setText(p + 9, end, cdata: true)
                position = end + 3
                return .event(.text)
            }
            if limit - p < 9, !sourceExhausted { return .needMore }
            // <!DOCTYPE ...> possibly with an internal subset in brackets: skipped, never expanded.
            var depth = 0
            var i = p + 2
            while i < limit {
                let byte = storage[i]
                if byte == XLSXPullParser.quote || byte == XLSXPullParser.apostrophe {
                    guard let close = find(byte, from: i + 1, to: limit) else { return .needMore }
                    i = close + 1
                    continue
                }
                if byte == UInt8(ascii: "[") { depth += 1 }
                if byte == UInt8(ascii: "]") { depth -= 1 }
                if byte == XLSXPullParser.gt, depth <= 0 {
                    position = i + 1
                    return .skipped
                }
                i += 1
            }
            return .needMore
        }
        // Start tag: the name, then attributes up to a '>' outside quotes.
        var i = p + 1
        while i < limit {
            let byte = storage[i]
            if byte == XLSXPullParser.gt || byte == XLSXPullParser.slash || XLSXPullParser.isSpace(byte) { break }
            i += 1
        }
        guard i < limit else { return .needMore }
        let nameEndIndex = i
        while true {
            guard i < limit else { return .needMore }
            let byte = storage[i]
            if byte == XLSXPullParser.quote || byte == XLSXPullParser.apostrophe {
                guard let close = find(byte, from: i + 1, to: limit) else { return .needMore }
                i = close + 1
                continue
            }
            if byte == XLSXPullParser.gt { break }
            i += 1
        }
        let gt = i
        let empty = gt > nameEndIndex && storage[gt - 1] == XLSXPullParser.slash
        if nameEndIndex == p + 1 {
            throw malformed("an element has no name")
        }
        setName(p + 1, nameEndIndex)
        attributesStart = nameEndIndex
        attributesEnd = empty ? gt - 1 : gt
        isEmptyElement = empty
        position = gt + 1
        return .event(.startElement)
    }

    private func setName(_ start: Int, _ end: Int) {
        let storage = self.storage
        var local = start
        var key: UInt64 = 0
        var i = start
        while i < end {
            let byte = storage[i]
            if byte == XLSXPullParser.colon {
                local = i + 1
                key = 0
            } else {
                key = key &<< 8 | UInt64(byte)
            }
            i += 1
        }
        nameStart = local
        nameEnd = end
        nameKey = end - local <= 8 ? key : .max
    }

    /// The local name packed into an integer (names of up to 8 bytes), for cheap comparisons in
    /// hot loops: `parser.nameKey == XLSXPullParser.key("row")`.
    private(set) var nameKey: UInt64 = 0

    static func key(_ name: StaticString) -> UInt64 {
        precondition(name.utf8CodeUnitCount <= 8)
        var key: UInt64 = 0
        for index in 0..<name.utf8CodeUnitCount { key = key << 8 | UInt64(name.utf8Start[index]) }
        return key
    }

    private func setText(_ start: Int, _ end: Int, cdata: Bool) {
        textStart = start
        textEnd = end
        textIsCDATA = cdata
    }

    /// Moves unread bytes to the front and reads more. False when the source is exhausted.
    private func fill() throws -> Bool {
        if sourceExhausted { return false }
        let pending = limit - position
        if position > 0 {
            if pending > 0 { memmove(storage, storage + position, pending) }
            position = 0
            limit = pending
        }
        if capacity - limit < chunkSize {
            guard pending < maxTokenBytes else {
                throw malformed("one XML token is larger than \(maxTokenBytes >> 20) MiB")
            }
            let newCapacity = max(capacity * 2, limit + chunkSize + 4096)
            let grown = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
            grown.update(from: storage, count: limit)
            storage.deallocate()
            storage = grown
            capacity = newCapacity
        }
        let n = try source.read(into: storage + limit, count: capacity - limit)
        if n == 0 {
            sourceExhausted = true
            return false
        }
        limit += n
        return true
    }

    private func malformed(_ what: String) -> SpreadsheetError {
        SpreadsheetError(.malformedWorkbook, "\(partName) is damaged (\(what)); open the file in Excel and save it again as .xlsx")
    }

    // MARK: - Names and attributes

    /// True when the current element's local name is `name`.
    func nameIs(_ name: StaticString) -> Bool {
        bytesEqual(nameStart, nameEnd, name)
    }

    var nameLength: Int { nameEnd - nameStart }

    func byte(at index: Int) -> UInt8 { storage[index] }

    func bytesEqual(_ start: Int, _ end: Int, _ literal: StaticString) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard end - start == count else { return false }
        return memcmp(storage + start, literal.utf8Start, count) == 0
    }

    /// The next attribute of the current start tag after `cursor` (start with `attributesStart`):
    /// its local name and raw value ranges. Namespace declarations are skipped.
    func nextAttribute(_ cursor: inout Int) -> (nameStart: Int, nameEnd: Int, valueStart: Int, valueEnd: Int)? {
        let storage = self.storage
        var i = cursor
        let end = attributesEnd
        while true {
            while i < end, XLSXPullParser.isSpace(storage[i]) { i += 1 }
            guard i < end else { cursor = end; return nil }
            let rawNameStart = i
            var localStart = i
            while i < end {
                let byte = storage[i]
                if byte == XLSXPullParser.equals || XLSXPullParser.isSpace(byte) { break }
                if byte == XLSXPullParser.colon { localStart = i + 1 }
                i += 1
            }
            let nameEndIndex = i
            while i < end, XLSXPullParser.isSpace(storage[i]) { i += 1 }
            guard i < end, storage[i] == XLSXPullParser.equals else { cursor = end; return nil }
            i += 1
            while i < end, XLSXPullParser.isSpace(storage[i]) { i += 1 }
            guard i < end else { cursor = end; return nil }
            let quoteByte = storage[i]
            let valueStart = i + 1
            guard quoteByte == XLSXPullParser.quote || quoteByte == XLSXPullParser.apostrophe,
                  let close = find(quoteByte, from: valueStart, to: end) else { cursor = end; return nil }
            cursor = close + 1
            i = close + 1
            let isNamespace = bytesEqual(rawNameStart, nameEndIndex, "xmlns")
                || (localStart > rawNameStart && bytesEqual(rawNameStart, localStart - 1, "xmlns"))
            if isNamespace { continue }
            return (localStart, nameEndIndex, valueStart, close)
        }
    }

    /// The raw value range of the current element's attribute with this local name.
    func attribute(_ localName: StaticString) -> (start: Int, end: Int)? {
        var cursor = attributesStart
        while let attribute = nextAttribute(&cursor) {
            if bytesEqual(attribute.nameStart, attribute.nameEnd, localName) {
                return (attribute.valueStart, attribute.valueEnd)
            }
        }
        return nil
    }

    /// An attribute's value, entity-decoded.
    func attributeString(_ localName: StaticString) -> String? {
        guard let range = attribute(localName) else { return nil }
        return decodedString(range.start, range.end)
    }

    /// Parses an unsigned decimal in a byte range (attribute values such as `r`, `s`, `numFmtId`).
    func integer(_ start: Int, _ end: Int) -> Int? {
        var i = start
        while i < end, XLSXPullParser.isSpace(storage[i]) { i += 1 }
        var j = end
        while j > i, XLSXPullParser.isSpace(storage[j - 1]) { j -= 1 }
        guard i < j, j - i <= 18 else { return nil }
        var value = 0
        while i < j {
            let digit = Int(storage[i]) &- 48
            guard digit >= 0, digit <= 9 else { return nil }
            value = value * 10 + digit
            i += 1
        }
        return value
    }

    // MARK: - Text

    /// Appends the current text token to `out`, entity references decoded (CDATA as is).
    func appendText(to out: inout [UInt8]) {
        appendDecoded(textStart, textEnd, cdata: textIsCDATA, to: &out)
    }

    var textIsWhitespace: Bool {
        var i = textStart
        while i < textEnd {
            if !XLSXPullParser.isSpace(storage[i]) { return false }
            i += 1
        }
        return true
    }

    func decodedString(_ start: Int, _ end: Int) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(end - start)
        appendDecoded(start, end, cdata: false, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Copies bytes, decoding `&amp; &lt; &gt; &quot; &apos; &#N; &#xH;` and normalising line ends
    /// (CR LF and lone CR become LF, as XML requires). Unknown references are kept as written.
    func appendDecoded(_ start: Int, _ end: Int, cdata: Bool, to out: inout [UInt8]) {
        guard end > start else { return }
        let first = out.count
        if cdata {
            out.append(contentsOf: UnsafeBufferPointer(start: storage + start, count: end - start))
        } else {
            var i = start
            while i < end {
                let amp = find(XLSXPullParser.amp, from: i, to: end) ?? end
                if amp > i {
                    out.append(contentsOf: UnsafeBufferPointer(start: storage + i, count: amp - i))
                }
                if amp == end { break }
                if let semicolon = find(XLSXPullParser.semicolon, from: amp + 1, to: min(end, amp + 12)),
                   let scalar = entity(amp + 1, semicolon) {
                    XLSXText.appendUTF8(scalar, to: &out)
                    i = semicolon + 1
                } else {
                    out.append(XLSXPullParser.amp)
                    i = amp + 1
                }
            }
        }
        if find(XLSXPullParser.cr, from: start, to: end) != nil {
            XLSXText.normalizeLineEnds(&out, from: first)
        }
    }

    private func entity(_ start: Int, _ end: Int) -> UInt32? {
        if bytesEqual(start, end, "amp") { return 0x26 }
        if bytesEqual(start, end, "lt") { return 0x3C }
        if bytesEqual(start, end, "gt") { return 0x3E }
        if bytesEqual(start, end, "quot") { return 0x22 }
        if bytesEqual(start, end, "apos") { return 0x27 }
        guard end - start >= 2, storage[start] == UInt8(ascii: "#") else { return nil }
        var value: UInt32 = 0
        if storage[start + 1] == UInt8(ascii: "x") || storage[start + 1] == UInt8(ascii: "X") {
            guard end - start >= 3 else { return nil }
            for index in (start + 2)..<end {
                guard let digit = XLSXText.hexValue(storage[index]) else { return nil }
                value = value &* 16 &+ UInt32(digit)
            }
        } else {
            for index in (start + 1)..<end {
                let digit = UInt32(storage[index]) &- 48
                guard digit <= 9 else { return nil }
                value = value &* 10 &+ digit
            }
        }
        if value == 0 || value > 0x10FFFF || (0xD800...0xDFFF).contains(value) { return 0xFFFD }
        return value
    }

    // MARK: - Searching

    private func find(_ byte: UInt8, from start: Int, to end: Int) -> Int? {
        guard end > start else { return nil }
        let base = storage + start
        guard let hit = memchr(base, Int32(byte), end - start) else { return nil }
        return start + (hit.assumingMemoryBound(to: UInt8.self) - base)
    }

    private func findLast(_ byte: UInt8, from start: Int, to end: Int) -> Int? {
        var i = end - 1
        while i >= start {
            if storage[i] == byte { return i }
            i -= 1
        }
        return nil
    }

    /// Start of `literal` at or after `start` in the buffered bytes.
    private func find(_ literal: StaticString, from start: Int) -> Int? {
        let count = literal.utf8CodeUnitCount
        let first = literal.utf8Start.pointee
        var i = start
        while let hit = find(first, from: i, to: limit) {
            guard hit + count <= limit else { return nil }
            if memcmp(storage + hit, literal.utf8Start, count) == 0 { return hit }
            i = hit + 1
        }
        return nil
    }

    private func matches(_ literal: StaticString, at index: Int) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard index + count <= limit else { return false }
        return memcmp(storage + index, literal.utf8Start, count) == 0
    }

    static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x09 || byte == 0x0D
    }

    static let lt = UInt8(ascii: "<")
    static let gt = UInt8(ascii: ">")
    static let slash = UInt8(ascii: "/")
    static let question = UInt8(ascii: "?")
    static let bang = UInt8(ascii: "!")
    static let quote = UInt8(ascii: "\"")
    static let apostrophe = UInt8(ascii: "'")
    static let equals = UInt8(ascii: "=")
    static let colon = UInt8(ascii: ":")
    static let amp = UInt8(ascii: "&")
    static let semicolon = UInt8(ascii: ";")
    static let cr = UInt8(0x0D)
}
