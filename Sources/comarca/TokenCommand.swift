import ArgumentParser
import ComarcaCore
import Foundation

/// `comarca token create`: API tokens for integrations, issued by the operator.
struct TokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Manage API tokens.",
        subcommands: [Create.self]
    )

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a new API token for a user (shown only once).",
            discussion: "Requests made with the token act as the user, with --role instead of the user's role when given."
        )
        @OptionGroup var database: DatabaseOptions

        @Argument(help: "The tenant's slug.")
        var slug: String

        @Argument(help: "The e-mail of the user the token acts as.")
        var email: String

        @Option(help: "What the token is for (shown when tokens are listed).")
        var name: String

        @Option(help: "Key of a role of the tenant for requests made with this token (default: the user's role).")
        var role: String?

        @Option(help: "Days until the token expires.")
        var days: Int = 90

        func validate() throws {
            guard days >= 1 else { throw ValidationError("--days must be at least 1") }
        }

        func run() throws {
            try reportingCoreErrors {
                let issued = try AuthService().createAPIToken(
                    tenantSlug: slug, email: email, name: name, role: role, expiresIn: TimeInterval(days) * 86_400,
                    on: try connect(database))
                printError("API token \(issued.tokenID.uuidString.lowercased()) for \(email) in \(slug), valid until \(ISO8601DateFormatter().string(from: issued.expiresAt)):")
                print(issued.token)
            }
        }
    }
}
