import ArgumentParser
import ComarcaCore
import Foundation
import PGClient

/// Who holds a zone. Records belong to zones, so they stay with the zone.
struct ZoneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "zone",
        abstract: "Change who holds a zone.",
        subcommands: [Handover.self]
    )

    struct Handover: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Give a zone to another user; the previous rep is deactivated, or moved with --move-previous-to.")
        @OptionGroup var database: DatabaseOptions

        @Argument(help: "The tenant's slug.")
        var slug: String

        @Argument(help: "The zone's code.")
        var zone: String

        @Option(help: "E-mail of the user who takes the zone (an existing user of the tenant).")
        var to: String

        @Option(name: .customLong("move-previous-to"), help: "Move the previous rep to this free zone instead of deactivating them.")
        var movePreviousTo: String?

        func run() throws {
            try reportingCoreErrors {
                let connection = try connect(database)
                let tenantID = try operatorTenantID(slug, on: connection)
                let outcome = try ZoneService.handover(tenantID: tenantID, zone: zone, to: to, moveTo: movePreviousTo, on: connection)
                for line in outcome.lines { print(line) }
            }
        }
    }
}

/// The `user` command group. Further user subcommands (set-password, invite) belong in its list.
struct UserCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user",
        abstract: "Manage a tenant's users.",
        subcommands: [Move.self, SetPassword.self, Invite.self]
    )

    struct Move: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Move a user to another zone, which must be free.")
        @OptionGroup var database: DatabaseOptions

        @Argument(help: "The tenant's slug.")
        var slug: String

        @Argument(help: "The user's e-mail.")
        var email: String

        @Option(help: "The code of the free zone to move to.")
        var zone: String

        func run() throws {
            try reportingCoreErrors {
                let connection = try connect(database)
                let tenantID = try operatorTenantID(slug, on: connection)
                print(try UserService.move(tenantID: tenantID, email: email, toZone: zone, on: connection).line)
            }
        }
    }
}

func operatorTenantID(_ slug: String, on connection: PGConnection) throws -> UUID {
    guard let id = try TenantSetup.tenantID(forSlug: slug, on: connection) else {
        throw CoreError(.notFound, "no tenant with slug '\(slug)' (see `comarca tenant list`)")
    }
    return id
}
