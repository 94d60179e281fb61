import ComarcaTestSupport
import Foundation
import PGClient
import Testing

@Suite("errors, transactions and settings")
struct ErrorAndTransactionTests {
    static func withScratchTables<T>(_ body: (PGConnection) throws -> T) async throws -> T {
        try await TestDatabase.withEmpty { database in
            let connection = try database.connectAsOwner()
            try connection.simpleQuery(unsafeSQL: """
                CREATE TABLE parents (id int PRIMARY KEY, email text UNIQUE);
                CREATE TABLE children (id int PRIMARY KEY, parent_id int NOT NULL REFERENCES parents(id));
                """)
            return try body(connection)
        }
    }

    @Test("a unique violation carries SQLSTATE 23505, the constraint and the table, and hides the value")
    func uniqueViolation() async throws {
        try await Self.withScratchTables { connection in
            try connection.execute("INSERT INTO parents VALUES (1, \("ana@example.es"))")
            let error = #expect(throws: PGError.self) {
                try connection.execute("INSERT INTO parents VALUES (2, \("ana@example.es"))")
            }
            #expect(error?.code == .uniqueViolation)
            #expect(error?.constraint == "parents_email_key")
            #expect(error?.table == "parents")
            #expect(error?.description.contains("ana@example.es") == false)
            #expect(error.map { String(reflecting: $0) }?.contains("ana@example.es") == true)
        }
    }

    @Test("a foreign key violation carries SQLSTATE 23503")
    func foreignKeyViolation() async throws {
        try await Self.withScratchTables { connection in
            let error = #expect(throws: PGError.self) { try connection.execute("INSERT INTO children VALUES (1, 99)") }
            #expect(error?.code == .foreignKeyViolation)
            #expect(error?.constraint == "children_parent_id_fkey")
        }
    }

    @Test("a syntax error carries SQLSTATE 42601")
    func syntaxError() async throws {
        try await Self.withScratchTables { connection in
            let error = #expect(throws: PGError.self) { try connection.query("SELEC 1") }
            #expect(error?.code == .syntaxError)
            #expect(error?.kind == .server)
        }
    }

    @Test("a transaction whose body throws is rolled back and the connection stays usable")
    func rollbackOnThrow() async throws {
        struct Boom: Error {}
        try await Self.withScratchTables { connection in
            #expect(throws: Boom.self) {
                try connection.transaction { tx in
                    try tx.execute("INSERT INTO parents VALUES (1, 'a')")
                    throw Boom()
                }
            }
            #expect(try connection.query("SELECT count(*) FROM parents").scalar(Int.self) == 0)
            #expect(connection.transactionState == .idle)
            try connection.transaction { tx in try tx.execute("INSERT INTO parents VALUES (2, 'b')") }
            #expect(try connection.query("SELECT count(*) FROM parents").scalar(Int.self) == 1)
        }
    }

    @Test("a failing statement inside a transaction rolls back the earlier ones")
    func rollbackOnServerError() async throws {
        try await Self.withScratchTables { (connection: PGConnection) throws -> Void in
            #expect(throws: PGError.self) {
                try connection.transaction { tx -> Void in
                    try tx.execute("INSERT INTO parents VALUES (1, 'a')")
                    try tx.execute("INSERT INTO parents VALUES (1, 'b')")
                }
            }
            #expect(try connection.query("SELECT count(*) FROM parents").scalar(Int.self) == 0)
        }
    }

    @Test("SET LOCAL values are escaped by libpq and vanish at commit")
    func settingsAreEscapedAndLocal() async throws {
        try await Self.withScratchTables { connection in
            let hostile = "O'Brien'; RESET ALL; SELECT '\\"
            let seen = try connection.transaction(settings: [try PGSetting("comarca.test", hostile)]) { tx in
                try tx.query("SELECT current_setting('comarca.test')").scalar(String.self)
            }
            #expect(seen == hostile)
            let after = try connection.query("SELECT current_setting('comarca.test', true)").scalar(String?.self)
            #expect(after == "" || after == nil)
        }
    }

    @Test("a setting name outside prefix.name is refused before reaching SQL")
    func settingNamesAreChecked() throws {
        #expect(throws: PGError.self) { try PGSetting("comarca.x = 'y'; --", "v") }
        #expect(throws: PGError.self) { try PGSetting("noprefix", "v") }
        #expect(throws: PGError.self) { try PGSetting("a.b.c", "v") }
        #expect(throws: PGError.self) { try PGSetting("a.1b", "v") }
        #expect(throws: PGError.self) { try PGSetting("a.", "v") }
        #expect(throws: PGError.self) { try PGSetting(".a", "v") }
        #expect(throws: PGError.self) { try PGSetting("añ.b", "v") }
        #expect(try PGSetting("_Comarca.Zone_Ids2", "v").name == "_comarca.zone_ids2")
    }

    @Test("a transaction's BEGIN and settings travel with its first statement, and still apply to everything in it")
    func deferredBegin() async throws {
        try await Self.withScratchTables { connection in
            let seen = try connection.transaction(settings: [try PGSetting("comarca.who", "ana")]) { tx in
                #expect(tx.transactionState == .inTransaction)
                let first = try tx.query("SELECT current_setting('comarca.who'), txid_current_if_assigned() IS NULL").decode((String, Bool).self)[0]
                try tx.execute("INSERT INTO parents VALUES (1, \(first.0))")
                let second = try tx.pipeline(["SELECT current_setting('comarca.who')", "SELECT count(*) FROM parents"])
                return (first.0, try second[0].scalar(String.self), try second[1].scalar(Int.self))
            }
            #expect(seen.0 == "ana" && seen.1 == "ana" && seen.2 == 1)
            #expect(connection.transactionState == .idle)
            #expect(try connection.query("SELECT email FROM parents").scalar(String.self) == "ana")
        }
    }

    @Test("a transaction that sends nothing leaves nothing open, and one whose first statement fails rolls back")
    func deferredBeginEdges() async throws {
        try await Self.withScratchTables { connection in
            let value = try connection.transaction(settings: [try PGSetting("comarca.who", "ana")]) { _ in 42 }
            #expect(value == 42)
            #expect(connection.transactionState == .idle)
            #expect(throws: PGError.self) {
                try connection.transaction(settings: [try PGSetting("comarca.who", "ana")]) { tx in
                    try tx.execute("INSERT INTO children VALUES (1, 99)")
                }
            }
            #expect(connection.transactionState == .idle)
            // Work that cannot carry the BEGIN (simple protocol, COPY) sends it first.
            try connection.transaction { tx in
                try tx.simpleQuery(unsafeSQL: "INSERT INTO parents VALUES (7, 'x')")
                #expect(try tx.query("SELECT count(*) FROM parents").scalar(Int.self) == 1)
                #expect(tx.transactionState == .inTransaction)
            }
            struct Boom: Error {}
            #expect(throws: Boom.self) {
                try connection.transaction { tx in
                    _ = try tx.copyFrom("COPY parents (id, email) FROM STDIN") { writer in try writer.writeRow(["8", "y"]) }
                    throw Boom()
                }
            }
            #expect(try connection.query("SELECT count(*) FROM parents").scalar(Int.self) == 1)
        }
    }

    @Test("a second BEGIN on a connection already in a transaction is refused")
    func nestedTransactionRefused() async throws {
        try await Self.withScratchTables { connection in
            let error = #expect(throws: PGError.self) {
                try connection.transaction { tx in try tx.transaction { _ in } }
            }
            #expect(error?.kind == .invalidUsage)
        }
    }
}

