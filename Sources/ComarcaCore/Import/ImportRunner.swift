public import Foundation
public import PGClient
import Spreadsheet

extension ImportService {
    /// Runs (or resumes) a job to its end on `connection`, which must be idle: the runner opens
    /// its own transactions. Returns the finished job. A job another process is running is a
    /// `conflict`. A crash leaves the job `running`; running it again resumes it: rows already
    /// written are recognised (import_rows) and never written twice.
    ///
    /// With `tokenConnection` (another idle connection of the same user), the search tokens of
    /// the records each batch creates are written on it while the next batch is written
    /// (ImportTokenWriter); without, the records trigger writes them inside each batch.
    public static func run(
        _ session: Session, jobID: UUID, on connection: PGConnection, tokenConnection: PGConnection? = nil,
        batchSize: Int = 20_000, progress: @escaping (ImportProgress) -> Void = { _ in }
    ) throws -> ImportJobView {
        let lockKey = "comarca.import:" + jobID.uuidString.lowercased()
        let locked = try connection.query("SELECT pg_try_advisory_lock(hashtextextended(\(lockKey), 0))").scalar(Bool.self)
        guard locked else { throw CoreError(.conflict, "the import is being run by another process") }
        defer { _ = try? connection.query("SELECT pg_advisory_unlock(hashtextextended(\(lockKey), 0))") }

        let scope = session.accessScope.settings
        let job = try connection.transaction(settings: scope) { try get(session, id: jobID, on: $0) }
        guard !job.isFinished else { return job }
        let run = ImportRun(session: session, job: job, connection: connection, batchSize: batchSize, progress: progress)
        run.tokenWriter = tokenConnection.map { ImportTokenWriter(connection: $0, session: session) }
        // An uploaded file (owned by the job) goes once the job has reached an end; a job left
        // running by a lost connection keeps it for its resume.
        defer {
            if run.options.ownsFile, let path = run.sourcePath,
                let status = try? connection.transaction(settings: scope, { try get(session, id: jobID, on: $0) }), status.isFinished
            {
                try? FileManager.default.removeItem(atPath: path)
            }
        }
        do {
            try run.execute()
        } catch {
            // Tokens in flight finish before the job is marked (their connection is the caller's),
            // and the records written so far get theirs even if the job now ends here.
            if let tokens = run.tokenWriter {
                tokens.finish()
                _ = try? connection.transaction(settings: scope) { try ImportTokenWriter.writeMissing(session: session, jobID: jobID, on: $0) }
            }
            let message: String
            switch error {
            case let error as CoreError: message = error.message
            case let error as SpreadsheetError:
                // Most reader errors name the file already.
                message = error.description.contains(job.fileName) ? error.description : "\(job.fileName): \(error.description)"
            case let error as PGError: message = "database error: \(error.description)"
            default: message = "\(error)"
            }
            _ = try? connection.transaction(settings: scope) { c in
                try c.execute("""
                    UPDATE import_jobs SET status = 'failed', failure = \(message), finished_at = now()
                     WHERE tenant_id = \(session.tenantID) AND job_id = \(jobID)
                    """)
            }
            run.dropStaging()
            // A file the reader refuses is the importer's problem, said as such to every caller.
            if error is SpreadsheetError { throw CoreError(.invalidInput, message) }
            throw error
        }
        run.dropStaging()
        return try connection.transaction(settings: scope) { try get(session, id: jobID, on: $0) }
    }
}

/// One execution of a job.
final class ImportRun {
    let session: Session
    let job: ImportJobView
    let connection: PGConnection
    let batchSize: Int
    let progress: (ImportProgress) -> Void
    let scope: [PGSetting]
    var options: ImportJobOptions
    var sourcePath: String?
    var warnings: [ImportJobView.Warning] = []
    var stagedTables: [String] = []
    var tokenWriter: ImportTokenWriter?

    /// One sheet staged and decided.
    struct Sheet {
        var index: Int
        var name: String?
        var entity: ImportEntity
        /// The sheet's own mode and match key (the mapping's `sheets`), else the job's.
        var mode: ImportMode
        var match: ImportMatchKey?
        var shape: ImportStageShape
        var plan: ImportColumnPlan?
        var problems: [ImportFileProblem] = []
        var rows = 0
    }

