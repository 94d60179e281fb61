public import ComarcaCore
public import Foundation
public import PGClient
import Testing

/// A database of its own for one test or suite, on the PostgreSQL that `deploy/dev test` started
/// (found through `COMARCA_TEST_DATABASE_URL`, the owner role). Dropped afterwards.
public struct TestDatabase: Sendable {
    public let name: String
    public let ownerURL: String
    public let appRole: String

    public static let repositoryRoot: URL = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
        }
        fatalError("Package.swift not found above \(#filePath)")
    }()

    public static var migrationsDirectory: URL { repositoryRoot.appendingPathComponent("sql") }

    static func ownerURL() throws -> String {
        let env = ProcessInfo.processInfo.environment
        guard let url = env["COMARCA_TEST_DATABASE_URL"] ?? env["DATABASE_URL"], !url.isEmpty else {
            throw TestSetupError(
                "COMARCA_TEST_DATABASE_URL is not set: run the tests with deploy/dev test, which starts PostgreSQL and sets it"
            )
        }
        return url
    }

    /// Runs `body` with a new empty database, dropped when `body` ends (even when it throws).
    public static func withEmpty<T>(_ body: (TestDatabase) async throws -> T) async throws -> T {
        let url = try ownerURL()
        let appRole = ProcessInfo.processInfo.environment["COMARCA_TEST_APP_ROLE"] ?? "comarca_app"
        // Only hex digits: the name is an identifier and cannot be a bind.
        let name = "ctest_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(20)
        let admin = try PGConnection.connect(url)
        try admin.simpleQuery(unsafeSQL: "CREATE DATABASE \(name)")
        let database = TestDatabase(name: name, ownerURL: url, appRole: appRole)
        do {
            let value = try await body(database)
            try await drop(name, using: admin)
            return value
        } catch {
            try? await drop(name, using: admin)
            throw error
        }
    }

    /// Drops a test database. The owner may not terminate the app role's backends (FORCE needs
    /// that), so it uses the superuser when deploy/dev provides one, and otherwise waits for the
    /// last sessions to close (a plain DROP also stops autovacuum workers by itself).
    static func drop(_ name: String, using owner: PGConnection) async throws {
        if let superuserURL = ProcessInfo.processInfo.environment["COMARCA_SUPERUSER_URL"], !superuserURL.isEmpty,
            let superuser = try? PGConnection.connect(superuserURL)
        {
            try superuser.simpleQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
            return
        }
        var attempt = 0
        while true {
            do {
                try owner.simpleQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(name)")
                return
            } catch let error as PGError where error.code?.rawValue == "55006" && attempt < 100 {
                attempt += 1
                try await Task.sleep(for: .milliseconds(50))
            }
        }
    }

    /// Runs `body` with a new database migrated with the repository's `sql/`.
    public static func withMigrated<T>(_ body: (TestDatabase) async throws -> T) async throws -> T {
        try await withEmpty { database in
            let owner = try database.connectAsOwner()
            let migrator = try Migrator(source: MigrationSource(directory: migrationsDirectory))
            try migrator.migrate(on: owner)
            // Every suite starts from the schema the repository ships, all of it.
            try #require(try migrator.status(on: owner).isCurrent, "the test database is not fully migrated")
            return try await body(database)
        }
    }

    public func connectAsOwner() throws -> PGConnection {
        try PGConnection.connect(ownerURL, overrides: ["dbname": name])
    }

    public func connectAsApp() throws -> PGConnection {
        try PGConnection.connect(ownerURL, overrides: ["dbname": name, "user": appRole])
    }

    public func ownerPoolConfiguration(maxConnections: Int = 4, acquireTimeout: Duration = .seconds(5)) -> PGPool.Configuration {
        PGPool.Configuration(conninfo: ownerURL, overrides: ["dbname": name], maxConnections: maxConnections, acquireTimeout: acquireTimeout)
    }

    public func appPoolConfiguration(maxConnections: Int = 4, acquireTimeout: Duration = .seconds(5)) -> PGPool.Configuration {
        PGPool.Configuration(
            conninfo: ownerURL, overrides: ["dbname": name, "user": appRole],
            maxConnections: maxConnections, acquireTimeout: acquireTimeout)
    }
}

public struct TestSetupError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
