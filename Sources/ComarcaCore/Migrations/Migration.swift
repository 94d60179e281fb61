public import Foundation

/// One forward-only migration file, `sql/NNNN_verb_object.sql`.
public struct Migration: Sendable, Hashable {
    public let version: Int
    public let name: String
    public let sql: String

    public var fileName: String {
        let digits = String(version)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits + "_" + name + ".sql"
    }

    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }
}

/// Where the migration files are read from.
public struct MigrationSource: Sendable {
    public let directory: URL
    public let migrations: [Migration]

    /// Reads every `NNNN_name.sql` in `directory`, in version order. Two files with one version,
    /// or a `.sql` file not named that way, are errors rather than silently skipped.
    public init(directory: URL) throws {
        self.directory = directory
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        } catch {
            throw CoreError(.migrationsNotFound, "cannot read the migrations directory \(directory.path)")
        }
        var migrations: [Migration] = []
        for fileName in names.sorted() where fileName.hasSuffix(".sql") {
            let stem = fileName.dropLast(4)
            let parts = stem.split(separator: "_", maxSplits: 1)
            guard parts.count == 2, parts[0].count == 4, let version = Int(parts[0]), version > 0,
                parts[1].allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "_") })
            else {
                throw CoreError(.migrationInvalid, "\(fileName): migration files are named NNNN_verb_object.sql (lower case)")
            }
            if let clash = migrations.first(where: { $0.version == version }) {
                throw CoreError(.migrationInvalid, "\(fileName) and \(clash.fileName) share version \(version)")
            }
            let url = directory.appendingPathComponent(fileName)
            guard let data = FileManager.default.contents(atPath: url.path), let sql = String(data: data, encoding: .utf8) else {
                throw CoreError(.migrationInvalid, "\(fileName) cannot be read as UTF-8")
            }
            migrations.append(Migration(version: version, name: String(parts[1]), sql: sql))
        }
        guard !migrations.isEmpty else {
            throw CoreError(.migrationsNotFound, "no migration files in \(directory.path)")
        }
        self.migrations = migrations
    }

    /// Finds `sql/`: `COMARCA_SQL_DIR`, else `./sql`, else the nearest `sql/` above the executable
    /// (a build in `.build/…` of the repository), else `share/comarca/sql` beside an installed one.
    public static func locate(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> MigrationSource {
        if let explicit = environment["COMARCA_SQL_DIR"], !explicit.isEmpty {
            return try MigrationSource(directory: URL(fileURLWithPath: explicit))
        }
        var candidates = [URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("sql")]
        let executable = URL(fileURLWithPath: CommandLine.arguments.first ?? "").resolvingSymlinksInPath()
        var directory = executable.deletingLastPathComponent()
        candidates.append(directory.deletingLastPathComponent().appendingPathComponent("share/comarca/sql"))
        while directory.path != "/" {
            candidates.append(directory.appendingPathComponent("sql"))
            directory.deleteLastPathComponent()
        }
        for candidate in candidates where looksLikeMigrations(candidate) {
            return try MigrationSource(directory: candidate)
        }
        throw CoreError(.migrationsNotFound, "cannot find the sql/ migrations directory; set COMARCA_SQL_DIR")
    }

    static func looksLikeMigrations(_ url: URL) -> Bool {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: url.path) else { return false }
        return names.contains { $0.hasPrefix("0001_") && $0.hasSuffix(".sql") }
    }
}
