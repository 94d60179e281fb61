import Foundation
import Logging
import Testing

@testable import ComarcaHTTP

@Suite("observability: the JSON log line")
struct ObservabilityLogLineTests {
    static func decode(_ bytes: [UInt8]) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
    }

    @Test("one JSON object with sorted keys; the event's metadata wins over the logger's")
    func sortedAndMerged() throws {
        let bytes = JSONLogHandler.line(
            timestamp: "2026-11-22T08:13:45.316Z", level: .info, label: "comarca", message: "request",
            metadata: ["request_id": "abc", "route": "/v1/old"],
            extra: ["route": "/v1/records", "status": .stringConvertible(200), "tags": ["a", "b"], "nested": ["k": "v"]])
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(!text.contains("\n"))
        let object = try Self.decode(bytes)
        #expect(object["route"] as? String == "/v1/records")
        #expect(object["status"] as? String == "200")
        #expect(object["request_id"] as? String == "abc")
        #expect(object["msg"] as? String == "request")
        #expect(object["level"] as? String == "info")
        #expect(object["logger"] as? String == "comarca")
        #expect(object["ts"] as? String == "2026-11-22T08:13:45.316Z")
        #expect(object["tags"] as? [String] == ["a", "b"])
        #expect((object["nested"] as? [String: String]) == ["k": "v"])
        let keys = ["level", "logger", "msg", "nested", "request_id", "route", "status", "tags", "ts"]
        let positions = keys.map { text.range(of: "\"\($0)\":")!.lowerBound }
        #expect(positions == positions.sorted())
    }

    @Test("quotes, backslashes, control characters and non-ASCII text survive as valid JSON")
    func escaping() throws {
        let hostile = "a\"b\\c\nd\re\tf\u{01}g ñ 🙂 </script>"
        let bytes = JSONLogHandler.line(
            timestamp: "t", level: .error, label: "x", message: hostile, metadata: [:], extra: ["error": .string(hostile)])
        let object = try Self.decode(bytes)
        #expect(object["msg"] as? String == hostile)
        #expect(object["error"] as? String == hostile)
    }

    @Test("metadata named like a built-in field replaces it instead of duplicating the key")
    func reservedKeys() throws {
        let bytes = JSONLogHandler.line(timestamp: "t", level: .info, label: "x", message: "m", metadata: ["msg": "from logger"], extra: nil)
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.components(separatedBy: "\"msg\":").count == 2)
        #expect(try Self.decode(bytes)["msg"] as? String == "from logger")
    }
}
