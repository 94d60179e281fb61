import ArgumentParser
import ComarcaCore
import ComarcaHTTP
import Foundation
import Hummingbird
import Logging
import PGClient

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the HTTP service as the application role (row-level security applies)."
    )

    @OptionGroup var database: DatabaseOptions

    @Option(help: "Address to bind (default: $COMARCA_HTTP_HOST or 127.0.0.1).")
    var host: String?

    @Option(help: "Port to bind (default: $COMARCA_HTTP_PORT or 8080).")
    var port: Int?

    @Option(name: .customLong("app-role"), help: "Role the service connects as when $COMARCA_APP_DATABASE_URL is not set.")
    var appRole: String = "comarca_app"

    @Option(name: .customLong("pool-size"), help: "Database connections (and libpq threads).")
    var poolSize: Int = 10

    @Flag(help: "Apply pending migrations (as the owner role from --database-url/$DATABASE_URL) before serving.")
    var migrate = false

    func validate() throws {
        if let port, !(1...65535).contains(port) { throw ValidationError("--port must be between 1 and 65535") }
        if poolSize < 1 || poolSize > 500 { throw ValidationError("--pool-size must be between 1 and 500") }
    }

    func run() async throws {
        let env = ProcessInfo.processInfo.environment
        let level = env["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
        LoggingSystem.bootstrap { label in JSONLogHandler(label: label, level: level) }
        let logger = Logger(label: "comarca")

        // The service never runs as the owner: derive the app connection from the owner's URL
        // with the user swapped, unless a URL for the app role is given outright.
        let appConninfo = env["COMARCA_APP_DATABASE_URL"] ?? database.ownerConninfo
        let appOverrides = env["COMARCA_APP_DATABASE_URL"] == nil ? ["user": appRole] : [:]
        let migrations = try MigrationSource.locate()

        let probe: PGConnection
        do {
            probe = try PGConnection.connect(appConninfo, overrides: appOverrides)
        } catch let error as PGError {
            throw CLIError("cannot connect as the application role: \(error.message)")
        }
        try Database.verifyApplicationRole(on: probe)
        let migrator = Migrator(source: migrations)
        let pending = try migrator.status(on: probe).pending
        if !pending.isEmpty {
            guard migrate else {
                throw CLIError("\(pending.count) migrations are pending (\(pending.map(\.fileName).joined(separator: ", "))); run `comarca migrate` or pass --migrate")
            }
            try migrator.migrate(on: try connect(database)) { logger.info("\($0)") }
        }

        let pool = PGPool(
            configuration: .init(
                conninfo: appConninfo, overrides: appOverrides, maxConnections: poolSize,
                // Behind PgBouncer in transaction mode without prepared-statement tracking.
                preparedStatements: env["COMARCA_PREPARED_STATEMENTS"] != "off"),
            logger: logger
        )
        let http = HTTPConfiguration(
            host: host ?? env["COMARCA_HTTP_HOST"] ?? "127.0.0.1",
            port: port ?? env["COMARCA_HTTP_PORT"].flatMap(Int.init) ?? 8080
        )
        let database = Database(pool: pool)
        let imports = ImportJobRunner(database: database, settings: .fromEnvironment(env), logger: logger)
        // Imports a previous process left queued or running go on in the background, as the
        // users who started them; started before the server takes new uploads.
        do {
            let resumed = try await imports.resumeInterrupted()
            if resumed > 0 { logger.info("resuming interrupted imports", metadata: ["count": "\(resumed)"]) }
        } catch {
            logger.error("cannot look for interrupted imports", metadata: ["error": "\(error)"])
        }
        let app = buildApplication(
            configuration: http,
            dependencies: AppDependencies(database: database, migrations: migrations, imports: imports),
            logger: logger)
        try await app.runService()
    }
}