    init(session: Session, job: ImportJobView, connection: PGConnection, batchSize: Int, progress: @escaping (ImportProgress) -> Void) {
        self.session = session
        self.job = job
        self.connection = connection
        self.batchSize = max(1, batchSize)
        self.progress = progress
        self.scope = session.accessScope.settings
        self.options = ImportJobOptions(mapping: ImportMapping(), createMissingParents: false, ownsFile: false)
    }

    func inScope<T>(_ body: (PGConnection) throws -> T) throws -> T {
        try connection.transaction(settings: scope, body)
    }

    func execute() throws {
        let t = session.tenantID
        let (optionsText, sourcePath) = try inScope { c in
            try c.query("""
                UPDATE import_jobs SET status = 'running', started_at = coalesce(started_at, now()), heartbeat_at = now()
                 WHERE tenant_id = \(t) AND job_id = \(job.id)
                RETURNING options::text, source_path
                """).decode((String, String?).self)[0]
        }
        options = try JSONDecoder().decode(ImportJobOptions.self, from: Data(optionsText.utf8))
        self.sourcePath = sourcePath
        guard let sourcePath else { throw CoreError(.notFound, "the job has no file to read") }
        let url = URL(fileURLWithPath: sourcePath)
        guard FileManager.default.fileExists(atPath: sourcePath) else {
            throw CoreError(.notFound, "\(job.fileName) is no longer at \(sourcePath); run the import again with the file")
        }
        let resuming = job.rowsDone > 0 || job.startedAt != nil
        if resuming {
            // Resuming: the rows already written came from this exact file.
            let (sha, _) = try ImportService.fingerprint(url)
            guard sha == job.fileSha256 else {
                throw CoreError(.conflict, "\(job.fileName) has changed since the import started; start a new import instead of resuming")
            }
        }
        let file = try SpreadsheetFile(url: url)

        var sheets = try chooseSheets(file)
        // Staging tables live in this backend's local buffers (8 MB by default); a million staged
        // rows updated by the checks would otherwise go back and forth to temporary files. Only
        // settable before the session's first temporary table: a pooled connection that had one
        // keeps what it has.
        _ = try? connection.simpleQuery(unsafeSQL: "SET temp_buffers = '128MB'")
        // Stage and decide each sheet in dependency order, so later sheets can link to the
        // parents earlier ones are about to create.
        var decided: Set<ImportEntity> = []
        var failed = false
        for i in sheets.indices {
            try stage(&sheets[i], file: file)
            if !sheets[i].problems.isEmpty {
                failed = true
                continue
            }
            progress(ImportProgress(phase: .checking, sheet: sheets[i].name, rowsRead: sheets[i].rows, rowsWritten: 0, rowsTotal: nil))
            var checks = ImportChecks(
                session: session, jobID: job.id, sheetIndex: sheets[i].index, shape: sheets[i].shape, plan: sheets[i].plan!,
                mode: sheets[i].mode, match: sheets[i].match, stagedParents: decided)
            checks.createMissingParents = options.createMissingParents && sheets[i].entity != .activities
            try inScope { c in
                // Hash joins and groupings over every staged row stay in memory.
                try c.simpleQuery(unsafeSQL: "SET LOCAL work_mem = '64MB'")
                try checks.run(on: c)
            }
            decided.insert(sheets[i].entity)
        }
        let total = sheets.reduce(0) { $0 + $1.rows }
        var headers: [String: [String]] = [:]
        for sheet in sheets { if let plan = sheet.plan { headers[String(sheet.index)] = plan.headers } }
        let headersJSON = String(decoding: try JSONEncoder().encode(headers), as: UTF8.self)
        // Reports name a workbook's sheets by their names (the file may be gone when they are read).
        var names: [String: String] = [:]
        for sheet in sheets { if let name = sheet.name { names[String(sheet.index)] = name } }
        let namesJSON = String(decoding: try JSONEncoder().encode(names), as: UTF8.self)
        try inScope { c in
            try c.execute("""
                UPDATE import_jobs SET headers = \(headersJSON)::jsonb, options = options || jsonb_build_object('sheetNames', \(namesJSON)::jsonb)
                 WHERE tenant_id = \(session.tenantID) AND job_id = \(job.id)
                """)
        }
        if failed {
            try recordProblems(sheets)
            let count = sheets.reduce(0) { $0 + $1.problems.count }
            throw CoreError(.invalidInput, "\(job.fileName) cannot be imported as it is: \(count) problem\(count == 1 ? "" : "s") with its columns (see the error report); nothing was written")
        }

        var planned = ImportWriter.Counts()
        for sheet in sheets { planned = planned + (try plannedCounts(sheet)) }
        try inScope { c in
            try c.execute("""
                UPDATE import_jobs SET rows_total = \(total), warnings = \(warningsJSON())::jsonb, heartbeat_at = now()
                 WHERE tenant_id = \(session.tenantID) AND job_id = \(job.id)
                """)
        }

        if job.dryRun {
            try inScope { c in
                for sheet in sheets { try writeFindings(sheet, on: c, rejectedRows: true) }
                try finish(status: "completed", counts: planned, rowsDone: total, on: c)
            }
            return
        }
        if job.allOrNothing {
            if planned.rejected > 0 {
                try inScope { c in
                    for sheet in sheets { try writeFindings(sheet, on: c, rejectedRows: true) }
                    try finish(status: "failed", counts: ImportWriter.Counts(rejected: planned.rejected), rowsDone: 0, on: c,
                               failure: "\(planned.rejected) row\(planned.rejected == 1 ? "" : "s") rejected; nothing was written (all-or-nothing)")
                }
                return
            }
            // Everything in one transaction: a failure leaves nothing behind.
            try inScope { c in
                var counts = ImportWriter.Counts()
                for sheet in sheets {
                    let writer = makeWriter(sheet)
                    counts = counts + (try writer.write(lower: Self.allRows.lowerBound, upper: Self.allRows.upperBound, on: c))
                }
                try finish(status: "completed", counts: counts, rowsDone: total, on: c)
            }
            return
        }

        if resuming {
            // Records an interrupted run committed without their tokens (sql/0019) get them now.
            try inScope { try ImportTokenWriter.writeMissing(session: session, jobID: job.id, on: $0) }
        }
        var written = 0
        var changed = 0
        for sheet in sheets {
            let writer = makeWriter(sheet)
            let writesRecords = sheet.entity == .records || sheet.entity == .contacts
            let bounds = try connection.query(PGQuery(unsafeSQL: "SELECT min(row_no), max(row_no) FROM pg_temp.\(sheet.shape.table) WHERE NOT done"))
                .decode((Int?, Int?).self)[0]
            guard let low = bounds.0, let high = bounds.1 else { continue }
            progress(ImportProgress(phase: .writing, sheet: sheet.name, rowsRead: total, rowsWritten: written, rowsTotal: total))
            var lower = low
            while lower <= high {
                let upper = lower + batchSize - 1
                if try cancelRequested() {
                    try finishTokens()
                    try inScope { try finish(status: "cancelled", counts: nil, rowsDone: nil, on: $0) }
                    return
                }
                // Tokens on the second connection while the next batch is written, unless it failed.
                let tokens = writesRecords && tokenWriter?.failed == false ? tokenWriter : nil
                let counts = try writeBatch(writer, lower: lower, upper: upper, deferTokens: tokens != nil)
                if let tokens, counts.created > 0 {
                    tokens.batchWritten(values: try ImportTokenWriter.stagedValues(
                        table: sheet.shape.table, lower: lower, upper: upper, on: connection))
                }
                written += counts.total
                changed += counts.created + counts.updated
                progress(ImportProgress(phase: .writing, sheet: sheet.name, rowsRead: total, rowsWritten: written, rowsTotal: total))
                lower = upper + 1
            }
        }
        try finishTokens()
        try inScope { try finish(status: "completed", counts: nil, rowsDone: nil, on: $0) }
        if changed >= Self.rowsWorthAnalyze {
            // The tenant's new rows in the planner's statistics now, not when autovacuum gets to them.
            _ = try? connection.query("SELECT comarca.analyze_after_bulk_write()")
        }
        progress(ImportProgress(phase: .finished, sheet: nil, rowsRead: total, rowsWritten: written, rowsTotal: total))
    }

