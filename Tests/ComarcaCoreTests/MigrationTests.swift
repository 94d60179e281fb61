import ComarcaCore
import ComarcaTestSupport
import Foundation
import PGClient
import Testing

@Suite("migrations")
struct MigrationTests {
    static func repositoryMigrations() throws -> MigrationSource {
        try MigrationSource(directory: TestDatabase.migrationsDirectory)
    }

    /// A copy of sql/ in a temporary directory, so a test can edit or add files.
    static func withCopyOfMigrations<T>(_ body: (URL) async throws -> T) async throws -> T {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("comarca-sql-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: TestDatabase.migrationsDirectory, to: directory)
        defer { try? FileManager.default.removeItem(at: directory) }
        return try await body(directory)
    }

    @Test("migrating an empty database applies every file in order and records its checksum")
    func appliesOnEmpty() async throws {
        try await TestDatabase.withEmpty { database in
            let source = try Self.repositoryMigrations()
            let owner = try database.connectAsOwner()
            let applied = try Migrator(source: source).migrate(on: owner)
            #expect(applied.map(\.version) == source.migrations.map(\.version))
            let recorded = try owner.query("SELECT version, checksum FROM schema_migrations ORDER BY version").decode((Int, String).self)
            #expect(recorded.map(\.0) == source.migrations.map(\.version))
            #expect(recorded.map(\.1) == source.migrations.map { Migrator.checksum($0.sql) })
            #expect(try owner.query("SELECT to_regclass('public.records') IS NOT NULL").scalar(Bool.self))
        }
    }

    @Test("migrating again is a no-op")
    func reapplyIsNoOp() async throws {
        try await TestDatabase.withMigrated { database in
            let owner = try database.connectAsOwner()
            let before = try owner.query("SELECT max(applied_at) FROM schema_migrations").scalar(Date.self)
            let applied = try Migrator(source: Self.repositoryMigrations()).migrate(on: owner)
            #expect(applied.isEmpty)
            #expect(try owner.query("SELECT max(applied_at) FROM schema_migrations").scalar(Date.self) == before)
            #expect(try Migrator(source: Self.repositoryMigrations()).status(on: owner).isCurrent)
        }
    }

    @Test("an applied migration whose file changed is refused, and nothing is applied")
    func changedFileRefused() async throws {
        try await Self.withCopyOfMigrations { directory in
            try await TestDatabase.withMigrated { database in
                let owner = try database.connectAsOwner()
                let first = directory.appendingPathComponent(try Self.repositoryMigrations().migrations[0].fileName)
                try (String(contentsOf: first, encoding: .utf8) + "\n-- edited\n").write(to: first, atomically: true, encoding: .utf8)
                try "CREATE TABLE should_not_exist (id int);".write(
                    to: directory.appendingPathComponent("9000_create_later.sql"), atomically: true, encoding: .utf8)
                let error = #expect(throws: CoreError.self) {
                    try Migrator(source: MigrationSource(directory: directory)).migrate(on: owner)
                }
                #expect(error?.code == .migrationChanged)
                #expect(error?.message.contains("0001_") == true)
                #expect(try owner.query("SELECT to_regclass('public.should_not_exist') IS NULL").scalar(Bool.self))
            }
        }
    }

    @Test("a failing migration is rolled back whole and not recorded")
    func failingMigrationRollsBack() async throws {
        try await Self.withCopyOfMigrations { directory in
            try await TestDatabase.withMigrated { database in
                let owner = try database.connectAsOwner()
                try "CREATE TABLE half_done (id int);\nSELECT 1/0;".write(
                    to: directory.appendingPathComponent("9001_create_broken.sql"), atomically: true, encoding: .utf8)
                let error = #expect(throws: CoreError.self) {
                    try Migrator(source: MigrationSource(directory: directory)).migrate(on: owner)
                }
                #expect(error?.code == .migrationFailed)
                #expect(try owner.query("SELECT to_regclass('public.half_done') IS NULL").scalar(Bool.self))
                #expect(try owner.query("SELECT count(*) FROM schema_migrations WHERE version = 9001").scalar(Int.self) == 0)
            }
        }
    }

    @Test("a migration file that is not named NNNN_name.sql is refused")
    func badFileNameRefused() async throws {
        try await Self.withCopyOfMigrations { directory in
            try "SELECT 1;".write(to: directory.appendingPathComponent("12_Add Stuff.sql"), atomically: true, encoding: .utf8)
            let error = #expect(throws: CoreError.self) { try MigrationSource(directory: directory) }
            #expect(error?.code == .migrationInvalid)
        }
    }

    @Test("two runners at once serialize: each migration is applied exactly once")
    func concurrentRunnersSerialize() async throws {
        try await TestDatabase.withEmpty { database in
            let source = try Self.repositoryMigrations()
            let results = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<3 {
                    group.addTask {
                        let connection = try database.connectAsOwner()
                        return try Migrator(source: source).migrate(on: connection).count
                    }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(results.sorted() == [0, 0, source.migrations.count])
            let owner = try database.connectAsOwner()
            #expect(try owner.query("SELECT count(*) FROM schema_migrations").scalar(Int.self) == source.migrations.count)
        }
    }

    @Test("the checksum is SHA-256 of the file text")
    func checksumIsSHA256() {
        #expect(Migrator.checksum("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(Migrator.checksum("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(Migrator.checksum(String(repeating: "a", count: 1000)).count == 64)
    }
}

@Suite("demo tenant")
struct DemoTenantTests {
    @Test("loading the demo twice creates it once, with records in every stage and their events")
    func demoLoadIsIdempotent() async throws {
        try await TestDatabase.withMigrated { database in
            let owner = try database.connectAsOwner()
            let first = try DemoTenant.load(on: owner)
            let second = try DemoTenant.load(on: owner)
            #expect(first.created && !second.created)
            #expect(first.records == 60 && second.records == 60)
            let app = try database.connectAsApp()
            let stages = try app.transaction(settings: AccessScope.operator_(tenantID: DemoTenant.tenantID).settings) { tx in
                try tx.query("SELECT array_agg(DISTINCT stage ORDER BY stage) FROM records").scalar([String].self)
            }
            #expect(stages == ["contact", "disqualified", "potential", "target"])
            let eventsMatchStages = try app.transaction(settings: AccessScope.operator_(tenantID: DemoTenant.tenantID).settings) { tx in
                try tx.query("""
                    SELECT bool_and(r.stage = e.to_stage) FROM records r
                    JOIN LATERAL (SELECT to_stage FROM record_events ev
                                   WHERE ev.tenant_id = r.tenant_id AND ev.record_id = r.record_id
                                   ORDER BY occurred_at DESC, event_id DESC LIMIT 1) e ON true
                    """).scalar(Bool.self)
            }
            #expect(eventsMatchStages)
        }
    }
}