@Suite("connecting")
struct ConnectTests {
    @Test("libpq's own PG* variables apply to a connection string that leaves them out")
    func pgVariablesApply() async throws {
        try await TestDatabase.withEmpty { database in
            setenv("PGAPPNAME", "comarca-pgvar-test", 1)
            defer { unsetenv("PGAPPNAME") }
            let connection = try database.connectAsOwner()
            #expect(try connection.query("SHOW application_name").scalar(String.self) == "comarca-pgvar-test")
        }
    }

    @Test("overrides replace parameters of the URL, so the app role can share the owner's URL")
    func overridesReplaceURLParameters() async throws {
        try await TestDatabase.withEmpty { database in
            let app = try PGConnection.connect(database.ownerURL, overrides: ["dbname": database.name, "user": database.appRole])
            #expect(try app.query("SELECT current_user::text, current_database()::text").decode((String, String).self)[0]
                == (database.appRole, database.name))
        }
    }

    @Test("a failed connection is a connection error with libpq's reason, and no password in it")
    func failedConnectionIsClear() async throws {
        let error = #expect(throws: PGError.self) {
            try PGConnection.connect("postgresql://nobody:hunter2-secret@127.0.0.1:1/none?connect_timeout=2")
        }
        #expect(error?.kind == .connection)
        #expect(error?.isConnectionLoss == true)
        #expect(error.map { String(reflecting: $0) }?.contains("hunter2-secret") == false)
    }
}

@Suite("prepared statements")
struct PreparedStatementTests {
    @Test("a statement with binds is prepared once and reused with new values")
    func preparedOnceReused() async throws {
        try await TestDatabase.withEmpty { database in
            let connection = try database.connectAsOwner()
            for n in 1...5 {
                #expect(try connection.query("SELECT \(n) + 1").scalar(Int.self) == n + 1)
            }
            let count = try connection.query("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE \("SELECT $1 + 1%")").scalar(Int.self)
            #expect(count == 1)
        }
    }

    @Test("statements with binds in a pipeline are prepared once and reused; the pooled forget-and-recover applies too")
    func pipelinePrepares() async throws {
        try await TestDatabase.withEmpty { database in
            let connection = try database.connectAsOwner()
            for n in 1...3 {
                let rows = try connection.pipelinedTransaction(settings: [try PGSetting("comarca.n", String(n))], [
                    "SELECT \(n) + 2", "SELECT current_setting('comarca.n')",
                ])
                #expect(try rows[0].scalar(Int.self) == n + 2)
                #expect(try rows[1].scalar(String.self) == String(n))
            }
            let count = try connection.query("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE \("SELECT $1 + 2%")").scalar(Int.self)
            #expect(count == 1)
            try connection.simpleQuery(unsafeSQL: "DEALLOCATE ALL")
            let error = #expect(throws: PGError.self) { try connection.pipeline(["SELECT \(4) + 2"]) }
            #expect(error?.code?.rawValue == "26000")
            #expect(try connection.pipeline(["SELECT \(5) + 2"])[0].scalar(Int.self) == 7)
        }
    }

    @Test("a statement the server forgot (DISCARD ALL by a pooler) fails once, then works again")
    func forgottenStatementRecovers() async throws {
        try await TestDatabase.withEmpty { database in
            let connection = try database.connectAsOwner()
            #expect(try connection.query("SELECT \(1)").scalar(Int.self) == 1)
            try connection.simpleQuery(unsafeSQL: "DEALLOCATE ALL")
            let error = #expect(throws: PGError.self) { try connection.query("SELECT \(2)") }
            #expect(error?.code?.rawValue == "26000")
            #expect(try connection.query("SELECT \(3)").scalar(Int.self) == 3)
        }
    }
}