    /// Waits for the tokens in flight; if the token connection failed, the records it left
    /// without tokens get them here.
    private func finishTokens() throws {
        guard let tokenWriter, !tokenWriter.finish() else { return }
        try inScope { try ImportTokenWriter.writeMissing(session: session, jobID: job.id, on: $0) }
    }

    private func makeWriter(_ sheet: Sheet) -> ImportWriter {
        var writer = ImportWriter(session: session, jobID: job.id, jobZoneID: session.zoneID, sheetIndex: sheet.index, shape: sheet.shape)
        writer.createsParents = options.createMissingParents && (sheet.entity == .records || sheet.entity == .contacts)
            && sheet.plan?.targetsByKey[PseudoField.account.rawValue] != nil
        return writer
    }

    // MARK: - Sheets

    private func chooseSheets(_ file: SpreadsheetFile) throws -> [Sheet] {
        let jobMode = ImportMode(rawValue: job.mode) ?? .create
        let jobMatch = job.match.flatMap(ImportMatchKey.init(rawValue:))
        // The mapping's sheets by folded name: entity, and the sheet's own mode and match.
        let named = Dictionary(options.mapping.sheets.map { (Normalize.folded($0.key), $0.value) }, uniquingKeysWith: { a, _ in a })
        if let entity = ImportEntity(rawValue: job.entity) {
            let name: String?
            if file.kind == .xlsx {
                if let wanted = job.sheet {
                    guard let info = file.sheets.first(where: { Normalize.folded($0.name) == Normalize.folded(wanted) }) else {
                        throw CoreError.invalid("sheet", "the workbook has no sheet named \(wanted); sheets: \(file.sheets.map(\.name).joined(separator: ", "))")
                    }
                    name = info.name
                    if info.hidden { warnings.append(.init(code: "hidden_sheet", message: "sheet \(info.name) is hidden in the workbook", row: nil)) }
                } else {
                    guard let first = file.sheets.first(where: { !$0.hidden }) else {
                        throw CoreError.invalid("sheet", "the workbook has no visible sheet; name one with --sheet")
                    }
                    name = first.name
                }
            } else {
                name = nil
            }
            let index = file.sheets.firstIndex { $0.name == name } ?? 0
            let own = name.flatMap { named[Normalize.folded($0)] }
            return [Sheet(index: index, name: name, entity: entity, mode: own?.mode ?? jobMode, match: own?.match ?? jobMatch, shape: .forEntity(entity))]
        }
        // A workbook: one sheet per entity, parents first.
        var sheets: [Sheet] = []
        var seen: [ImportEntity: String] = [:]
        for info in file.sheets {
            let explicit = named[Normalize.folded(info.name)]
            let guessed = explicit != nil || !info.hidden ? ImportEntity.guess(sheetName: info.name) : nil
            guard let entity = explicit?.entity ?? guessed else {
                warnings.append(.init(code: "sheet_not_imported", message: "sheet \(info.name)\(info.hidden ? " (hidden)" : "") is not imported: its name names no entity (accounts, contacts, records, activities)", row: nil))
                continue
            }
            let table = ImportStageShape.forEntity(entity).table
            if let other = seen.first(where: { ImportStageShape.forEntity($0.key).table == table }) {
                throw CoreError.invalid("sheet", "sheets \(other.value) and \(info.name) both hold \(entity.rawValue); import one of them")
            }
            seen[entity] = info.name
            if info.hidden { warnings.append(.init(code: "hidden_sheet", message: "sheet \(info.name) is hidden in the workbook and is imported because the mapping names it", row: nil)) }
            sheets.append(Sheet(
                index: info.index, name: info.name, entity: entity, mode: explicit?.mode ?? jobMode, match: explicit?.match ?? jobMatch,
                shape: .forEntity(entity)))
        }
        guard !sheets.isEmpty else {
            throw CoreError.invalid("sheet", "no sheet of the workbook is named after an entity (Cuentas/Accounts, Contactos/Contacts, Registros/Records, Actividades/Activities); name them or map them in the mapping's sheets")
        }
        return sheets.sorted { ($0.entity.dependencyRank, $0.index) < ($1.entity.dependencyRank, $1.index) }
    }

