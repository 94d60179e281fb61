public import Foundation
public import PGClient
import Spreadsheet

/// Spreadsheet imports: one engine behind the CLI and HTTP. A job is created (`create`), then run
/// on a connection of its own (`run`) through several transactions: stage the file, decide every
/// row set-based, write in batches. Everything runs under the importer's session, so RLS and the
/// role's permissions apply exactly as they do online.
public enum ImportService {
    // MARK: - Create

    /// Registers a job for `request` (queued). Refuses a second real import of the same entity
    /// in the tenant while one is queued or running.
    public static func create(_ session: Session, _ request: ImportRequest, on connection: PGConnection) throws -> ImportJobView {
        let entityName = request.entity?.rawValue ?? "workbook"
        if let entity = request.entity {
            try session.require(.import, on: entity.permissionEntity)
        } else {
            for entity in [Entity.accounts, .records, .activities] { try session.require(.import, on: entity) }
        }
        if request.mode != .create, request.match == nil {
            throw CoreError.invalid("match", "--mode \(request.mode.rawValue) needs a match key (external_id, tax_id or email)")
        }
        let kind: SpreadsheetKind
        do {
            kind = try SpreadsheetFile.detectKind(at: request.fileURL)
        } catch let error as SpreadsheetError {
            throw CoreError(.invalidInput, "\(request.fileName): \(error.message)", fieldErrors: [.init(field: "file", message: error.message)])
        }
        if request.entity == nil, kind != .xlsx {
            throw CoreError.invalid("entity", "only an .xlsx workbook imports several entities at once; name the entity for a CSV file")
        }
        let (sha, size) = try fingerprint(request.fileURL)
        let options = ImportJobOptions(mapping: request.mapping, createMissingParents: request.createMissingParents, ownsFile: request.ownsFile)
        let optionsJSON = String(decoding: try JSONEncoder().encode(options), as: UTF8.self)
        // A workbook writes every entity: it waits for, and blocks, imports of each of them.
        let blockers = request.entity == nil
            ? ImportEntity.allCases.map(\.rawValue) + ["workbook"]
            : [entityName, "workbook"] + (request.entity == .records || request.entity == .contacts ? ["records", "contacts"] : [])
        if !request.dryRun {
            let running = try connection.query("""
                SELECT job_id, entity FROM import_jobs
                 WHERE tenant_id = \(session.tenantID) AND status IN ('queued', 'running') AND NOT dry_run
                   AND entity = ANY (\(blockers))
                 LIMIT 1
                """).decode((UUID, String).self)
            if let (other, otherEntity) = running.first {
                throw CoreError(.conflict, "another import of \(otherEntity) is in progress in this company (job \(other.uuidString.lowercased())); wait for it or cancel it")
            }
        }
        let jobID: UUID
        do {
            jobID = try connection.query("""
                INSERT INTO import_jobs (tenant_id, entity, dry_run, mode, match_key, all_or_nothing, file_name, file_kind,
                                         file_sha256, file_bytes, source_path, sheet, options, created_by, zone_id, role_override)
                VALUES (\(session.tenantID), \(entityName), \(request.dryRun), \(request.mode.rawValue), \(request.match?.rawValue),
                        \(request.allOrNothing), \(request.fileName), \(kind.rawValue), \(sha), \(Int(size)), \(request.fileURL.path),
                        \(request.sheet), \(optionsJSON)::jsonb, \(session.userID), \(session.zoneID),
                        -- An API token's own (narrower) role, so a resumed job keeps it.
                        (SELECT t.role_id FROM auth_tokens t WHERE t.tenant_id = \(session.tenantID) AND t.token_id = \(session.tokenID)::uuid))
                RETURNING job_id
                """).scalar(UUID.self)
        } catch let error as PGError where error.code == .uniqueViolation {
            throw CoreError(.conflict, "another import of \(entityName) is in progress in this company; wait for it or cancel it")
        }
        return try get(session, id: jobID, on: connection)
    }

    /// SHA-256 and size of a file, read in chunks.
    static func fingerprint(_ url: URL) throws -> (String, Int64) {
        guard let handle = try? FileHandle(forReadingFrom: url) else {
            throw CoreError(.notFound, "\(url.lastPathComponent): the file cannot be read")
        }
        defer { try? handle.close() }
        var hasher = SHA256.Hasher()
        var size: Int64 = 0
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            hasher.update(chunk)
            size += Int64(chunk.count)
        }
        return (SHA256.hexString(hasher.finalize()), size)
    }

    // MARK: - Read

    public static func get(_ session: Session, id: UUID, on connection: PGConnection) throws -> ImportJobView {
        try session.require(.view, on: .imports)
        let rows = try connection.query(PGQuery(unsafeSQL: ImportJobView.columns) + " WHERE j.tenant_id = \(session.tenantID) AND j.job_id = \(id)")
        guard let row = rows.firstRow else { throw CoreError(.notFound, "import not found") }
        return try ImportJobView.from(row)
    }

    /// Newest first, keyset-paginated.
    public static func list(_ session: Session, page: PageRequest, on connection: PGConnection) throws -> Page<ImportJobView> {
        try session.require(.list, on: .imports)
        var query = PGQuery(unsafeSQL: ImportJobView.columns) + " WHERE j.tenant_id = \(session.tenantID)"
        if let after = try page.after([.timestamp, .uuid]) {
            query = query + " AND (j.created_at, j.job_id) < (\(after.timestamp(0))::timestamptz, \(after.uuid(1)))"
        }
        query = query + " ORDER BY j.created_at DESC, j.job_id DESC LIMIT \(page.limit + 1)"
        let jobs = try connection.query(query).map(ImportJobView.from)
        return page.page(from: jobs) { [CivilTime.rfc3339($0.createdAt), $0.id.uuidString.lowercased()] }
    }

    // MARK: - Cancel

    /// Asks a running job to stop after its current batch (a queued one stops at once). Rows
    /// already written stay, and `undo` can reverse them.
    public static func cancel(_ session: Session, id: UUID, on connection: PGConnection) throws -> ImportJobView {
        try session.require(.import, on: .imports)
        let job = try get(session, id: id, on: connection)
        guard !job.isFinished else {
            throw CoreError(.conflict, "the import is already \(job.status)")
        }
        try connection.execute("""
            UPDATE import_jobs
               SET cancel_requested = true,
                   status = CASE WHEN status = 'queued' THEN 'cancelled' ELSE status END,
                   finished_at = CASE WHEN status = 'queued' THEN now() ELSE finished_at END
             WHERE tenant_id = \(session.tenantID) AND job_id = \(id)
            """)
        return try get(session, id: id, on: connection)
    }
}
