import ArgumentParser
import ComarcaCore
import Foundation

/// The operator's tenant set-up: create a tenant, apply a tenant file, export it back.
/// Connects as the owner role (--database-url / $DATABASE_URL); row-level security still applies
/// through the tenant's operator settings.
struct TenantCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tenant",
        abstract: "Create tenants and manage their set-up (zones, users, roles) from a YAML file.",
        subcommands: [Create.self, Apply.self, Export.self, List.self]
    )

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a tenant with the built-in roles (admin, manager, rep, viewer); fails if the slug exists.")
        @OptionGroup var database: DatabaseOptions

        @Argument(help: "The tenant's slug: 2-63 lower-case letters, digits or '-'.")
        var slug: String

        @Option(help: "The company's name.")
        var name: String

        func validate() throws {
            guard TenantSpec.isValidSlug(slug) else {
                throw ValidationError("slug '\(slug)' must be 2-63 lower-case letters, digits or '-', starting with a letter or digit")
            }
            guard !name.trimmingCharacters(in: .whitespaces).isEmpty else { throw ValidationError("--name must not be blank") }
        }

        func run() throws {
            try reportingCoreErrors {
                let id = try TenantSetup.create(slug: slug, name: name, on: try connect(database))
                print("+ tenant \(slug) (\(name)) created with roles \(BuiltinRoles.all.map(\.key).joined(separator: ", ")); id \(id.uuidString.lowercased())")
            }
        }
    }

    struct Apply: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make the tenant match a YAML file (creating it if needed), in one transaction; prints the plan.",
            discussion: """
                Users missing from the file are deactivated (their zone is freed); zones missing from the file are \
                removed when nothing uses them; tenant-defined roles missing from the file are removed when unused. \
                Applying the same file again changes nothing. An invalid file changes nothing and every problem is \
                listed with its line and column.
                """)
        @OptionGroup var database: DatabaseOptions

        @Argument(help: "The tenant file (YAML).", completion: .file(extensions: ["yaml", "yml"]))
        var file: String

        @Flag(help: "Print the plan and write nothing.")
        var dryRun = false

        func run() throws {
            try reportingCoreErrors {
                let spec = try TenantSpec.load(contentsOf: URL(fileURLWithPath: file))
                let connection = try connect(database)
                let plan = dryRun ? try TenantSetup.plan(spec, on: connection) : try TenantSetup.apply(spec, on: connection)
                for line in plan.lines { print(line) }
                let count = plan.changes.count == 1 ? "1 change" : "\(plan.changes.count) changes"
                if !plan.errors.isEmpty {
                    printError("\(spec.slug): cannot apply (\(plan.errors.count) problem\(plan.errors.count == 1 ? "" : "s")); nothing written")
                    throw ExitCode(1)
                }
                if plan.isEmpty {
                    print("\(spec.slug): up to date, nothing to change")
                } else {
                    print(dryRun ? "\(spec.slug): \(count) planned (dry run: nothing written)" : "\(spec.slug): \(count) applied")
                }
            }
        }
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the tenant's current set-up (roles, zones, active users) as YAML to standard output.")
        @OptionGroup var database: DatabaseOptions

        @Argument(help: "The tenant's slug.")
        var slug: String

        func run() throws {
            try reportingCoreErrors {
                print(try TenantSetup.export(slug: slug, on: try connect(database)), terminator: "")
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the tenants.")
        @OptionGroup var database: DatabaseOptions

        func run() throws {
            try reportingCoreErrors {
                let tenants = try TenantSetup.list(on: try connect(database))
                if tenants.isEmpty { print("no tenants") }
                for tenant in tenants {
                    print("\(tenant.slug)\t\(tenant.status)\t\(tenant.name)")
                }
            }
        }
    }
}

/// Domain errors as the operator should read them: the message (every line of it) on standard
/// error, exit status 1.
func reportingCoreErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as CoreError {
        printError(error.message)
        throw ExitCode(1)
    }
}

func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}
