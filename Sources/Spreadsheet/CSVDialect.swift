public import Foundation

/// How a CSV file's bytes become text.
public enum CSVEncoding: String, Sendable, Hashable {
    /// UTF-8 without a byte-order mark (a BOM is still skipped if one is there).
    case utf8
    /// UTF-8 with a byte-order mark (Excel's "CSV UTF-8").
    case utf8BOM = "utf8_bom"
    /// Excel's "Texto Unicode" (with TAB) is UTF-16LE with a BOM.
    case utf16LE = "utf16le"
    case utf16BE = "utf16be"
    /// Excel es-ES "CSV". The undefined bytes 0x81 0x8D 0x8F 0x90 0x9D decode to their C1 code points.
    case windows1252
}

/// What a CSV file is made of, detected from its bytes (IMPORT.md §2–3) or forced through
/// `SpreadsheetOptions`.
public struct CSVDialect: Sendable, Hashable {
    public var encoding: CSVEncoding
    public var delimiter: UInt8
    /// True when a leading `sep=X` line set the delimiter (that line is not a data row).
    public var hasSepLine: Bool

    public init(encoding: CSVEncoding, delimiter: UInt8, hasSepLine: Bool = false) {
        self.encoding = encoding
        self.delimiter = delimiter
        self.hasSepLine = hasSepLine
    }

    /// The delimiters sniffing chooses among, in the order that breaks ties (Spanish Excel first).
    public static let candidateDelimiters: [UInt8] = [UInt8(ascii: ";"), UInt8(ascii: ","), UInt8(ascii: "\t"), UInt8(ascii: "|")]

    /// Encoding: `options.csvEncoding`, else a BOM (UTF-8, UTF-16LE, UTF-16BE), else UTF-16 recognised
    /// by its NUL bytes, else UTF-8 if the whole file is valid UTF-8 (one streaming pass), else
    /// Windows-1252. Delimiter: `options.csvDelimiter`, else a leading `sep=X` line (X one of
    /// `; , TAB |`), else sniffed over the first 50 records, else `,` (a one-column file).
    /// A `sep=` line is recognised (and later skipped) even when the delimiter is forced.
    public static func detect(at url: URL, options: SpreadsheetOptions) throws -> CSVDialect {
        let encoding: CSVEncoding
        if let forced = options.csvEncoding {
            encoding = forced
        } else {
            encoding = try detectEncoding(at: url)
        }

        // The start of the file as the parser will see it (BOM skipped, UTF-16 transcoded).
        let headCapacity = 64 * 1024
        let source = try CSVByteSource(url: url, encoding: encoding, chunkSize: headCapacity)
        let head = UnsafeMutablePointer<UInt8>.allocate(capacity: headCapacity)
        defer { head.deallocate() }
        var headCount = 0
        while headCapacity - headCount >= 16 {
            let got = try source.read(into: head + headCount, capacity: headCapacity - headCount)
            if got == 0 { break }
            headCount += got
        }
        let complete = headCapacity - headCount >= 16
        let bytes = UnsafeBufferPointer(start: head, count: headCount)

        let sepLine = sepLineDelimiter(bytes)
        let delimiter = options.csvDelimiter
            ?? sepLine
            ?? sniffDelimiter(bytes, complete: complete)
        return CSVDialect(encoding: encoding, delimiter: delimiter, hasSepLine: sepLine != nil)
    }

    // MARK: - Encoding

    static func detectEncoding(at url: URL) throws -> CSVEncoding {
        let input = try CSVFileInput(url: url)
        let chunk = 1 << 20
        let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: chunk)
        defer { buffer.deallocate() }
        var count = try input.readFully(into: buffer, count: chunk)
        let head = UnsafeBufferPointer(start: buffer, count: count)

        if head.starts(with: [0xEF, 0xBB, 0xBF]) { return .utf8BOM }
        if head.starts(with: [0xFF, 0xFE]) { return .utf16LE }
        if head.starts(with: [0xFE, 0xFF]) { return .utf16BE }
        if let utf16 = utf16WithoutBOM(UnsafeBufferPointer(rebasing: head.prefix(4096))) { return utf16 }

