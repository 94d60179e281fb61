import ComarcaTestSupport
import Foundation
import PGClient
import Testing

@Suite("COPY and pipeline mode")
struct CopyAndPipelineTests {
    @Test("COPY streams 100k rows, escaping tabs, newlines, backslashes and NULLs")
    func copyHundredThousandRows() async throws {
        try await TestDatabase.withEmpty { database in
            let connection = try database.connectAsOwner()
            try connection.simpleQuery(unsafeSQL: "CREATE TABLE items (n int PRIMARY KEY, label text, note text)")
            let loaded = try connection.copyFrom("COPY items (n, label, note) FROM STDIN") { writer in
                for n in 1...100_000 {
                    try writer.writeRow([String(n), "item\t\(n)\nline\\end", n % 10 == 0 ? nil : "ñ€"])
                }
            }
            #expect(loaded == 100_000)
            let stats = try connection.query(
                "SELECT count(*), count(note), sum(n), min(label) FROM items"
            ).decode((Int, Int, Int, String).self)[0]
            #expect(stats.0 == 100_000)
            #expect(stats.1 == 90_000)
            #expect(stats.2 == 100_000 * 100_001 / 2)
            #expect(stats.3 == "item\t1\nline\\end")
        }
    }

    @Test("a COPY whose writer throws loads nothing and leaves the connection usable")
    func copyAbortLoadsNothing() async throws {
        struct Stop: Error {}
        try await TestDatabase.withEmpty { database in
            let connection = try database.connectAsOwner()
            try connection.simpleQuery(unsafeSQL: "CREATE TABLE items (n int)")
            #expect(throws: Stop.self) {
                try connection.copyFrom("COPY items FROM STDIN") { writer in
                    for n in 1...70_000 { try writer.writeRow([String(n)]) }
                    throw Stop()
                }
            }
            #expect(try connection.query("SELECT count(*) FROM items").scalar(Int.self) == 0)
        }
    }

    @Test("a COPY with a bad row reports the server's error and loads nothing")
    func copyBadRowFails() async throws {
        try await TestDatabase.withEmpty { database in
            let connection = try database.connectAsOwner()
            try connection.simpleQuery(unsafeSQL: "CREATE TABLE items (n int)")
            let error = #expect(throws: PGError.self) {
                try connection.copyFrom("COPY items FROM STDIN") { writer in
                    try writer.writeRow(["1"])
                    try writer.writeRow(["not a number"])
                }
            }
            #expect(error?.code == .invalidTextRepresentation)
            #expect(try connection.query("SELECT count(*) FROM items").scalar(Int.self) == 0)
        }
    }

    @Test("a pipeline returns each statement's rows in order")
    func pipelineReturnsAllResults() async throws {
        try await TestDatabase.withEmpty { database in
            let connection = try database.connectAsOwner()
            let results = try connection.pipeline([
                "SELECT \(1) AS a",
                "SELECT generate_series(1, \(3))",
                "SELECT \("x") || \("y")",
            ])
            #expect(results.count == 3)
            #expect(try results[0].scalar(Int.self) == 1)
            #expect(results[1].count == 3)
            #expect(try results[2].scalar(String.self) == "xy")
        }
    }

    @Test("a pipelined transaction applies settings and rolls back everything when a statement fails")
    func pipelinedTransactionRollsBack() async throws {
        try await TestDatabase.withEmpty { database in
            let connection = try database.connectAsOwner()
            try connection.simpleQuery(unsafeSQL: "CREATE TABLE t (n int PRIMARY KEY)")
            let ok = try connection.pipelinedTransaction(settings: [try PGSetting("comarca.who", "ana")], [
                "INSERT INTO t VALUES (1)",
                "SELECT current_setting('comarca.who')",
            ])
            #expect(try ok[1].scalar(String.self) == "ana")
            let error = #expect(throws: PGError.self) {
                try connection.pipelinedTransaction([
                    "INSERT INTO t VALUES (2)",
                    "INSERT INTO t VALUES (1)",
                    "INSERT INTO t VALUES (3)",
                ])
            }
            #expect(error?.code == .uniqueViolation)
            #expect(connection.transactionState == .idle)
            #expect(try connection.query("SELECT array_agg(n ORDER BY n) FROM t").scalar([Int].self) == [1])
        }
    }
}
