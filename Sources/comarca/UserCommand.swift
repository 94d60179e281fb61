import ArgumentParser
import ComarcaCore
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// `comarca user set-password` and `comarca user invite`. The `user` group itself (and `move`) is
// declared in ZoneCommand.swift; append further user subcommands to its list.
extension UserCommand {
    struct SetPassword: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-password",
            abstract: "Set a user's password, read from standard input (never from the command line).",
            discussion: """
                On a terminal the password is asked for twice, without echo. Otherwise the first line \
                of standard input is the password, e.g. `printf '%s\\n' "$PW" | comarca user set-password acme ana@acme.example`. \
                The user's open sessions are revoked.
                """
        )
        @OptionGroup var database: DatabaseOptions

        @Argument(help: "The tenant's slug.")
        var slug: String

        @Argument(help: "The user's e-mail.")
        var email: String

        func run() throws {
            try reportingCoreErrors {
                let password = try PasswordInput.read()
                try PasswordHasher.validate(password)
                try AuthService().setPassword(tenantSlug: slug, email: email, password: password, on: try connect(database))
                print("password set for \(email) in \(slug)")
            }
        }
    }

    struct Invite: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a one-time invite token with which the user sets their own password (valid 7 days).",
            discussion: "A new invite revokes the user's earlier open invites. The token is shown only once."
        )
        @OptionGroup var database: DatabaseOptions

        @Argument(help: "The tenant's slug.")
        var slug: String

        @Argument(help: "The user's e-mail.")
        var email: String

        func run() throws {
            try reportingCoreErrors {
                let invite = try AuthService().createInvite(tenantSlug: slug, email: email, on: try connect(database))
                printError("invite for \(email) in \(slug), valid until \(ISO8601DateFormatter().string(from: invite.expiresAt)):")
                print(invite.token)
            }
        }
    }
}

/// Reads a password from standard input: from a terminal twice without echo, otherwise one line.
enum PasswordInput {
    static func read() throws -> String {
        if isatty(STDIN_FILENO) == 1 {
            let first = try readSilently(prompt: "New password: ")
            let second = try readSilently(prompt: "Repeat it: ")
            guard first == second else { throw CoreError(.invalidInput, "the passwords do not match") }
            return first
        }
        guard var line = readLine(strippingNewline: true) else {
            throw CoreError(.invalidInput, "no password on standard input")
        }
        if line.hasSuffix("\r") { line.removeLast() }
        return line
    }

    private static func readSilently(prompt: String) throws -> String {
        FileHandle.standardError.write(Data(prompt.utf8))
        var saved = termios()
        guard tcgetattr(STDIN_FILENO, &saved) == 0 else { throw CoreError(.invalidInput, "cannot read the terminal's settings") }
        var silent = saved
        silent.c_lflag &= ~tcflag_t(ECHO)
        silent.c_lflag |= tcflag_t(ECHONL)
        guard tcsetattr(STDIN_FILENO, TCSAFLUSH, &silent) == 0 else { throw CoreError(.invalidInput, "cannot turn off echo") }
        defer { _ = tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved) }
        guard let line = readLine(strippingNewline: true) else { throw CoreError(.invalidInput, "no password entered") }
        return line
    }
}