        var validator = CSVUTF8Validator()
        while count > 0 {
            guard validator.feed(UnsafeBufferPointer(start: buffer, count: count)) else { return .windows1252 }
            count = try input.read(into: buffer, count: chunk)
        }
        return validator.isAtBoundary ? .utf8 : .windows1252
    }

    /// UTF-16 text without a BOM shows itself by NUL bytes on one side of most code units.
    static func utf16WithoutBOM(_ head: UnsafeBufferPointer<UInt8>) -> CSVEncoding? {
        let pairs = head.count / 2
        guard pairs >= 2 else { return nil }
        var zeroFirst = 0, zeroSecond = 0
        for pair in 0..<pairs {
            if head[2 * pair] == 0 { zeroFirst += 1 }
            if head[2 * pair + 1] == 0 { zeroSecond += 1 }
        }
        if zeroSecond * 2 >= pairs && zeroFirst * 20 <= pairs { return .utf16LE }
        if zeroFirst * 2 >= pairs && zeroSecond * 20 <= pairs { return .utf16BE }
        return nil
    }

    // MARK: - Delimiter

    /// `sep=;` (case-insensitive `sep`, any candidate delimiter) alone on the first line.
    static func sepLineDelimiter(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt8? {
        guard bytes.count >= 5 else { return nil }
        guard bytes[0] | 0x20 == UInt8(ascii: "s"), bytes[1] | 0x20 == UInt8(ascii: "e"),
              bytes[2] | 0x20 == UInt8(ascii: "p"), bytes[3] == UInt8(ascii: "=") else { return nil }
        let delimiter = bytes[4]
        guard candidateDelimiters.contains(delimiter) else { return nil }
        if bytes.count == 5 { return delimiter }
        let next = bytes[5]
        return next == 0x0A || next == 0x0D ? delimiter : nil
    }

    /// For each candidate, parses the first records with it as the delimiter (quotes honoured only
    /// at the start of a field) and finds the most common non-zero delimiter count. A record where
    /// the candidate leaves text after a closing quote counts against it (`"Pérez, Ana";…` read with
    /// `,`). The winner is the candidate whose common count is shared by the most records (at least
    /// half of the non-blank ones), then the larger count, then the order of `candidateDelimiters`.
    static func sniffDelimiter(_ bytes: UnsafeBufferPointer<UInt8>, complete: Bool, maxRecords: Int = 50) -> UInt8 {
        var best: (delimiter: UInt8, frequency: Int, count: Int)?
        for candidate in candidateDelimiters {
            let counts = delimiterCounts(bytes, delimiter: candidate, complete: complete, maxRecords: maxRecords)
            let nonBlank = counts.filter { $0 != nil }.count
            var histogram: [Int: Int] = [:]
            for case let count? in counts where count > 0 { histogram[count, default: 0] += 1 }
            guard let (count, frequency) = histogram.max(by: { ($0.value, $0.key) < ($1.value, $1.key) }) else { continue }
            guard frequency * 2 >= nonBlank else { continue }
            if let current = best, (current.frequency, current.count) >= (frequency, count) { continue }
            best = (candidate, frequency, count)
        }
        return best?.delimiter ?? UInt8(ascii: ",")
    }

    /// One entry per record: nil for a blank line, -1 for bad quoting, else the delimiter count.
    static func delimiterCounts(_ bytes: UnsafeBufferPointer<UInt8>, delimiter: UInt8, complete: Bool, maxRecords: Int) -> [Int?] {
        let quote = UInt8(ascii: "\""), lf: UInt8 = 0x0A, cr: UInt8 = 0x0D
        var results: [Int?] = []
        var index = sepLineDelimiter(bytes) == nil ? 0 : skipLine(bytes, from: 0)
        let end = bytes.count
        while index < end && results.count < maxRecords {
            let recordStart = index
            var delimiters = 0
            var bad = false
            var terminated = false
            fieldLoop: while true {
                if index < end && bytes[index] == quote {
                    index += 1
                    while index < end {
                        if bytes[index] == quote {
                            if index + 1 < end && bytes[index + 1] == quote { index += 2; continue }
                            break
                        }
                        index += 1
                    }
                    if index >= end { break fieldLoop }  // quote still open at the end of the head
                    index += 1
                    if index < end && bytes[index] != delimiter && bytes[index] != lf && bytes[index] != cr { bad = true }
                }
                while index < end && bytes[index] != delimiter && bytes[index] != lf && bytes[index] != cr { index += 1 }
                if index >= end { break fieldLoop }
                if bytes[index] == delimiter {
                    delimiters += 1
                    index += 1
                    continue
                }
                terminated = true
                index = skipLine(bytes, from: index)
                break fieldLoop
            }
            if !terminated && !complete { break }  // a record cut by the end of the head
            let blank = bytes[recordStart] == lf || bytes[recordStart] == cr
            results.append(blank ? nil : (bad ? -1 : delimiters))
        }
        return results
    }

    /// The index after the line break that ends the line containing `from`.
    static func skipLine(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        var index = start
        while index < bytes.count {
            let byte = bytes[index]
            if byte == 0x0A { return index + 1 }
            if byte == 0x0D { return index + 1 < bytes.count && bytes[index + 1] == 0x0A ? index + 2 : index + 1 }
            index += 1
        }
        return index
    }
}

/// Strict UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF), fed in pieces.
struct CSVUTF8Validator {
    /// Continuation bytes still expected, and the range the next one must fall in.
    private var needed = 0
    private var low: UInt8 = 0x80
    private var high: UInt8 = 0xBF

    /// False at the first invalid byte.
    mutating func feed(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        let count = bytes.count
        var index = 0
        while index < count {
            if needed == 0 {
                // ASCII runs eight bytes at a time.
                while index + 8 <= count {
                    let word = UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self)
                    if word & 0x8080_8080_8080_8080 != 0 { break }
                    index += 8
                }
                if index >= count { break }
                let byte = base[index]
                index += 1
                switch byte {
                case 0x00...0x7F: continue
                case 0xC2...0xDF: needed = 1; low = 0x80; high = 0xBF
                case 0xE0: needed = 2; low = 0xA0; high = 0xBF
                case 0xE1...0xEC, 0xEE, 0xEF: needed = 2; low = 0x80; high = 0xBF
                case 0xED: needed = 2; low = 0x80; high = 0x9F
                case 0xF0: needed = 3; low = 0x90; high = 0xBF
                case 0xF1...0xF3: needed = 3; low = 0x80; high = 0xBF
                case 0xF4: needed = 3; low = 0x80; high = 0x8F
                default: return false
                }
            } else {
                let byte = base[index]
                index += 1
                guard byte >= low && byte <= high else { return false }
                needed -= 1
                low = 0x80
                high = 0xBF
            }
        }
        return true
    }

    /// True when the bytes fed so far end on a character boundary.
    var isAtBoundary: Bool { needed == 0 }
}
