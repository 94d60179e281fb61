/// One value sent to the server as a bind parameter, in PostgreSQL's text format.
public struct PGBind: Sendable, Hashable {
    /// The value as text, or nil for SQL NULL.
    public var text: String?
    /// The parameter type, or 0 to let the server infer it from context.
    public var oid: PGOID

    public init(text: String?, oid: PGOID) {
        self.text = text
        self.oid = oid
    }

    public init<T: PGEncodable>(_ value: T) {
        self.init(text: value.pgText, oid: T.pgOID)
    }

    public init<T: PGEncodable>(_ value: T?) {
        self.init(text: value?.pgText, oid: T.pgOID)
    }
}

/// SQL text plus its bind parameters.
///
/// Built by string interpolation, where every interpolated value becomes `$n` and a bind:
/// `"SELECT * FROM zones WHERE tenant_id = \(tenantID)"`. SQL text that is not a literal in the
/// source can only be added through names that say so: `PGQuery(unsafeSQL:)` and
/// `\(unsafeRaw: …)`.
public struct PGQuery: Sendable, Hashable, ExpressibleByStringInterpolation {
    public private(set) var sql: String
    public private(set) var binds: [PGBind]
    /// False for statements whose best plan depends on the values (a search word's prefix range):
    /// a prepared statement's generic plan cannot see them, so these are planned every time.
    public var reusesPlan = true

    public init(unsafeSQL sql: String, binds: [PGBind] = []) {
        self.sql = sql
        self.binds = binds
    }

    public init(stringLiteral value: StaticString) {
        self.sql = value.description
        self.binds = []
    }

    public init(stringInterpolation: StringInterpolation) {
        self.sql = stringInterpolation.sql
        self.binds = stringInterpolation.binds
    }

    /// Appends another query, renumbering its placeholders after this one's.
    public mutating func append(_ other: PGQuery) {
        reusesPlan = reusesPlan && other.reusesPlan
        if other.binds.isEmpty {
            sql += other.sql
            return
        }
        sql += PGQuery.renumber(other.sql, offset: binds.count)
        binds += other.binds
    }

    public static func + (lhs: PGQuery, rhs: PGQuery) -> PGQuery {
        var result = lhs
        result.append(rhs)
        return result
    }

    /// Shifts `$n` placeholders by `offset`, leaving string literals and quoted identifiers alone.
    /// Works on UTF-8 bytes: this runs for every fragment a query builder appends.
    static func renumber(_ sql: String, offset: Int) -> String {
        let bytes = Array(sql.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + 8)
        var quote: UInt8? = nil
        var i = 0
        while i < bytes.count {
            let byte = bytes[i]
            if let q = quote {
                out.append(byte)
                if byte == q { quote = nil }
                i += 1
                continue
            }
            if byte == UInt8(ascii: "'") || byte == UInt8(ascii: "\"") {
                quote = byte
                out.append(byte)
                i += 1
                continue
            }
            if byte == UInt8(ascii: "$"), i + 1 < bytes.count, (48...57).contains(bytes[i + 1]) {
                var j = i + 1
                var number = 0
                while j < bytes.count, (48...57).contains(bytes[j]) {
                    number = number * 10 + Int(bytes[j] - 48)
                    j += 1
                }
                out.append(UInt8(ascii: "$"))
                out.append(contentsOf: String(number + offset).utf8)
                i = j
                continue
            }
            out.append(byte)
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    public struct StringInterpolation: StringInterpolationProtocol {
        var sql: String
        var binds: [PGBind]

        public init(literalCapacity: Int, interpolationCount: Int) {
            sql = ""
            sql.reserveCapacity(literalCapacity + interpolationCount * 3)
            binds = []
            binds.reserveCapacity(interpolationCount)
        }

        public mutating func appendLiteral(_ literal: StaticString) {
            sql += literal.description
        }

        public mutating func appendInterpolation<T: PGEncodable>(_ value: T) {
            binds.append(PGBind(value))
            sql += "$\(binds.count)"
        }

        public mutating func appendInterpolation<T: PGEncodable>(_ value: T?) {
            binds.append(PGBind(value))
            sql += "$\(binds.count)"
        }

        public mutating func appendInterpolation(_ bind: PGBind) {
            binds.append(bind)
            sql += "$\(binds.count)"
        }

        /// Splices another query in, renumbering its binds.
        public mutating func appendInterpolation(_ query: PGQuery) {
            sql += PGQuery.renumber(query.sql, offset: binds.count)
            binds += query.binds
        }

        /// Raw SQL text. Only for fragments chosen by code (identifiers from a fixed list), never
        /// for values.
        public mutating func appendInterpolation(unsafeRaw text: String) {
            sql += text
        }
    }
}
