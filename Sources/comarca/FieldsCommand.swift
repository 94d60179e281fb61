import ArgumentParser
import ComarcaCore
import Foundation

/// The operator's field specs: apply a fields file to a tenant, show a tenant's fields.
struct FieldsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fields",
        abstract: "Configure built-in and custom fields per entity from a YAML file, and show them.",
        subcommands: [Apply.self, Show.self]
    )

    struct Apply: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make the tenant's fields match a YAML file (`fields: {records: [...], accounts: [...]}`); prints the plan.",
            discussion: """
                Entities missing from the file are left as they are. A custom field missing from a listed entity is \
                archived (its values are kept and exported); `renamed_from: old` (or an alias naming the old key) \
                moves the values and keeps the old key as an alias; removed choice options need `remap: {old: new}` \
                for values in use, or the apply is refused with the values and their counts. --dry-run shows the \
                effect on existing rows and writes nothing.
                """)
        @OptionGroup var database: DatabaseOptions

        @Argument(help: "The tenant's slug.")
        var slug: String

        @Argument(help: "The fields file (YAML).", completion: .file(extensions: ["yaml", "yml"]))
        var file: String

        @Flag(help: "Print the plan and write nothing.")
        var dryRun = false

        func run() throws {
            try reportingCoreErrors {
                let url = URL(fileURLWithPath: file)
                let text: String
                do {
                    text = try String(contentsOf: url, encoding: .utf8)
                } catch {
                    throw CoreError(.notFound, "cannot read \(file): \(error.localizedDescription)")
                }
                let config = try FieldSpecs.parse(text, fileName: url.lastPathComponent)
                let connection = try connect(database)
                let plan: FieldSpecPlan
                do {
                    plan = try FieldSpecs.apply(config, slug: slug, dryRun: dryRun, on: connection)
                } catch let error as CoreError where error.code == .conflict && !dryRun {
                    // Show the whole plan, errors included, before failing.
                    let dry = try FieldSpecs.apply(config, slug: slug, dryRun: true, on: connection)
                    for line in dry.lines { print(line) }
                    throw error
                }
                for line in plan.lines { print(line) }
                let count = plan.changes.count == 1 ? "1 change" : "\(plan.changes.count) changes"
                if !plan.errors.isEmpty {
                    printError("\(slug): cannot apply (\(plan.errors.count) problem\(plan.errors.count == 1 ? "" : "s")); nothing written")
                    throw ExitCode(1)
                }
                if plan.isEmpty {
                    print("\(slug): fields up to date, nothing to change")
                } else {
                    print(dryRun ? "\(slug): \(count) planned (dry run: nothing written)" : "\(slug): \(count) applied")
                }
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the tenant's fields (built-in and custom), one per line.")
        @OptionGroup var database: DatabaseOptions

        @Argument(help: "The tenant's slug.")
        var slug: String

        @Argument(help: "records, accounts, activities or opportunities (all when omitted).")
        var entity: String?

        func validate() throws {
            if let entity, FieldEntity(rawValue: entity) == nil {
                throw ValidationError("entity must be one of: \(FieldEntity.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        }

        func run() throws {
            try reportingCoreErrors {
                let entities = entity.flatMap(FieldEntity.init(rawValue:)).map { [$0] } ?? FieldEntity.allCases
                for set in try FieldSpecs.show(slug: slug, entities: entities, on: try connect(database)) {
                    print("\(set.entity.rawValue):")
                    for line in set.lines { print("  \(line)") }
                }
            }
        }
    }
}
