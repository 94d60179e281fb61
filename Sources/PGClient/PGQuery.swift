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
    static func renumber(_ sql: String, offset: Int) -> String {
        var out = ""
        out.reserveCapacity(sql.utf8.count + 8)
        var quote: Character? = nil
        var chars = Array(sql)
        var i = 0
        while i < chars.count {
            let c = chars[i]
            if let q = quote {
                out.append(c)
                if c == q { quote = nil }
                i += 1
                continue
            }
            if c == "'" || c == "\"" {
                quote = c
                out.append(c)
                i += 1
                continue
            }
            if c == "$", i + 1 < chars.count, chars[i + 1].isASCII, chars[i + 1].isNumber {
                var j = i + 1
                var number = 0
                while j < chars.count, chars[j].isASCII, let digit = chars[j].wholeNumberValue {
                    number = number * 10 + digit
                    j += 1
                }
                out += "$\(number + offset)"
                i = j
                continue
            }
            out.append(c)
            i += 1
        }
        chars.removeAll()
        return out
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
