import Foundation
@testable import Spreadsheet
import Testing

/// Hands out at most `step` bytes per read, so every token crosses buffer refills.
private final class DribbleSource: XLSXByteSource {
    private let bytes: [UInt8]
    private let step: Int
    private var offset = 0

    init(_ text: String, step: Int) {
        bytes = Array(text.utf8)
        self.step = step
    }

    func read(into buffer: UnsafeMutablePointer<UInt8>, count: Int) throws -> Int {
        let n = min(step, count, bytes.count - offset)
        for index in 0..<n { buffer[index] = bytes[offset + index] }
        offset += n
        return n
    }
}

@Suite struct XLSXPullParserTests {
    /// Events as readable strings; adjacent text pieces merged (long text may come in pieces).
    private func events(_ parser: XLSXPullParser) throws -> [String] {
        var result: [String] = []
        var text: [UInt8] = []
        func flush() {
            if !text.isEmpty { result.append("text:" + String(decoding: text, as: UTF8.self)) }
            text.removeAll()
        }
        while true {
            switch try parser.next() {
            case .endOfDocument:
                flush()
                return result
            case .text:
                parser.appendText(to: &text)
            case .startElement:
                flush()
                var attributes: [String] = []
                var cursor = parser.attributesStart
                while let attribute = parser.nextAttribute(&cursor) {
                    attributes.append(parser.decodedString(attribute.nameStart, attribute.nameEnd) + "="
                        + parser.decodedString(attribute.valueStart, attribute.valueEnd))
                }
                let name = parser.decodedString(parser.nameStart, parser.nameEnd)
                result.append("start:\(name)[\(attributes.joined(separator: ","))]\(parser.isEmptyElement ? "/" : "")")
            case .endElement:
                flush()
                result.append("end:" + parser.decodedString(parser.nameStart, parser.nameEnd))
            }
        }
    }

    private let document = """
        <?xml version="1.0"?><!DOCTYPE x [<!ENTITY boom "boom">]><!-- a > comment -->\
        <x:sheet xmlns:x="urn:x" a='1>2' b="q/&quot;"><x:c r="A1"/><t xml:space="preserve">uno &amp; dos &#241;&#xF1; &boom; \r\nfin</t>\
        <t><![CDATA[<no> &amp;]]></t><v>\(String(repeating: "largo&lt;", count: 40))</v></x:sheet>
        """

    @Test func tokensAreTheSameHoweverTheBytesArrive() throws {
        let whole = try events(XLSXPullParser(source: XLSXMemoryByteSource(Array(document.utf8)), partName: "t.xml"))
        #expect(whole.first == "start:sheet[a=1>2,b=q/\"]")
        #expect(whole.contains("start:c[r=A1]/"))
        #expect(whole.contains("text:uno & dos ññ &boom; \nfin"))
        #expect(whole.contains("text:<no> &amp;"))
        #expect(whole.contains("text:" + String(repeating: "largo<", count: 40)))
        for step in [1, 2, 3, 7] {
            let dribbled = try events(XLSXPullParser(source: DribbleSource(document, step: step), partName: "t.xml", chunkSize: 8))
            #expect(dribbled == whole, "step \(step)")
        }
    }

    @Test func documentCutInsideATagIsDamaged() throws {
        let parser = XLSXPullParser(source: XLSXMemoryByteSource(Array("<a><b r=\"1".utf8)), partName: "cut.xml")
        #expect(try parser.next() == .startElement)
        let error = #expect(throws: SpreadsheetError.self) { try parser.next() }
        #expect(error?.code == .malformedWorkbook)
        #expect(error?.message.contains("cut.xml") == true)
    }
}
