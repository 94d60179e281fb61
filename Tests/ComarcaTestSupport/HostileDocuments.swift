/// Documents written to hurt a parser, for tests of its bounds.
public enum HostileDocuments {
    /// "Billion laughs": each level a list of nine aliases of the level before, so `levels`
    /// levels expand to 9^levels strings from a few hundred bytes.
    public static func aliasBomb(levels: Int) -> String {
        var text = "l0: &l0 [" + Array(repeating: "\"lol\"", count: 9).joined(separator: ", ") + "]\n"
        for level in 1..<levels {
            text += "l\(level): &l\(level) [" + Array(repeating: "*l\(level - 1)", count: 9).joined(separator: ", ") + "]\n"
        }
        return text
    }
}
