import ComarcaCore
import ComarcaTestSupport
import Foundation
import Testing

/// Every YAML or JSON document Comarca reads from a user is bounded in size, nesting and alias
/// expansion, and a hostile one is refused at once with a message that says why and where.
@Suite("bounded YAML documents")
struct BoundedYAMLTests {
    enum Reader: String, CaseIterable, CustomStringConvertible {
        case mapping, tenant, fields
        var description: String { rawValue }

        func read(_ text: String) throws {
            switch self {
            case .mapping: _ = try ImportMapping.parse(text, fileName: "bomba.yaml")
            case .tenant: _ = try TenantSpec.parse(text, fileName: "bomba.yaml")
            case .fields: _ = try FieldSpecs.parse(text, fileName: "bomba.yaml")
            }
        }
    }

    /// The error a reader gives, as the CLI prints it.
    static func refusal(_ reader: Reader, _ text: String) -> (message: String, seconds: Double) {
        let started = Date()
        do {
            try reader.read(text)
            return ("accepted", Date().timeIntervalSince(started))
        } catch {
            return (String(describing: error), Date().timeIntervalSince(started))
        }
    }

    @Test("a billion-laughs alias bomb is refused in well under a second, naming the file", arguments: Reader.allCases)
    func aliasBombIsRefused(reader: Reader) {
        let (message, seconds) = Self.refusal(reader, HostileDocuments.aliasBomb(levels: 10))
        #expect(message.contains("bomba.yaml"), "\(message)")
        #expect(message.contains("expands to more than"), "\(message)")
        // Debug build on a loaded two-core machine: generous, yet far from the 70 s it once took.
        #expect(seconds < 2, "\(reader) took \(seconds) s")
    }

    @Test("flow nesting past 64 levels is refused before the YAML parser recurses, with its line and column", arguments: Reader.allCases)
    func deepFlowNestingIsRefused(reader: Reader) {
        let (message, seconds) = Self.refusal(reader, "columns:\n  x: " + String(repeating: "[", count: 100_000))
        #expect(message.contains("nests deeper than 64 levels"), "\(message)")
        #expect(message.contains("bomba.yaml:2:"), "\(message)")
        #expect(seconds < 2)
    }

    @Test("block nesting past 64 levels is refused too", arguments: Reader.allCases)
    func deepBlockNestingIsRefused(reader: Reader) {
        var text = ""
        for level in 0..<80 { text += String(repeating: " ", count: level) + "k\(level):\n" }
        text += String(repeating: " ", count: 80) + "fin"
        #expect(Self.refusal(reader, text).message.contains("nests deeper than 64 levels"))
    }

    @Test("a document over 1 MiB is refused before it is parsed", arguments: Reader.allCases)
    func hugeDocumentIsRefused(reader: Reader) {
        let text = "# " + String(repeating: "x", count: 1 << 20) + "\n"
        #expect(Self.refusal(reader, text).message.contains("larger than 1024 KiB"))
    }

    @Test("aliases within the bounds still work, and brackets inside quotes or comments do not count as nesting")
    func ordinaryDocumentsPass() throws {
        let quoted = "columns:\n  \"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\": email  # [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\n"
        let mapping = try ImportMapping.parse(quoted, fileName: "m.yaml")
        #expect(mapping.columns.count == 1)
        let aliased = try ImportMapping.parse("defaults: &d {source: web}\nconstants: *d\n", fileName: "m.yaml")
        #expect(aliased.constants == ["source": "web"])
    }
}
