import ArgumentParser
import ComarcaCore

struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "The demo tenant used by deploy/dev run.",
        subcommands: [Load.self]
    )

    struct Load: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "load", abstract: "Create the demo tenant unless it exists (idempotent).")
        @OptionGroup var database: DatabaseOptions

        func run() throws {
            let outcome = try DemoTenant.load(on: try connect(database))
            print(outcome.created
                ? "demo: created tenant '\(DemoTenant.slug)' with \(outcome.records) records"
                : "demo: tenant '\(DemoTenant.slug)' already exists (\(outcome.records) records)")
            print("demo: sign in with tenant '\(DemoTenant.slug)', password '\(DemoTenant.password)' and one of: \(DemoTenant.emails.joined(separator: ", "))")
        }
    }
}
