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
            guard let key = Self.decode(cursor) else {
                throw CoreError(.invalidCursor, "cursor is not one this API issued for this list; start again without it")
            }
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

/// What one position of a list's sort key holds. Each list names its key's kinds, and a cursor
/// is checked against them in Swift before any of it reaches SQL: a cursor this API did not
/// issue (edited, cut, from another list) is a 400 `invalid-cursor`, never a database error.
public enum CursorField: Sendable {
    /// A `timestamptz` as PostgreSQL prints it (ISO DateStyle) or as RFC 3339; `infinity` too.
    case timestamp
    case uuid
    /// Non-empty text without NUL (PostgreSQL cannot hold it).
    case text
    /// A non-negative 64-bit integer.
    case integer
}

/// A cursor's sort key, checked against the list's `CursorField`s.
public struct CursorKey: Sendable {
    public let values: [String]

    public func text(_ index: Int) -> String { values[index] }
    /// The timestamp as the cursor carries it (PostgreSQL's own text, so it reads back exactly).
    public func timestamp(_ index: Int) -> String { values[index] }
    public func uuid(_ index: Int) -> UUID { UUID(uuidString: values[index]) ?? UUID() }
    public func integer(_ index: Int) -> Int { Int(values[index]) ?? 0 }
}

extension CoreError.Code {
    /// A `cursor` this API did not issue for this list.
    public static let invalidCursor: CoreError.Code = "invalid-cursor"
}

extension PageRequest {
    /// The cursor's key checked against the kinds the list sorts by; nil on the first page.
    public func after(_ fields: [CursorField]) throws -> CursorKey? {
        guard let after else { return nil }
        guard after.count == fields.count,
              zip(after, fields).allSatisfy({ Self.holds($0, $1) })
        else { throw CoreError(.invalidCursor, "cursor is not one this API issued for this list; start again without it") }
        return CursorKey(values: after)
    }

    static func holds(_ value: String, _ field: CursorField) -> Bool {
        guard !value.isEmpty, !value.utf8.contains(0) else { return false }
        switch field {
        case .text: return true
        case .uuid: return UUID(uuidString: value) != nil
        case .integer: return value.utf8.allSatisfy { $0 >= 48 && $0 <= 57 } && Int64(value) != nil
        case .timestamp: return isTimestamp(value)
        }
    }

    /// `YYYY-MM-DD[ T]HH:MM:SS[.ffffff][Z|±HH[:MM[:SS]]]` with every field in range (years
    /// 0001–9999), or `infinity`/`-infinity`: exactly what PostgreSQL reads back as `timestamptz`.
    static func isTimestamp(_ text: String) -> Bool {
        if text == "infinity" || text == "-infinity" { return true }
        let b = Array(text.utf8)
        func digits(_ from: Int, _ count: Int) -> Int? {
            guard from + count <= b.count else { return nil }
            var value = 0
            for i in from..<(from + count) {
                guard b[i] >= 48, b[i] <= 57 else { return nil }
                value = value * 10 + Int(b[i] - 48)
            }
            return value
        }
        guard b.count >= 19, let year = digits(0, 4), b[4] == 45, let month = digits(5, 2), b[7] == 45, let day = digits(8, 2),
              b[10] == 32 || b[10] == 84, let hour = digits(11, 2), b[13] == 58, let minute = digits(14, 2), b[16] == 58,
              let second = digits(17, 2)
        else { return false }
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
        let monthDays = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        guard (1...9999).contains(year), (1...12).contains(month), (1...monthDays[month - 1]).contains(day),
              hour <= 23, minute <= 59, second <= 59 else { return false }
        var i = 19
        if i < b.count, b[i] == 46 {
            i += 1
            let start = i
            while i < b.count, b[i] >= 48, b[i] <= 57 { i += 1 }
            guard (1...6).contains(i - start) else { return false }
        }
        if i == b.count { return true }
        if b[i] == 90 { return i + 1 == b.count }
        guard b[i] == 43 || b[i] == 45, let offsetHours = digits(i + 1, 2), offsetHours <= 15 else { return false }
        i += 3
        for _ in 0..<2 where i < b.count {
            guard b[i] == 58, let part = digits(i + 1, 2), part <= 59 else { return false }
            i += 3
        }
        return i == b.count
    }
}