    // MARK: - Staging

    /// Reads the sheet once: header, columns, every row converted and COPied into the staging table.
    private func stage(_ sheet: inout Sheet, file: SpreadsheetFile) throws {
        let (mode, match) = (sheet.mode, sheet.match)
        let (specs, zoneRules) = try inScope {
            (try FieldSpecs.load(tenantID: session.tenantID, entity: sheet.entity.fieldEntity, on: $0),
             try ZoneAssignment.load(tenantID: session.tenantID, on: $0))
        }
        // The same rules as online creation: the first postal-code field and a `province` field.
        let postalKey = specs.active.first { $0.type == .postalCode }?.key
        let provinceKey = specs.active.first { $0.key == "province" }?.key
        progress(ImportProgress(phase: .reading, sheet: sheet.name, rowsRead: 0, rowsWritten: 0, rowsTotal: nil))
        let reader = try file.rows(sheet: sheet.name)
        var head: [SheetRow] = []
        while head.count < 30, let row = try reader.nextRow() {
            if !row.isEmpty { head.append(row) }
        }
        let targets = ImportColumnResolver.targets(entity: sheet.entity, specs: specs)
        let headerIndex: Int?
        if let wanted = options.mapping.headerRow {
            headerIndex = head.firstIndex { $0.number == wanted }
        } else {
            headerIndex = ImportColumnResolver.headerIndex(in: head, targets: targets, mapping: options.mapping)
        }
        guard let headerIndex else {
            sheet.problems.append(.init(
                code: "no_header", message: "no header row found in the first rows\(sheet.name.map { " of sheet \($0)" } ?? ""): none names a field of \(sheet.entity.rawValue) (\(targets.prefix(8).map(\.0.key).joined(separator: ", "))…)", column: nil))
            return
        }
        if headerIndex > 0 {
            warnings.append(.init(code: "notes_above_header", message: "\(headerIndex) row\(headerIndex == 1 ? "" : "s") above the header\(sheet.name.map { " of sheet \($0)" } ?? "") were not imported (titles or notes)", row: head[headerIndex].number))
        }
        let (plan, problems) = ImportColumnResolver.plan(header: head[headerIndex], entity: sheet.entity, specs: specs, mapping: options.mapping, mode: mode, match: match)
        sheet.plan = plan
        sheet.problems = problems
        guard problems.isEmpty else { return }

        // Day/month order of text dates, decided per column from the whole sheet. The sheet is
        // staged in one pass reading dates in the locale's order while their evidence is
        // gathered; only when a date goes against that order is the staging abandoned, the order
        // decided from the whole sheet and the sheet read again.
        let dateColumns = plan.columns.filter {
            if case .field(let spec) = $0.target { return spec.type == .date || spec.type == .datetime }
            return false
        }
        let localeOrder = options.mapping.locale.dateOrder
        func decideDateOrders() throws -> [Int: ImportDateOrder] {
            var evidence = ImportDateEvidence()
            let scan = try file.rows(sheet: sheet.name)
            while let row = try scan.nextRow() {
                guard row.number > plan.headerRowNumber else { continue }
                for column in dateColumns { evidence.observe(row.cell(at: column.index), column: column.index) }
            }
            return evidence.decide(default: localeOrder)
        }
        func makeConverter(_ dateOrders: [Int: ImportDateOrder]) -> ImportRowConverter {
            ImportRowConverter(
                plan: plan, specs: specs, reader: ImportValueReader(locale: options.mapping.locale, dateOrders: dateOrders, specs: specs), mode: mode)
        }
        var converter = makeConverter([:])
        if !converter.planIssues.isEmpty {
            // An unreadable sheet still fails before its mapping's constants are judged.
            if !dateColumns.isEmpty { _ = try decideDateOrders() }
            sheet.problems += converter.planIssues.map { .init(code: $0.code, message: "mapping constant \($0.column ?? ""): \($0.message)", column: $0.column) }
            return
        }

        let shape = sheet.shape
        try connection.simpleQuery(unsafeSQL: shape.createSQL)
        stagedTables.append(shape.table)
        let width = plan.headers.count
        // Columns under an empty header that nothing maps: their data is reported, not imported.
        var unlabeled = [Bool](repeating: false, count: width)
        for column in plan.columns where column.target == nil && !column.skipped && plan.headers.indices.contains(column.index)
            && plan.headers[column.index].trimmingCharacters(in: .whitespaces).isEmpty
        {
            unlabeled[column.index] = true
        }
        var strayColumns: Set<Int> = []
        var pendingTotals: [SheetRow] = []
        var count = 0
        let sheetName = sheet.name
        let postalSlot = postalKey.flatMap { converter.slots[$0] }
        let provinceSlot = provinceKey.flatMap { converter.slots[$0] }
        var zoneIDs: [UUID: String] = [:]
        var converted = converter.makeRow()
        var rowEncoder = ImportStageShape.RowEncoder(shape: shape, slots: converter.slots, customKeys: specs.customKeys)
        var encoder = PGCopyEncoder()

        struct DateOrderContradicted: Error {}
        var rows = reader
        var gatheringEvidence = !dateColumns.isEmpty
        while true {
            var evidence = ImportDateEvidence()
            // This attempt's converter and mode, as constants (the closure would copy variables).
            let attempt = (converter: converter, gathersEvidence: gatheringEvidence)
            do {
                try connection.copyFrom(PGQuery(unsafeSQL: shape.copySQL)) { writer in
                    func emit(_ row: SheetRow) throws {
                        for (i, cell) in row.cells.enumerated() where (i >= width || unlabeled[i]) && !cell.isEmpty {
                            strayColumns.insert(i)
                        }
                        attempt.converter.convert(row, into: &converted)
                        var zone: (id: String, rule: String)?
                        if !zoneRules.isEmpty, shape.entity != .activities, converted[pseudo: .zone] == nil, converted[pseudo: .owner] == nil,
                            let decision = zoneRules.assign(postalCode: converted.text(postalSlot), province: converted.text(provinceSlot))
                        {
                            let id = zoneIDs[decision.zoneID] ?? decision.zoneID.uuidString.lowercased()
                            zoneIDs[decision.zoneID] = id
                            zone = (id, decision.rule)
                        }
                        rowEncoder.encode(converted, zone: zone, into: &encoder)
                        if encoder.count >= 64 * 1024 { try writer.write(&encoder) }
                        count += 1
                        if count % 50_000 == 0 {
                            progress(ImportProgress(phase: .reading, sheet: sheetName, rowsRead: count, rowsWritten: 0, rowsTotal: nil))
                        }
                    }
                    func consider(_ row: SheetRow) throws {
                        if attempt.gathersEvidence, row.number > plan.headerRowNumber {
                            for column in dateColumns { evidence.observe(row.cell(at: column.index), column: column.index) }
                            if evidence.goesAgainst(localeOrder) { throw DateOrderContradicted() }
                        }
                        guard !row.isEmpty else { return }
                        // A total line at the bottom is not a record; only trailing ones are treated so.
                        if Self.looksLikeTotal(row) {
                            pendingTotals.append(row)
                            return
                        }
                        for held in pendingTotals { try emit(held) }
                        pendingTotals = []
                        try emit(row)
                    }
                    for row in head[(headerIndex + 1)...] { try consider(row) }
                    while let row = try rows.nextRow() { try consider(row) }
                    try writer.write(&encoder)
                }
                break
            } catch is DateOrderContradicted {
                // The COPY was aborted (nothing staged): decide, then start again after the rows
                // the header was found in.
                converter = makeConverter(try decideDateOrders())
                rows = try file.rows(sheet: sheet.name)
                var skipped = 0
                while skipped < head.count, let row = try rows.nextRow() {
                    if !row.isEmpty { skipped += 1 }
                }
                gatheringEvidence = false
                strayColumns = []
                pendingTotals = []
                count = 0
                encoder.removeAll()
            }
        }
        for total in pendingTotals {
            warnings.append(.init(code: "total_row", message: "row \(total.number) looks like a total line and was not imported", row: total.number))
        }
        for warning in rows.warnings {
            warnings.append(.init(code: warning.code, message: warning.message, row: warning.row))
        }
        if !strayColumns.isEmpty {
            let letters = strayColumns.sorted().map(ImportColumnResolver.columnLetter)
            sheet.problems.append(.init(
                code: "unlabeled_column",
                message: "column\(letters.count == 1 ? "" : "s") \(letters.joined(separator: ", ")) hold\(letters.count == 1 ? "s" : "") data but no header; name them or map them in the mapping (@\(letters[0]): field or @\(letters[0]): skip)",
                column: letters[0]))
        }
        sheet.rows = count
        try connection.simpleQuery(unsafeSQL: "ANALYZE pg_temp.\(shape.table)")
        progress(ImportProgress(phase: .reading, sheet: sheet.name, rowsRead: count, rowsWritten: 0, rowsTotal: nil))
    }

