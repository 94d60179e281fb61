/// A column of a result: its name and type.
public struct PGColumn: Sendable, Hashable {
    public var name: String
    public var oid: PGOID
}

/// The rows of one statement's result, decoded out of libpq's memory.
public struct PGRows: Sendable, RandomAccessCollection {
    public let columns: [PGColumn]
    /// Values row-major; nil is SQL NULL.
    let values: [String?]
    /// Rows affected for INSERT/UPDATE/DELETE/COPY/SELECT, from the command tag.
    public let affectedRows: Int
    public let commandTag: String

    init(columns: [PGColumn], values: [String?], affectedRows: Int, commandTag: String) {
        self.columns = columns
        self.values = values
        self.affectedRows = affectedRows
        self.commandTag = commandTag
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { columns.isEmpty ? 0 : values.count / columns.count }

    public subscript(position: Int) -> PGRow {
        PGRow(rows: self, index: position)
    }

    /// Decodes every row as a tuple of the given types, columns in order.
    public func decode<each T: PGDecodable>(_ types: (repeat each T).Type) throws -> [(repeat each T)] {
        try map { try $0.decode((repeat each T).self) }
    }

    /// The first row, or nil.
    public var firstRow: PGRow? { isEmpty ? nil : self[0] }

    /// Decodes the single value of a one-row, one-column result (e.g. `SELECT count(*)`).
    public func scalar<T: PGDecodable>(_ type: T.Type = T.self) throws -> T {
        guard let row = firstRow, count == 1, columns.count >= 1 else {
            throw PGError(kind: .decoding, message: "expected exactly one row, got \(count)")
        }
        return try row.decode(T.self, at: 0)
    }
}

/// One row of a `PGRows`.
public struct PGRow: Sendable {
    let rows: PGRows
    let index: Int

    public var columns: [PGColumn] { rows.columns }

    /// The raw text of a column, nil for NULL.
    public func text(at column: Int) -> String? {
        rows.values[index * rows.columns.count + column]
    }

    public func columnIndex(named name: String) throws -> Int {
        guard let i = rows.columns.firstIndex(where: { $0.name == name }) else {
            throw PGError(kind: .decoding, message: "no column named \(name) in the result")
        }
        return i
    }

    public func decode<T: PGDecodable>(_ type: T.Type = T.self, at column: Int) throws -> T {
        guard column < rows.columns.count else {
            throw PGError(kind: .decoding, message: "column \(column) is past the result's \(rows.columns.count) columns")
        }
        let info = rows.columns[column]
        do {
            if let text = text(at: column) {
                return try T.decode(pgText: Substring(text), oid: info.oid)
            }
            return try T.decodeNull()
        } catch {
            // The value itself is left out: it may be personal data.
            let reason: String
            switch error {
            case .unexpectedNull: reason = "is NULL but \(T.self) is not optional"
            case .typeMismatch(let expected): reason = "has type oid \(info.oid), which cannot decode as \(T.self) (\(expected))"
            case .malformed(let expected): reason = "holds a value that is not a valid \(expected)"
            }
            throw PGError(kind: .decoding, message: "column \"\(info.name)\" \(reason)", column: info.name)
        }
    }

    public func decode<T: PGDecodable>(_ type: T.Type = T.self, named name: String) throws -> T {
        try decode(T.self, at: columnIndex(named: name))
    }

    /// Decodes the row as a tuple, columns in order.
    public func decode<each T: PGDecodable>(_ types: (repeat each T).Type) throws -> (repeat each T) {
        var column = 0
        func next<U: PGDecodable>(_ type: U.Type) throws -> U {
            defer { column += 1 }
            return try decode(U.self, at: column)
        }
        return (repeat try next((each T).self))
    }
}
