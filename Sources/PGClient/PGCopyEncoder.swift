/// Rows in COPY's text format, built in a buffer the caller owns: one row per line, TAB between
/// fields, `\N` for NULL, and backslash, TAB, newline and carriage return escaped in each field.
/// A value kept in a local variable, so appending costs no dynamic exclusivity checks (a class's
/// buffer pays them on every byte); `PGCopyWriter.write(_:)` sends what it holds.
public struct PGCopyEncoder: Sendable {
    /// The encoded bytes not yet sent.
    public private(set) var bytes: [UInt8] = []
    /// Rows ended since the last `removeAll()`.
    public private(set) var rows = 0
    /// Fields appended to the current row so far.
    private var fields = 0
    /// Elements appended to the array field under way.
    private var elements = 0

    public init(capacity: Int = 64 * 1024 + 8 * 1024) {
        bytes.reserveCapacity(capacity)
    }

    public var count: Int { bytes.count }

    /// Forgets the bytes (kept allocated) and the row count; a row under way continues.
    public mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
        rows = 0
    }

    public mutating func appendNull() {
        separate()
        bytes.append(0x5C)
        bytes.append(UInt8(ascii: "N"))
    }

    public mutating func append(_ text: String?) {
        guard let text else { return appendNull() }
        append(text)
    }

    public mutating func append(_ text: String) {
        separate()
        appendEscaped(text)
    }

    /// A field whose UTF-8 bytes are given (escaped like any text).
    public mutating func append(utf8: UnsafeBufferPointer<UInt8>) {
        separate()
        appendEscaped(utf8)
    }

    /// An integer field in decimal digits.
    public mutating func append(_ number: Int) {
        separate()
        if number < 0 { bytes.append(UInt8(ascii: "-")) }
        var magnitude = number.magnitude
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // up to 24 ASCII digits, most significant last
        var count = 0
        withUnsafeMutableBytes(of: &digits) { buffer in
            repeat {
                buffer[count] = UInt8(truncatingIfNeeded: magnitude % 10) + 48
                magnitude /= 10
                count += 1
            } while magnitude > 0
            for i in stride(from: count - 1, through: 0, by: -1) { bytes.append(buffer[i]) }
        }
    }

    /// A boolean field: `t` or `f`.
    public mutating func append(_ flag: Bool) {
        separate()
        bytes.append(flag ? UInt8(ascii: "t") : UInt8(ascii: "f"))
    }

    /// Bytes already in the statement's COPY format, as they are.
    mutating func appendRaw(_ raw: some Sequence<UInt8>) {
        bytes.append(contentsOf: raw)
    }

    // MARK: - text[] fields

    /// Starts a one-dimensional array field, `{"a","b"}`, whose elements are all quoted.
    public mutating func beginArray() {
        separate()
        bytes.append(UInt8(ascii: "{"))
        elements = 0
    }

    /// One element of the array begun by `beginArray()`: quoted, with `"` and `\` backslash-escaped
    /// for the array literal, and the literal then escaped for COPY.
    public mutating func appendArrayElement(_ text: String) {
        if elements > 0 { bytes.append(UInt8(ascii: ",")) }
        elements += 1
        bytes.append(UInt8(ascii: "\""))
        Self.withUTF8(text) { input in
            var run = 0
            for i in input.indices {
                let byte = input[i]
                guard byte == 0x22 || byte == 0x5C || byte == 0x09 || byte == 0x0A || byte == 0x0D else { continue }
                if i > run { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: input[run..<i])) }
                switch byte {
                // `"` → `\"` in the literal → `\\"` in COPY; `\` → `\\` → `\\\\`.
                case 0x22: bytes.append(0x5C); bytes.append(0x5C); bytes.append(0x22)
                case 0x5C: bytes.append(0x5C); bytes.append(0x5C); bytes.append(0x5C); bytes.append(0x5C)
                default: appendControlEscape(byte)
                }
                run = i + 1
            }
            if run < input.count { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: input[run...])) }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    public mutating func endArray() {
        bytes.append(UInt8(ascii: "}"))
    }

    /// Ends the current row.
    public mutating func endRow() {
        bytes.append(0x0A)
        fields = 0
        rows += 1
    }

    // MARK: - Escaping

    private mutating func separate() {
        if fields > 0 { bytes.append(0x09) }
        fields += 1
    }

    private mutating func appendEscaped(_ text: String) {
        Self.withUTF8(text) { appendEscaped($0) }
    }

    private mutating func appendEscaped(_ input: UnsafeBufferPointer<UInt8>) {
        var run = 0
        for i in input.indices {
            let byte = input[i]
            guard byte == 0x5C || byte == 0x09 || byte == 0x0A || byte == 0x0D else { continue }
            if i > run { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: input[run..<i])) }
            if byte == 0x5C {
                bytes.append(0x5C)
                bytes.append(0x5C)
            } else {
                appendControlEscape(byte)
            }
            run = i + 1
        }
        if run < input.count { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: input[run...])) }
    }

    /// TAB, newline or carriage return as COPY's `\t`, `\n`, `\r`.
    private mutating func appendControlEscape(_ byte: UInt8) {
        bytes.append(0x5C)
        switch byte {
        case 0x09: bytes.append(UInt8(ascii: "t"))
        case 0x0A: bytes.append(UInt8(ascii: "n"))
        default: bytes.append(UInt8(ascii: "r"))
        }
    }

    private static func withUTF8<R>(_ text: String, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        if let result = text.utf8.withContiguousStorageIfAvailable(body) { return result }
        var copy = text
        return copy.withUTF8(body)
    }
}
