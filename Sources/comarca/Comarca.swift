import ArgumentParser

@main
struct Comarca: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "comarca",
        abstract: "Comarca: a multi-tenant CRM backend on PostgreSQL.",
        subcommands: [ServeCommand.self, MigrateCommand.self, DemoCommand.self, TenantCommand.self, ZoneCommand.self, UserCommand.self, TokenCommand.self, FieldsCommand.self, ImportCommand.self]
    )
}
