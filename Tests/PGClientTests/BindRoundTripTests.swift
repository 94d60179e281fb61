import ComarcaTestSupport
import Foundation
import PGClient
import Testing

@Suite("binds and decoding against a real PostgreSQL")
struct BindRoundTripTests {
    /// One shared connection for the suite's plain round trips: they change nothing.
    static func withConnection<T>(_ body: (PGConnection) throws -> T) async throws -> T {
        try await TestDatabase.withEmpty { database in try body(try database.connectAsOwner()) }
    }

    static func roundTrip<T: PGCodable & Equatable>(_ value: T, as cast: String, on connection: PGConnection) throws -> T {
        try connection.query("SELECT \(value)\(unsafeRaw: "::" + cast)").scalar(T.self)
    }

    @Test("every supported type survives a bind and a decode unchanged")
    func everyTypeRoundTrips() async throws {
        try await Self.withConnection { connection in
            #expect(try Self.roundTrip("Muñoz ‘€’ O'Brien \\ \t\n 🚀", as: "text", on: connection) == "Muñoz ‘€’ O'Brien \\ \t\n 🚀")
            #expect(try Self.roundTrip(Int.max, as: "int8", on: connection) == Int.max)
            #expect(try Self.roundTrip(Int.min, as: "int8", on: connection) == Int.min)
            #expect(try Self.roundTrip(Int32(-2_147_483_648), as: "int4", on: connection) == Int32.min)
            #expect(try Self.roundTrip(Int16(32_767), as: "int2", on: connection) == Int16.max)
            #expect(try Self.roundTrip(0.1 + 0.2, as: "float8", on: connection) == 0.1 + 0.2)
            #expect(try Self.roundTrip(Decimal(string: "12345678901234567890.123456789")!, as: "numeric", on: connection)
                == Decimal(string: "12345678901234567890.123456789")!)
            #expect(try Self.roundTrip(Decimal(string: "-0.005")!, as: "numeric", on: connection) == Decimal(string: "-0.005")!)
            #expect(try Self.roundTrip(true, as: "bool", on: connection) == true)
            #expect(try Self.roundTrip(false, as: "bool", on: connection) == false)
            let id = UUID()
            #expect(try Self.roundTrip(id, as: "uuid", on: connection) == id)
            let instant = Date(timeIntervalSince1970: 1_700_000_000.123456)
            let decoded = try Self.roundTrip(instant, as: "timestamptz", on: connection)
            #expect(abs(decoded.timeIntervalSince1970 - instant.timeIntervalSince1970) < 0.000_001)
            let old = Date(timeIntervalSince1970: -2_208_988_800.5)  // 1899-12-31 23:59:59.5 UTC
            #expect(try Self.roundTrip(old, as: "timestamptz", on: connection) == old)
            let day = PGCalendarDate(year: 2024, month: 2, day: 29)
            #expect(try Self.roundTrip(day, as: "date", on: connection) == day)
            let bytes = Data([0, 1, 2, 0xfe, 0xff, 0x5c, 0x27])
            #expect(try Self.roundTrip(bytes, as: "bytea", on: connection) == bytes)
            let json = try Self.roundTrip(PGJSON(text: #"{"a": [1, "ñ"]}"#), as: "jsonb", on: connection)
            #expect(try json.decoded(as: [String: [JSONValue]].self) == ["a": [.number(1), .string("ñ")]])
            #expect(try Self.roundTrip(["a", "b,c", "d\"e", "f\\g", "NULL", ""], as: "text[]", on: connection)
                == ["a", "b,c", "d\"e", "f\\g", "NULL", ""])
            #expect(try Self.roundTrip([1, -2, 3], as: "int8[]", on: connection) == [1, -2, 3])
            #expect(try Self.roundTrip([id, UUID()].prefix(1).map { $0 }, as: "uuid[]", on: connection) == [id])
            #expect(try Self.roundTrip([String](), as: "text[]", on: connection) == [])
        }
    }