    static func looksLikeTotal(_ row: SheetRow) -> Bool {
        guard let first = row.cells.first(where: { !$0.isEmpty }), case .text(let text) = first else { return false }
        // Folding keeps a leading ASCII byte (lower-cased) unless it is white space: only t and s
        // can start "total" or "suma".
        if let byte = text.utf8.first, byte < 0x80, !Normalize.ASCIIFast.isSpace(byte),
            !"tTsS".utf8.contains(byte)
        {
            return false
        }
        let folded = Normalize.folded(text)
        return folded.hasPrefix("total") || folded.hasPrefix("suma") || folded == "totales"
    }

    // MARK: - Outcome

    private func plannedCounts(_ sheet: Sheet) throws -> ImportWriter.Counts {
        let rows = try connection.query(PGQuery(unsafeSQL: "SELECT action, count(*)::int FROM pg_temp.\(sheet.shape.table) WHERE NOT done GROUP BY action"))
            .decode((String?, Int).self)
        var counts = ImportWriter.Counts()
        for (action, n) in rows {
            switch action {
            case "create": counts.created = n
            case "update": counts.updated = n
            case "skip": counts.skipped = n
            default: counts.rejected += n
            }
        }
        return counts
    }

    /// Row findings of a whole sheet (dry runs and refused all-or-nothing runs write no rows),
    /// and with `rejectedRows` the rejected rows as a real run records them, so the errors and
    /// rejected-rows reports are the ones the real run would give.
    private func writeFindings(_ sheet: Sheet, on c: PGConnection, rejectedRows: Bool = false) throws {
        let writer = makeWriter(sheet)
        try writer.writeFindings(lower: Self.allRows.lowerBound, upper: Self.allRows.upperBound, on: c)
        if rejectedRows { _ = try writer.writeRejected(lower: Self.allRows.lowerBound, upper: Self.allRows.upperBound, on: c) }
    }

