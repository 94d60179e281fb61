import ArgumentParser
import ComarcaCore
import Foundation
import PGClient

/// `comarca import …`: the operator's imports. The work is ComarcaCore's ImportService, run as a
/// user of the tenant (the first admin unless --as), through the application role: RLS and the
/// user's role apply exactly as over HTTP.
struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import prepared spreadsheets (CSV/TSV in any common encoding, XLSX) and manage import jobs.",
        subcommands: [Run.self, Status.self, List.self, Report.self, Undo.self, Cancel.self, Resume.self, Mapping.self, Template.self]
    )

    /// Who the import acts as, and the connection it acts through.
    struct Actor: ParsableArguments {
        @OptionGroup var database: DatabaseOptions

        @Option(name: .customLong("as"), help: "E-mail of the tenant user the import acts as (default: the tenant's first admin).")
        var user: String?

        @Option(name: .customLong("app-role"), help: "Role to connect as when $COMARCA_APP_DATABASE_URL is not set.")
        var appRole: String = "comarca_app"

        func connectAsApp() throws -> PGConnection {
            let env = ProcessInfo.processInfo.environment
            do {
                // An explicit --database-url names the database; otherwise the app role's own URL wins.
                if database.databaseURL == nil, let url = env["COMARCA_APP_DATABASE_URL"] { return try PGConnection.connect(url) }
                return try PGConnection.connect(database.ownerConninfo, overrides: ["user": appRole])
            } catch let error as PGError {
                throw CLIError("cannot connect as the application role: \(error.message)")
            }
        }

        func session(_ slug: String, on connection: PGConnection) throws -> Session {
            try SessionLoader.operatorSession(tenantSlug: slug, email: user, on: connection)
        }

        /// The tenant user the command acts as, on its own application-role connection.
        func open(_ slug: String) throws -> ActingUser {
            let connection = try connectAsApp()
            return ActingUser(connection: connection, session: try session(slug, on: connection))
        }
    }

    struct ActingUser {
        let connection: PGConnection
        let session: Session

        /// One transaction under the user's settings: RLS sees exactly what the user may.
        func inScope<T>(_ body: (PGConnection) throws -> T) throws -> T {
            try connection.transaction(settings: session.accessScope.settings, body)
        }
    }

    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import a file into a tenant; prints the counts and writes nothing with --dry-run.",
            discussion: """
                The kind of file is read from its bytes. Columns are matched to fields by name, label and the field \
                specs' aliases; --mapping (YAML) or --mapping-name (saved) settle the rest. Without --entity an .xlsx \
                workbook imports every sheet named after an entity (accounts first, then contacts/records, then \
                activities). Exit status 1 when the import fails or rejects rows; the reports say why.
                """)
        @OptionGroup var actor: Actor

        @Argument(help: "The tenant's slug.")
        var slug: String

        @Option(help: "records, contacts, accounts or activities (omit for a multi-sheet workbook).")
        var entity: String?

        @Option(help: "The file to import (.csv, .tsv, .txt or .xlsx).", completion: .file())
        var file: String

        @Option(help: "XLSX: the sheet to import (default: the first visible one).")
        var sheet: String?

        @Option(help: "A mapping file (YAML): columns, defaults, constants, locale, mode, match.", completion: .file(extensions: ["yaml", "yml", "json"]))
        var mapping: String?

        @Option(name: .customLong("mapping-name"), help: "A mapping saved in the tenant (comarca import mapping save).")
        var mappingName: String?

        @Option(help: "create, update or upsert (default: create, or the mapping's).")
        var mode: String?

        @Option(help: "external_id, tax_id, email (records) or tax_id, name (accounts): what makes a row an existing one.")
        var match: String?

        @Flag(help: "Check everything and print the counts; write nothing.")
        var dryRun = false

        @Flag(help: "Write nothing unless every row is good.")
        var allOrNothing = false

        @Flag(help: "Create an account named in a record row when no account has that name (instead of rejecting the row).")
        var createMissingParents = false

        @Option(help: "Rows per transaction.")
        var batchSize = 20_000

        @Option(help: "Write the error, rejected-rows and result reports into this directory.", completion: .directory)
        var reports: String?

        func validate() throws {
            if let entity, ImportEntity(rawValue: entity) == nil { throw ValidationError("--entity must be records, contacts, accounts or activities") }
            if let mode, ImportMode(rawValue: mode) == nil { throw ValidationError("--mode must be create, update or upsert") }
            if let match, ImportMatchKey(rawValue: match) == nil { throw ValidationError("--match must be external_id, tax_id, email or name") }
            if mapping != nil, mappingName != nil { throw ValidationError("give --mapping or --mapping-name, not both") }
            if batchSize < 1 { throw ValidationError("--batch-size must be at least 1") }
        }

        func run() throws {
            try reportingCoreErrors {
                let url = URL(fileURLWithPath: file)
                guard FileManager.default.fileExists(atPath: url.path) else { throw CoreError(.notFound, "\(file): no such file") }
                let user = try actor.open(slug)
                let (connection, session) = (user.connection, user.session)
                var entity = entity.flatMap(ImportEntity.init(rawValue:))
                var parsedMapping = ImportMapping()
                if let mapping {
                    let text: String
                    do { text = try String(contentsOf: URL(fileURLWithPath: mapping), encoding: .utf8) } catch {
                        throw CoreError(.notFound, "cannot read \(mapping)")
                    }
                    parsedMapping = try ImportMapping.parse(text, fileName: mapping)
                } else if let mappingName {
                    let (savedEntity, saved) = try user.inScope {
                        try ImportService.mapping(session, name: mappingName, on: $0)
                    }
                    parsedMapping = saved
                    entity = entity ?? savedEntity
                }
                let request = ImportRequest(
                    entity: entity, fileURL: url.standardizedFileURL, fileName: url.lastPathComponent, sheet: sheet, mapping: parsedMapping,
                    mode: mode.flatMap(ImportMode.init(rawValue:)), match: match.flatMap(ImportMatchKey.init(rawValue:)),
                    dryRun: dryRun, allOrNothing: allOrNothing, createMissingParents: createMissingParents)
                let created = try user.inScope {
                    try ImportService.create(session, request, on: $0)
                }
                printError("import \(created.id.uuidString.lowercased()) (\(created.entity), \(created.mode)\(dryRun ? ", dry run" : "")) of \(created.fileName)")
                if !created.sameFileAs.isEmpty {
                    printError("note: this file was imported before (job \(created.sameFileAs.map { $0.uuidString.lowercased() }.joined(separator: ", ")))")
                }
                let bar = ProgressBar()
                let finished: ImportJobView
                do {
                    // A second connection writes the search tokens of each batch while the next is written.
                    // COMARCA_BENCH_INLINE_TOKENS=1 keeps them inside the batches (to measure the difference).
                    let inline = ProcessInfo.processInfo.environment["COMARCA_BENCH_INLINE_TOKENS"] != nil
                    let tokens = dryRun || inline ? nil : try actor.connectAsApp()
                    finished = try ImportService.run(
                        session, jobID: created.id, on: connection, tokenConnection: tokens, batchSize: batchSize) { bar.show($0) }
                    bar.end()
                } catch let error as CoreError {
                    bar.end()
                    let job = try user.inScope { try ImportService.get(session, id: created.id, on: $0) }
                    try printSummary(job, as: user)
                    throw error
                }
                try printSummary(finished, as: user)
                if finished.status != "completed" || finished.counts.rejected > 0 { throw ExitCode(1) }
            }
        }

        func printSummary(_ job: ImportJobView, as user: ActingUser) throws {
            ImportCommand.printJob(job)
            if job.counts.rejected > 0 || job.status == "failed" {
                try ImportCommand.printErrors(job, as: user, limit: 20)
            }
            if let reports {
                try ImportCommand.writeReports(job, to: reports, as: user)
            }
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show an import's status, counts and first errors.")
        @OptionGroup var actor: Actor
        @Argument(help: "The tenant's slug.") var slug: String
        @Argument(help: "The import's id.") var job: String

        func run() throws {
            try reportingCoreErrors {
                let user = try actor.open(slug)
                let session = user.session
                let id = try ImportCommand.jobID(job)
                let view = try user.inScope { try ImportService.get(session, id: id, on: $0) }
                ImportCommand.printJob(view)
                try ImportCommand.printErrors(view, as: user, limit: 20)
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a tenant's imports, newest first.")
        @OptionGroup var actor: Actor
        @Argument(help: "The tenant's slug.") var slug: String
        @Option(help: "How many.") var limit = 20

        func run() throws {
            try reportingCoreErrors {
                let user = try actor.open(slug)
                let session = user.session
                let page = try user.inScope {
                    try ImportService.list(session, page: try PageRequest(limit: limit, cursor: nil), on: $0)
                }
                for job in page.items {
                    let c = job.counts
                    print("\(job.id.uuidString.lowercased())  \(CivilTime.rfc3339(job.createdAt))  \(job.status)\(job.dryRun ? " (dry run)" : "")  \(job.entity)  \(job.fileName)  +\(c.created) ~\(c.updated) =\(c.skipped) !\(c.rejected)")
                }
            }
        }
    }

    struct Report: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write an import's report as CSV for Spanish Excel (UTF-8 with BOM, ';').",
            discussion: "errors: row, column, value, code, message. rejected: the rejected rows in the file's layout plus an error column, ready to fix and re-import. result: row → action and id.")
        @OptionGroup var actor: Actor
        @Argument(help: "The tenant's slug.") var slug: String
        @Argument(help: "The import's id.") var job: String
        @Option(help: "errors, rejected or result.") var kind: String = "errors"
        @Option(name: .shortAndLong, help: "Output file (default: standard output).") var output: String?

        func validate() throws {
            if ImportReportKind(rawValue: kind) == nil { throw ValidationError("--kind must be errors, rejected or result") }
        }

        func run() throws {
            try reportingCoreErrors {
                let user = try actor.open(slug)
                let session = user.session
                let id = try ImportCommand.jobID(job)
                let handle: FileHandle
                if let output {
                    _ = FileManager.default.createFile(atPath: output, contents: nil)
                    guard let opened = FileHandle(forWritingAtPath: output) else { throw CoreError(.invalidInput, "cannot write \(output)") }
                    handle = opened
                } else {
                    handle = FileHandle.standardOutput
                }
                try user.inScope { tx in
                    try ImportService.writeReport(session, id: id, kind: ImportReportKind(rawValue: kind)!, on: tx) { handle.write(Data($0)) }
                }
                if output != nil { try handle.close() }
            }
        }
    }

    struct Undo: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Reverse an import completely: what it created is deleted, what it updated is put back.")
        @OptionGroup var actor: Actor
        @Argument(help: "The tenant's slug.") var slug: String
        @Argument(help: "The import's id.") var job: String

        func run() throws {
            try reportingCoreErrors {
                let user = try actor.open(slug)
                let session = user.session
                let id = try ImportCommand.jobID(job)
                let view = try user.inScope { try ImportService.undo(session, id: id, on: $0) }
                printError("undone: \(view.counts.created) created rows deleted, \(view.counts.updated) updated rows restored")
            }
        }
    }

    struct Cancel: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop a running import after its current batch (what it wrote stays; undo reverses it).")
        @OptionGroup var actor: Actor
        @Argument(help: "The tenant's slug.") var slug: String
        @Argument(help: "The import's id.") var job: String

        func run() throws {
            try reportingCoreErrors {
                let user = try actor.open(slug)
                let session = user.session
                let id = try ImportCommand.jobID(job)
                let view = try user.inScope { try ImportService.cancel(session, id: id, on: $0) }
                printError("import \(job): \(view.status == "cancelled" ? "cancelled" : "cancel requested")")
            }
        }
    }

    struct Resume: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Resume an import whose process died: rows already written are recognised and not written again.")
        @OptionGroup var actor: Actor
        @Argument(help: "The tenant's slug.") var slug: String
        @Argument(help: "The import's id.") var job: String
        @Option(help: "Rows per transaction.") var batchSize = 20_000

        func run() throws {
            try reportingCoreErrors {
                let connection = try actor.connectAsApp()
                let id = try ImportCommand.jobID(job)
                // The job runs as the user who started it.
                let probe = try actor.session(slug, on: connection)
                let creator = try connection.transaction(settings: probe.accessScope.settings) { try ImportService.get(probe, id: id, on: $0) }.createdBy
                let session = try SessionLoader.load(tenantID: probe.tenantID, userID: creator, on: connection)
                let bar = ProgressBar()
                let finished = try ImportService.run(
                    session, jobID: id, on: connection, tokenConnection: try actor.connectAsApp(), batchSize: batchSize) { bar.show($0) }
                bar.end()
                ImportCommand.printJob(finished)
                if finished.status != "completed" { throw ExitCode(1) }
            }
        }
    }

    struct Template: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write an empty import template (CSV for Spanish Excel) with the tenant's column names for an entity.")
        @OptionGroup var actor: Actor
        @Argument(help: "The tenant's slug.") var slug: String
        @Argument(help: "records, contacts, accounts or activities.") var entity: String
        @Option(name: .shortAndLong, help: "Output file (default: standard output).") var output: String?

        func validate() throws {
            if ImportEntity(rawValue: entity) == nil { throw ValidationError("the entity must be records, contacts, accounts or activities") }
        }

        func run() throws {
            try reportingCoreErrors {
                let user = try actor.open(slug)
                let session = user.session
                let headers = try user.inScope {
                    try ImportService.templateHeaders(session, entity: ImportEntity(rawValue: entity)!, on: $0)
                }
                let bytes = Data(SpreadsheetCSV.byteOrderMark + Array(SpreadsheetCSV.line(headers).utf8))
                if let output {
                    do { try bytes.write(to: URL(fileURLWithPath: output)) } catch { throw CoreError(.invalidInput, "cannot write \(output)") }
                } else {
                    FileHandle.standardOutput.write(bytes)
                }
            }
        }
    }

    struct Mapping: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Save a mapping file under a name in the tenant, or list saved mappings.",
            subcommands: [Save.self, ListMappings.self])

        struct Save: ParsableCommand {
            static let configuration = CommandConfiguration(commandName: "save", abstract: "Save (or replace) a named mapping.")
            @OptionGroup var actor: Actor
            @Argument(help: "The tenant's slug.") var slug: String
            @Argument(help: "The mapping's name.") var name: String
            @Argument(help: "The mapping file (YAML).") var file: String
            @Option(help: "records, contacts, accounts or activities.") var entity: String

            func validate() throws {
                if ImportEntity(rawValue: entity) == nil { throw ValidationError("--entity must be records, contacts, accounts or activities") }
            }

            func run() throws {
                try reportingCoreErrors {
                    let text: String
                    do { text = try String(contentsOf: URL(fileURLWithPath: file), encoding: .utf8) } catch {
                        throw CoreError(.notFound, "cannot read \(file)")
                    }
                    let mapping = try ImportMapping.parse(text, fileName: file)
                    let user = try actor.open(slug)
                    let session = user.session
                    try user.inScope {
                        try ImportService.saveMapping(session, name: name, entity: ImportEntity(rawValue: entity)!, mapping: mapping, on: $0)
                    }
                    printError("saved mapping \(name) for \(entity)")
                }
            }
        }

        struct ListMappings: ParsableCommand {
            static let configuration = CommandConfiguration(commandName: "list", abstract: "List the tenant's saved mappings.")
            @OptionGroup var actor: Actor
            @Argument(help: "The tenant's slug.") var slug: String

            func run() throws {
                try reportingCoreErrors {
                    let user = try actor.open(slug)
                    let session = user.session
                    let saved = try user.inScope { try ImportService.mappings(session, on: $0) }
                    for mapping in saved { print("\(mapping.name)  \(mapping.entity)") }
                }
            }
        }
    }

    // MARK: - Output

    static func jobID(_ text: String) throws -> UUID {
        guard let id = UUID(uuidString: text) else { throw CoreError(.invalidInput, "\(text) is not an import id") }
        return id
    }

    static func printJob(_ job: ImportJobView) {
        let c = job.counts
        let verb = job.dryRun ? "would " : ""
        print("\(job.fileName): \(job.status)\(job.dryRun ? " (dry run: nothing written)" : "")")
        print("  \(verb)create \(c.created), \(verb)update \(c.updated), \(verb)skip \(c.skipped), reject \(c.rejected) of \(job.rowsTotal ?? 0) rows")
        for warning in job.warnings { print("  warning: \(warning.message)") }
        if let failure = job.failure { print("  failed: \(failure)") }
    }

    static func printErrors(_ job: ImportJobView, as user: ActingUser, limit: Int) throws {
        let (findings, total) = try user.inScope { tx in try ImportService.findings(user.session, id: job.id, limit: limit, on: tx) }
        for finding in findings {
            let sheet = finding.sheet ?? job.fileName
            let place = finding.row.map { "\(sheet) row \($0)" } ?? sheet
            let column = finding.column.map { ", column \($0)" } ?? ""
            let value = finding.value.map { $0.isEmpty ? "" : " (value \($0))" } ?? ""
            printError("\(finding.severity): \(place)\(column)\(value): \(finding.message) [\(finding.code)]")
        }
        if total > findings.count {
            printError("… \(total - findings.count) more: comarca import report \(user.session.tenantSlug) \(job.id.uuidString.lowercased())")
        }
    }

    static func writeReports(_ job: ImportJobView, to directory: String, as user: ActingUser) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for kind in ImportReportKind.allCases {
            let path = (directory as NSString).appendingPathComponent("\(job.id.uuidString.lowercased())-\(kind.rawValue).csv")
            _ = FileManager.default.createFile(atPath: path, contents: nil)
            guard let handle = FileHandle(forWritingAtPath: path) else { throw CoreError(.invalidInput, "cannot write \(path)") }
            try user.inScope { tx in
                try ImportService.writeReport(user.session, id: job.id, kind: kind, on: tx) { handle.write(Data($0)) }
            }
            try handle.close()
            printError("wrote \(path)")
        }
    }
}

