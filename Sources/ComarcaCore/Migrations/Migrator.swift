public import PGClient

/// Applies `sql/` migrations in order, each in its own transaction, recording a checksum of
/// every applied file. Runs as the owner role; concurrent runners wait on an advisory lock.
public struct Migrator: Sendable {
    public struct Applied: Sendable, Hashable {
        public let version: Int
        public let name: String
        public let checksum: String
    }

    public struct Status: Sendable {
        public let applied: [Applied]
        public let pending: [Migration]
        public var isCurrent: Bool { pending.isEmpty }
    }

    /// Arbitrary constant: "comarca-migrate" in a 64-bit key, shared by every runner.
    static let advisoryLockKey: Int = 0x636F_6D61_7263_616D

    public let source: MigrationSource

    public init(source: MigrationSource) {
        self.source = source
    }

    /// Applies every pending migration; returns those applied now (empty when up to date).
    @discardableResult
    public func migrate(on connection: PGConnection, log: (String) -> Void = { _ in }) throws -> [Migration] {
        try connection.query("SELECT pg_advisory_lock(\(Self.advisoryLockKey))")
        defer { _ = try? connection.query("SELECT pg_advisory_unlock(\(Self.advisoryLockKey))") }

        try connection.simpleQuery(unsafeSQL: """
            SET client_min_messages = warning;
            CREATE TABLE IF NOT EXISTS public.schema_migrations (
                version    integer PRIMARY KEY CHECK (version > 0),
                name       text NOT NULL,
                checksum   text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            );
            RESET client_min_messages;
            """)
        let pending = try status(on: connection).pending
        for migration in pending {
            log("applying \(migration.fileName)")
            do {
                try connection.transaction { tx in
                    try tx.simpleQuery(unsafeSQL: migration.sql)
                    try tx.query("""
                        INSERT INTO public.schema_migrations (version, name, checksum)
                        VALUES (\(migration.version), \(migration.name), \(Self.checksum(migration.sql)))
                        """)
                }
            } catch let error as PGError {
                throw CoreError(.migrationFailed, "\(migration.fileName) failed and was rolled back: \(String(reflecting: error))")
            }
        }
        return pending
    }

    /// Compares the files with what the database recorded. An applied file that changed or
    /// disappeared is an error: migrations are forward-only, so write a new one instead.
    public func status(on connection: PGConnection) throws -> Status {
        let exists = try connection.query("SELECT to_regclass('public.schema_migrations') IS NOT NULL").scalar(Bool.self)
        var applied: [Applied] = []
        if exists {
            applied = try connection.query("SELECT version, name, checksum FROM public.schema_migrations ORDER BY version")
                .decode((Int, String, String).self)
                .map { Applied(version: $0.0, name: $0.1, checksum: $0.2) }
        }
        return try Self.compare(files: source.migrations, applied: applied)
    }

    static func compare(files: [Migration], applied: [Applied]) throws -> Status {
        let byVersion = Dictionary(uniqueKeysWithValues: files.map { ($0.version, $0) })
        for record in applied {
            guard let file = byVersion[record.version] else {
                throw CoreError(.migrationMissing, "migration \(record.version) (\(record.name)) is applied but its file is gone")
            }
            guard checksum(file.sql) == record.checksum else {
                throw CoreError(
                    .migrationChanged,
                    "\(file.fileName) was changed after it was applied; migrations are forward-only, add a new file instead"
                )
            }
        }
        let appliedVersions = Set(applied.map(\.version))
        if let newest = applied.last?.version,
            let late = files.first(where: { !appliedVersions.contains($0.version) && $0.version < newest })
        {
            throw CoreError(.migrationInvalid, "\(late.fileName) is older than the newest applied migration \(newest)")
        }
        return Status(applied: applied, pending: files.filter { !appliedVersions.contains($0.version) })
    }

    /// SHA-256 of the file text, hex.
    public static func checksum(_ sql: String) -> String {
        SHA256.hex(Array(sql.utf8))
    }
}
