import ArgumentParser
import ComarcaCore
import PGClient

struct MigrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Apply pending migrations from sql/ as the owner role.",
        subcommands: [Apply.self, Status.self],
        defaultSubcommand: Apply.self
    )

    struct Apply: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "apply", abstract: "Apply every pending migration, each in its own transaction.")
        @OptionGroup var database: DatabaseOptions

        func run() throws {
            let migrator = Migrator(source: try MigrationSource.locate())
            let connection = try connect(database)
            let applied = try migrator.migrate(on: connection) { print($0) }
            print(applied.isEmpty ? "migrations: up to date" : "migrations: applied \(applied.count)")
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "status", abstract: "List applied and pending migrations; exit 1 when some are pending.")
        @OptionGroup var database: DatabaseOptions

        func run() throws {
            let migrator = Migrator(source: try MigrationSource.locate())
            let status = try migrator.status(on: try connect(database))
            for applied in status.applied { print("applied  \(applied.version)  \(applied.name)") }
            for pending in status.pending { print("pending  \(pending.version)  \(pending.name)") }
            if !status.isCurrent { throw ExitCode(1) }
        }
    }
}

func connect(_ options: DatabaseOptions, overrides: [String: String] = [:]) throws -> PGConnection {
    do {
        return try PGConnection.connect(options.ownerConninfo, overrides: overrides)
    } catch let error as PGError {
        throw CLIError("cannot connect to PostgreSQL: \(error.message)")
    }
}