    @Test("timestamps with a non-UTC offset decode to the same instant")
    func timestampOffsetsDecode() async throws {
        try await Self.withConnection { connection in
            try connection.simpleQuery(unsafeSQL: "SET TimeZone TO 'Asia/Kolkata'")
            let value = try connection.query("SELECT '2024-03-01 10:00:00+00'::timestamptz").scalar(Date.self)
            #expect(value == Date(timeIntervalSince1970: 1_709_287_200))
        }
    }

    @Test("NULL decodes as nil into optionals, and binds as NULL")
    func nullsRoundTrip() async throws {
        try await Self.withConnection { connection in
            let none: Int? = nil
            let row = try connection.query("SELECT \(none)::int8 AS a, \(Optional<String>.none)::text AS b, NULL::uuid AS c")
                .decode((Int?, String?, UUID?).self)
            #expect(row.count == 1)
            #expect(row[0].0 == nil && row[0].1 == nil && row[0].2 == nil)
            let isNull = try connection.query("SELECT \(none)::int8 IS NULL").scalar(Bool.self)
            #expect(isNull)
            let array = try connection.query("SELECT ARRAY['x', NULL]::text[]").scalar([String?].self)
            #expect(array == ["x", nil])
        }
    }

    @Test("decoding into the wrong type names the column and not the value")
    func typeMismatchIsAClearError() async throws {
        try await Self.withConnection { connection in
            let rows = try connection.query("SELECT 'secret-value'::text AS email, NULL::int AS amount")
            let mismatch = #expect(throws: PGError.self) { try rows[0].decode(Int.self, named: "email") }
            #expect(mismatch?.kind == .decoding)
            #expect(mismatch?.column == "email")
            #expect(mismatch.map { String(reflecting: $0) }?.contains("secret-value") == false)
            let null = #expect(throws: PGError.self) { try rows[0].decode(Int.self, named: "amount") }
            #expect(null?.message.contains("NULL") == true)
        }
    }

    @Test("interpolated values become binds, never SQL text")
    func interpolationProducesBinds() {
        let evil = "x'); DROP TABLE tenants; --"
        let id = 42
        let query: PGQuery = "SELECT * FROM t WHERE a = \(evil) AND b = \(id)"
        #expect(query.sql == "SELECT * FROM t WHERE a = $1 AND b = $2")
        #expect(query.binds.map(\.text) == [evil, "42"])
        let combined = query + "AND c = \(true)"
        #expect(combined.sql.hasSuffix("AND c = $3"))
        #expect(combined.binds.count == 3)
    }
}

/// Just enough JSON to compare a decoded document.
enum JSONValue: Decodable, Equatable {
    case number(Double)
    case string(String)
    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let n = try? container.decode(Double.self) { self = .number(n) } else { self = .string(try container.decode(String.self)) }
    }
}

@Suite("calendar arithmetic")
struct CivilTimeTests {
    @Test("RFC 3339 timestamps are computed exactly, before and after 1970", arguments: [
        (0.0, "1970-01-01T00:00:00.000Z"),
        (1_700_000_000.123, "2023-11-14T22:13:20.123Z"),
        (-1.5, "1969-12-31T23:59:58.500Z"),
        (951_782_400.0, "2000-02-29T00:00:00.000Z"),
    ])
    func rfc3339(seconds: Double, text: String) {
        #expect(CivilTime.rfc3339(Date(timeIntervalSince1970: seconds)) == text)
    }
}

@Suite("query composition")
struct QueryCompositionTests {
    @Test("appending renumbers placeholders but not dollar signs inside literals or quoted names")
    func renumbering() {
        var query: PGQuery = "SELECT \(1), '$1 ñ €', \"a$2\" WHERE x = \(2)"
        query.append(" AND y = \("z") AND z = '$3'")
        #expect(query.sql == "SELECT $1, '$1 ñ €', \"a$2\" WHERE x = $2 AND y = $3 AND z = '$3'")
        #expect(query.binds.count == 3)
        let many = (1...12).reduce(into: PGQuery("SELECT 1")) { q, n in q.append(" + \(n)") }
        #expect(many.sql.hasSuffix("+ $11 + $12"))
    }
}
