import ArgumentParser
import Foundation

/// Where the database is. The defaults come from the environment in `run()`, not from option
/// defaults, so `--help` never prints a connection string.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .customLong("database-url"), help: "libpq URL or conninfo of the owner role (default: $DATABASE_URL; libpq's PG* variables also apply).")
    var databaseURL: String?

    var ownerConninfo: String {
        databaseURL ?? ProcessInfo.processInfo.environment["DATABASE_URL"] ?? ""
    }
}

/// A CLI failure: one line for the operator, exit status 1.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