    /// Imports that create or update at least this many rows refresh the planner's statistics at the end.
    static let rowsWorthAnalyze = 50_000

    /// Row numbers wide enough for any sheet.
    static let allRows = (Int.min / 2)...(Int.max / 2)

    private func recordProblems(_ sheets: [Sheet]) throws {
        try inScope { c in
            try c.execute("DELETE FROM import_errors WHERE tenant_id = \(session.tenantID) AND job_id = \(job.id) AND row_number IS NULL")
            for sheet in sheets {
                for (i, problem) in sheet.problems.enumerated() {
                    try c.execute("""
                        INSERT INTO import_errors (tenant_id, job_id, error_no, job_zone_id, sheet_index, row_number, column_name, code, message)
                        VALUES (\(session.tenantID), \(job.id), \(-(i + 1)), \(session.zoneID), \(sheet.index), NULL,
                                \(problem.column), \(problem.code), \(problem.message))
                        """)
                }
            }
        }
    }

    private func cancelRequested() throws -> Bool {
        try inScope { c in
            try c.query("SELECT cancel_requested FROM import_jobs WHERE tenant_id = \(session.tenantID) AND job_id = \(job.id)").scalar(Bool.self)
        }
    }

    /// One batch in one transaction with the job's progress. If the batch fails (a row breaks a
    /// constraint the checks could not foresee, e.g. a concurrent insert), its rows are retried
    /// one by one so the good ones still commit and the bad one is reported.
    private func writeBatch(_ writer: ImportWriter, lower: Int, upper: Int, deferTokens: Bool) throws -> ImportWriter.Counts {
        let settings = deferTokens ? scope + [ImportTokenWriter.deferTokens] : scope
        // Rows and the job's counts commit together.
        func commit(_ lower: Int, _ upper: Int) throws -> ImportWriter.Counts {
            try connection.transaction(settings: settings) { c in
                let counts = try writer.write(lower: lower, upper: upper, on: c)
                try bump(counts, on: c)
                return counts
            }
        }
        do {
            return try commit(lower, upper)
        } catch let error as PGError where error.kind != .connection {
            let rows = try connection.query(PGQuery(unsafeSQL: "SELECT row_no FROM pg_temp.\(writer.table) WHERE row_no BETWEEN $1 AND $2 AND NOT done ORDER BY row_no", binds: [PGBind(lower), PGBind(upper)]))
                .decode(Int.self)
            var total = ImportWriter.Counts()
            for row in rows {
                do {
                    total = total + (try commit(row, row))
                } catch let rowError as PGError where rowError.kind != .connection {
                    let issue = ImportIssue.error("write_failed", Self.describe(rowError))
                    try connection.execute(PGQuery(unsafeSQL: """
                        UPDATE pg_temp.\(writer.table) SET bad = true, action = 'reject', issues = issues || $2::jsonb WHERE row_no = $1
                        """, binds: [PGBind(row), PGBind(ImportStageShape.issuesJSON([issue]))]))
                    total = total + (try commit(row, row))
                }
            }
            return total
        }
    }

