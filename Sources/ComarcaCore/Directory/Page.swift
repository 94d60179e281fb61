public import Foundation

/// A page of a keyset-paginated list: the items and an opaque cursor for the next page.
public struct Page<Item: Sendable & Encodable>: Sendable, Encodable {
    public let items: [Item]
    public let nextCursor: String?

    public init(items: [Item], nextCursor: String?) {
        self.items = items
        self.nextCursor = nextCursor
    }
}

/// `limit` and `cursor` as a caller gives them, validated once for every list.
public struct PageRequest: Sendable {
    public static let defaultLimit = 50
    public static let maxLimit = 200

    public let limit: Int
    /// The sort key of the last item already seen, decoded from the cursor.
    public let after: [String]?

    public init(limit: Int?, cursor: String?) throws {
        let limit = limit ?? Self.defaultLimit
        guard (1...Self.maxLimit).contains(limit) else {
            throw CoreError(.invalidInput, "limit must be between 1 and \(Self.maxLimit)")
        }
        self.limit = limit
        if let cursor, !cursor.isEmpty {
            guard let key = Self.decode(cursor) else { throw CoreError(.invalidInput, "cursor is not one this API issued") }
            self.after = key
        } else {
            self.after = nil
        }
    }

    /// Builds the page from up to `limit + 1` fetched items (the extra one says another page exists).
    public func page<Item>(from fetched: [Item], key: (Item) -> [String]) -> Page<Item> {
        guard fetched.count > limit else { return Page(items: fetched, nextCursor: nil) }
        let items = Array(fetched.prefix(limit))
        return Page(items: items, nextCursor: Self.encode(key(items[items.count - 1])))
    }

    static func encode(_ key: [String]) -> String {
        let data = (try? JSONEncoder().encode(key)) ?? Data()
        return data.base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    static func decode(_ cursor: String) -> [String]? {
        var base64 = cursor.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        guard cursor.count <= 1024, let data = Data(base64Encoded: base64) else { return nil }
        return try? JSONDecoder().decode([String].self, from: data)
    }
}
