import Yams

/// The one way a YAML (or JSON) document from a user becomes a node tree: bounded in size, in
/// nesting and in what aliases expand to, so a "billion laughs" file (a few hundred bytes whose
/// aliases expand to billions of values) is refused in milliseconds instead of taking the
/// service's memory. Mappings (HTTP and CLI), tenant files and field files all come through here.
enum BoundedYAML {
    /// Far above any real tenant, field or mapping file (the largest examples are a few KiB).
    static let maxBytes = 1 << 20
    /// Nesting of maps and lists; the deepest real document nests five levels.
    static let maxDepth = 64
    /// Values after aliases are expanded; a 200-zone tenant file has about 5 000.
    static let maxNodes = 200_000

    struct Refusal: Error, CustomStringConvertible {
        let line: Int
        let column: Int
        let message: String
        var description: String { message }
    }

    static func compose(_ text: String) throws -> Node? {
        guard text.utf8.count <= maxBytes else {
            throw Refusal(line: 1, column: 1, message: "the document is larger than \(maxBytes / 1024) KiB; no mapping, tenant or fields file needs that much")
        }
        // libyaml and Yams' composer recurse per level: a `[[[[…` bomb must stop before them.
        if let (line, column) = flowNestingBeyondLimit(text) {
            throw Refusal(line: line, column: column, message: "nests deeper than \(maxDepth) levels")
        }
        guard let root = try Yams.compose(yaml: text) else { return nil }
        var budget = maxNodes
        try measure(root, depth: 1, budget: &budget)
        return root
    }

    /// Walks the tree as readers will, aliases expanded, and stops as soon as a limit is passed,
    /// so the walk itself costs at most `maxNodes` steps.
    private static func measure(_ node: Node, depth: Int, budget: inout Int) throws {
        budget -= 1
        guard budget >= 0 else {
            let mark = node.mark
            throw Refusal(line: mark?.line ?? 1, column: mark?.column ?? 1,
                          message: "expands to more than \(maxNodes) values (aliases repeating aliases?); write the values out instead")
        }
        guard depth <= maxDepth else {
            throw Refusal(line: node.mark?.line ?? 1, column: node.mark?.column ?? 1, message: "nests deeper than \(maxDepth) levels")
        }
        switch node {
        case .scalar: return
        case .sequence(let sequence):
            for element in sequence { try measure(element, depth: depth + 1, budget: &budget) }
        case .mapping(let mapping):
            for (key, value) in mapping {
                try measure(key, depth: depth + 1, budget: &budget)
                try measure(value, depth: depth + 1, budget: &budget)
            }
        }
    }

    /// Where flow collections (`[` and `{` outside quotes and comments) first nest past the
    /// limit, as line and column; nil when they never do. Block nesting needs indentation, which
    /// `maxBytes` bounds, and the tree walk checks it.
    static func flowNestingBeyondLimit(_ text: String) -> (Int, Int)? {
        var depth = 0, line = 1, column = 0
        var quote: UInt8? = nil, escaped = false, comment = false, previous: UInt8 = UInt8(ascii: " ")
        for byte in text.utf8 {
            column += 1
            if byte == UInt8(ascii: "\n") {
                line += 1
                column = 0
                comment = false
                if quote == UInt8(ascii: "'") || quote == UInt8(ascii: "\"") { previous = byte; continue }
            }
            defer { previous = byte }
            if comment { continue }
            if let open = quote {
                if escaped { escaped = false } else if open == UInt8(ascii: "\"") && byte == UInt8(ascii: "\\") { escaped = true } else if byte == open { quote = nil }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "'"):
                // A quote opens a string only where a scalar can start, not inside `it's`.
                if previous == UInt8(ascii: " ") || previous == UInt8(ascii: "[") || previous == UInt8(ascii: "{")
                    || previous == UInt8(ascii: ",") || previous == UInt8(ascii: ":") || previous == UInt8(ascii: "\n")
                    || previous == UInt8(ascii: "-") || previous == UInt8(ascii: "\t") {
                    quote = byte
                }
            case UInt8(ascii: "#"):
                if previous == UInt8(ascii: " ") || previous == UInt8(ascii: "\n") || previous == UInt8(ascii: "\t") { comment = true }
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
                if depth > maxDepth { return (line, column) }
            case UInt8(ascii: "]"), UInt8(ascii: "}"):
                depth = max(0, depth - 1)
            default: break
            }
        }
        return nil
    }
}