    static func describe(_ error: PGError) -> String {
        if error.code == .uniqueViolation {
            return "another record already holds a value that must be unique\(error.constraint.map { " (\($0))" } ?? "")"
        }
        if error.code == .checkViolation || error.code == .notNullViolation {
            return "the row breaks a rule of the data\(error.constraint.map { " (\($0))" } ?? "")"
        }
        return "the row could not be written (\(error.code?.rawValue ?? "error"))"
    }

    private func bump(_ counts: ImportWriter.Counts, on c: PGConnection) throws {
        try c.execute("""
            UPDATE import_jobs
               SET rows_done = rows_done + \(counts.total), created_count = created_count + \(counts.created),
                   updated_count = updated_count + \(counts.updated), skipped_count = skipped_count + \(counts.skipped),
                   rejected_count = rejected_count + \(counts.rejected), heartbeat_at = now()
             WHERE tenant_id = \(session.tenantID) AND job_id = \(job.id)
            """)
    }

    /// Ends the job. `counts`/`rowsDone` nil keeps what the batches accumulated.
    private func finish(status: String, counts: ImportWriter.Counts?, rowsDone: Int?, on c: PGConnection, failure: String? = nil) throws {
        try c.execute("""
            UPDATE import_jobs
               SET status = \(status), finished_at = now(), heartbeat_at = now(), failure = \(failure),
                   warnings = \(warningsJSON())::jsonb,
                   rows_done = coalesce(\(rowsDone), rows_done),
                   created_count = coalesce(\(counts?.created), created_count),
                   updated_count = coalesce(\(counts?.updated), updated_count),
                   skipped_count = coalesce(\(counts?.skipped), skipped_count),
                   rejected_count = coalesce(\(counts?.rejected), rejected_count)
             WHERE tenant_id = \(session.tenantID) AND job_id = \(job.id)
            """)
    }

    private func warningsJSON() -> String {
        String(decoding: (try? JSONEncoder().encode(warnings)) ?? Data("[]".utf8), as: UTF8.self)
    }

    func dropStaging() {
        for table in stagedTables {
            _ = try? connection.simpleQuery(unsafeSQL: "DROP TABLE IF EXISTS pg_temp.\(table)")
        }
        _ = try? connection.simpleQuery(unsafeSQL: "DROP TABLE IF EXISTS pg_temp.import_new_accounts")
        stagedTables = []
    }
}
