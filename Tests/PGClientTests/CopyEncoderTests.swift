@testable import PGClient
import Testing

/// COPY text-format encoding without a server: the bytes of fields, arrays and rows.
@Suite("COPY encoder")
struct CopyEncoderTests {
    @Test("text fields escape backslash, TAB, newline and carriage return; NULL is \\N; fields are TAB-separated")
    func textFields() {
        var encoder = PGCopyEncoder()
        encoder.append("a\\b\tc\nd\re\"f")
        encoder.append(nil as String?)
        encoder.append("ñ€\u{1}")
        encoder.endRow()
        #expect(String(decoding: encoder.bytes, as: UTF8.self) == "a\\\\b\\tc\\nd\\re\"f\t\\N\tñ€\u{1}\n")
        #expect(encoder.rows == 1)
    }

    @Test("integers and booleans are written as PostgreSQL reads them")
    func numbersAndFlags() {
        var encoder = PGCopyEncoder()
        for number in [0, 7, -7, 1_234_567_890, Int.max, Int.min] { encoder.append(number) }
        encoder.append(true)
        encoder.append(false)
        encoder.endRow()
        #expect(String(decoding: encoder.bytes, as: UTF8.self) == "0\t7\t-7\t1234567890\t\(Int.max)\t\(Int.min)\tt\tf\n")
    }

    @Test("an array field is the array literal of quoted elements, escaped for COPY")
    func arrayFields() {
        let elements = ["", "plain", "a\"b", "a\\b", "tab\t", "line\n", "cr\r", "{x,y}", "NULL", "ü😀"]
        var encoder = PGCopyEncoder()
        encoder.beginArray()
        for element in elements { encoder.appendArrayElement(element) }
        encoder.endArray()
        encoder.beginArray()
        encoder.endArray()
        encoder.endRow()
        var expected = ""
        for (i, literal) in [PGArrayLiteral.format(elements.map { $0 }), "{}"].enumerated() {
            if i > 0 { expected += "\t" }
            for scalar in literal.unicodeScalars {
                switch scalar {
                case "\\": expected += "\\\\"
                case "\t": expected += "\\t"
                case "\n": expected += "\\n"
                case "\r": expected += "\\r"
                default: expected.unicodeScalars.append(scalar)
                }
            }
        }
        #expect(String(decoding: encoder.bytes, as: UTF8.self) == expected + "\n")
    }

    @Test("emptying an encoder in the middle of a row continues the row")
    func removeAllKeepsTheRow() {
        var encoder = PGCopyEncoder()
        encoder.append("a")
        encoder.removeAll()
        encoder.append("b")
        encoder.endRow()
        #expect(String(decoding: encoder.bytes, as: UTF8.self) == "\tb\n")
        #expect(encoder.rows == 1)
    }
}