/// A one-line progress bar on standard error: rows, rows/s and ETA (only on a terminal).
final class ProgressBar {
    private let started = Date()
    private let interactive = isatty(2) == 1
    private var lastDraw = Date.distantPast
    private var drawn = false

    /// When each phase (of each sheet, for a workbook) was first reported, for the summary line.
    private var phaseStarts: [(phase: ImportProgress.Phase, sheet: String?, at: Date)] = []

    func show(_ progress: ImportProgress) {
        if phaseStarts.last?.phase != progress.phase || phaseStarts.last?.sheet != progress.sheet {
            phaseStarts.append((progress.phase, progress.sheet, Date()))
        }
        guard interactive, Date().timeIntervalSince(lastDraw) > 0.2 || progress.phase == .finished else { return }
        lastDraw = Date()
        let elapsed = max(Date().timeIntervalSince(started), 0.001)
        var line: String
        switch progress.phase {
        case .reading:
            line = "reading \(progress.sheet ?? "")  \(progress.rowsRead) rows  \(Int(Double(progress.rowsRead) / elapsed)) rows/s"
        case .checking:
            line = "checking \(progress.rowsRead) rows…"
        case .writing, .finished:
            let total = max(progress.rowsTotal ?? progress.rowsWritten, 1)
            let fraction = min(1, Double(progress.rowsWritten) / Double(total))
            let width = 30
            let filled = Int(fraction * Double(width))
            let rate = Double(progress.rowsWritten) / elapsed
            let eta = rate > 0 ? Int(Double(total - progress.rowsWritten) / rate) : 0
            line = "[" + String(repeating: "=", count: filled) + String(repeating: " ", count: width - filled) + "] "
                + "\(Int(fraction * 100))%  \(progress.rowsWritten)/\(total) rows  \(Int(rate)) rows/s  ETA \(eta)s"
        }
        FileHandle.standardError.write(Data(("\r\u{1B}[K" + line).utf8))
        drawn = true
    }

    func end() {
        if drawn { FileHandle.standardError.write(Data("\n".utf8)) }
        // Where the time went: reading (parse, validate, COPY into staging), checking (the
        // set-based decisions), writing (the batches).
        let marks = phaseStarts + [(.finished, nil, Date())]
        var parts: [String] = []
        for (current, next) in zip(marks, marks.dropFirst()) where current.phase != .finished {
            let name = current.sheet.map { "\(current.phase.rawValue) \($0)" } ?? current.phase.rawValue
            parts.append(name + String(format: " %.1f s", next.at.timeIntervalSince(current.at)))
        }
        if !parts.isEmpty { printError("time: " + parts.joined(separator: ", ")) }
    }
}
