import Foundation
import PGClient

/// Writes one batch of decided staged rows (row numbers `range`) in the caller's transaction:
/// the entity rows, their lifecycle events, the import_rows that make resume and undo possible,
/// and the row-level findings. Set-based: a handful of statements per batch.
struct ImportWriter {
    let session: Session
    let jobID: UUID
    let jobZoneID: UUID
    let sheetIndex: Int
    let shape: ImportStageShape
    /// Accounts the checks decided to create for rows naming a missing one.
    var createsParents = false

    var table: String { shape.table }

    struct Counts: Sendable, Hashable {
        var created = 0, updated = 0, skipped = 0, rejected = 0
        var total: Int { created + updated + skipped + rejected }

        static func + (a: Counts, b: Counts) -> Counts {
            Counts(created: a.created + b.created, updated: a.updated + b.updated, skipped: a.skipped + b.skipped, rejected: a.rejected + b.rejected)
        }
    }

    /// The findings (errors and warnings) of rows `lower...upper` not yet done, into import_errors.
    /// Batches write those of their rows; dry runs those of the whole sheet.
    func writeFindings(lower: Int, upper: Int, on connection: PGConnection) throws {
        var query = PGQuery(unsafeSQL: """
            INSERT INTO import_errors (tenant_id, job_id, error_no, job_zone_id, sheet_index, row_number, column_name, raw_value, code, message, severity)
            SELECT $1, $2, s.row_no * 100 + least(i.ord, 99)::int, $4, $3, s.row_no, i.issue->>'column', i.issue->>'raw',
                   i.issue->>'code', i.issue->>'message', coalesce(i.issue->>'severity', 'error')
              FROM pg_temp.\(table) s, jsonb_array_elements(s.issues) WITH ORDINALITY i(issue, ord)
             WHERE s.row_no BETWEEN $5 AND $6 AND NOT s.done AND i.ord < 100
            ON CONFLICT DO NOTHING
            """, binds: [PGBind(session.tenantID), PGBind(jobID), PGBind(sheetIndex), PGBind(jobZoneID), PGBind(lower), PGBind(upper)])
        query.reusesPlan = false
        try connection.execute(query)
    }

    /// The rejected rows of `lower...upper` not yet done, into import_rows with their cells (the
    /// rejected-rows report). Batches write those of their rows; dry runs those of the whole sheet.
    func writeRejected(lower: Int, upper: Int, on connection: PGConnection) throws -> Int {
        var query = PGQuery(unsafeSQL: """
            INSERT INTO import_rows (tenant_id, job_id, sheet_index, row_number, job_zone_id, entity, action, zone_id, zone_rule, raw)
            SELECT $1, $2, $3, s.row_no, $4, '\(shape.entity.table)', 'rejected', s.zone_id, s.zone_rule, s.raw
              FROM pg_temp.\(table) s WHERE s.row_no BETWEEN $5 AND $6 AND NOT s.done AND s.action = 'reject'
            """, binds: [PGBind(session.tenantID), PGBind(jobID), PGBind(sheetIndex), PGBind(jobZoneID), PGBind(lower), PGBind(upper)])
        query.reusesPlan = false
        return try connection.execute(query)
    }

    /// The statements of one batch, rows `lower...upper` (only rows not done).
    func write(lower: Int, upper: Int, on connection: PGConnection) throws -> Counts {
        let t = session.tenantID
        let common: [PGBind] = [PGBind(t), PGBind(jobID), PGBind(sheetIndex), PGBind(jobZoneID), PGBind(lower), PGBind(upper)]
        let inBatch = "s.row_no BETWEEN $5 AND $6 AND NOT s.done"
        func run(_ sql: String, _ extra: [PGBind] = []) throws -> Int {
            // Planned per batch: the staging table changes under them, and a generic plan once
            // chose to scan every record of the tenant for an update batch that had no updates.
            var query = PGQuery(unsafeSQL: sql, binds: common + extra)
            query.reusesPlan = false
            return try connection.execute(query)
        }
        // What this batch holds decides which statements run at all.
        var present: [String: Int] = [:]
        var hasIssues = false
        let summary = try connection.query(PGQuery(unsafeSQL: """
            SELECT s.action, count(*)::int, bool_or(jsonb_array_length(s.issues) > 0)
              FROM pg_temp.\(table) s WHERE s.row_no BETWEEN $1 AND $2 AND NOT s.done GROUP BY s.action
            """, binds: [PGBind(lower), PGBind(upper)])).decode((String?, Int, Bool?).self)
        for (action, n, issues) in summary {
            present[action ?? "", default: 0] += n
            hasIssues = hasIssues || (issues ?? false)
        }
        guard !present.isEmpty else { return Counts() }
        let creates = present["create", default: 0] > 0
        let updates = present["update", default: 0] > 0

        // Findings of every row in the batch (warnings of written rows too).
        if hasIssues { try writeFindings(lower: lower, upper: upper, on: connection) }
        var counts = Counts()
        if present["reject", default: 0] > 0 { counts.rejected = try writeRejected(lower: lower, upper: upper, on: connection) }
        if present["skip", default: 0] > 0 { counts.skipped = try run("""
            INSERT INTO import_rows (tenant_id, job_id, sheet_index, row_number, job_zone_id, entity, action, target_id, zone_id, zone_rule)
            SELECT $1, $2, $3, s.row_no, $4, '\(shape.entity.table)', 'skipped', s.target_id, s.zone_id, s.zone_rule
              FROM pg_temp.\(table) s WHERE \(inBatch) AND s.action = 'skip'
            """) }

        if createsParents, creates || updates {
            // The new accounts this batch's rows link to, before the rows themselves; recorded
            // under a negative sheet index so undo removes them with the job.
            _ = try run("""
                WITH needed AS (
                    SELECT DISTINCT n.account_id FROM pg_temp.\(table) s JOIN pg_temp.import_new_accounts n ON n.account_id = s.account_id
                     WHERE \(inBatch) AND s.action IN ('create', 'update') AND NOT n.created
                ),
                made AS (
                    INSERT INTO accounts (tenant_id, account_id, zone_id, name, name_key, created_by)
                    SELECT $1, n.account_id, n.zone_id, n.name, n.name_key, $7
                      FROM pg_temp.import_new_accounts n WHERE n.account_id IN (SELECT account_id FROM needed)
                    RETURNING account_id
                ),
                logged AS (
                    INSERT INTO import_rows (tenant_id, job_id, sheet_index, row_number, job_zone_id, entity, action, target_id, zone_id, zone_rule)
                    SELECT $1, $2, -1 - $3::int, n.first_row, $4, 'accounts', 'created', n.account_id, n.zone_id, 'parent'
                      FROM pg_temp.import_new_accounts n WHERE n.account_id IN (SELECT account_id FROM made)
                )
                UPDATE pg_temp.import_new_accounts SET created = true WHERE account_id IN (SELECT account_id FROM made)
                """, [PGBind(session.userID)])
        }
        switch shape.entity {
        case .records, .contacts where creates || updates:
            if creates { counts.created = try run("""
                INSERT INTO records (tenant_id, record_id, zone_id, owner_user_id, account_id, stage, disqualified_reason,
                                     first_name, last_name, company_name, email, phone, tax_id, display_name, source,
                                     campaign_id, external_id, custom, zone_rule, created_by)
                SELECT $1, s.target_id, s.zone_id, s.owner_id, s.account_id, coalesce(s.stage, 'target'),
                       CASE WHEN s.stage = 'disqualified' THEN s.disqualified_reason END,
                       s.first_name, s.last_name, s.company_name, s.email, s.phone, s.tax_id, s.display_name,
                       coalesce(s.source, 'import'), s.campaign_id, s.external_id, coalesce(s.custom, '{}'), s.zone_rule, $7
                  FROM pg_temp.\(table) s WHERE \(inBatch) AND s.action = 'create'
                """, [PGBind(session.userID)])
            _ = try run("""
                INSERT INTO record_events (tenant_id, record_id, zone_id, kind, from_stage, to_stage, reason, actor_user_id, detail)
                SELECT $1, s.target_id, s.zone_id, 'created', NULL, coalesce(s.stage, 'target'),
                       CASE WHEN s.stage = 'disqualified' THEN s.disqualified_reason END, $7,
                       jsonb_build_object('importJobId', $2::text, 'row', s.row_no, 'sheet', $3::int)
                  FROM pg_temp.\(table) s WHERE \(inBatch) AND s.action = 'create'
                """, [PGBind(session.userID)]) }
            guard updates else { break }
            // Before-images first: undo puts them back.
            counts.updated = try run("""
                INSERT INTO import_rows (tenant_id, job_id, sheet_index, row_number, job_zone_id, entity, action, target_id, zone_id, zone_rule, before)
                SELECT $1, $2, $3, s.row_no, $4, 'records', 'updated', s.target_id, r.zone_id, s.zone_rule, to_jsonb(r)
                  FROM pg_temp.\(table) s JOIN records r ON r.tenant_id = $1 AND r.record_id = s.target_id
                 WHERE \(inBatch) AND s.action = 'update'
                """)
            _ = try run("""
                INSERT INTO record_events (tenant_id, record_id, zone_id, kind, from_stage, to_stage, reason, actor_user_id, detail)
                SELECT $1, s.target_id, r.zone_id, 'stage', r.stage, s.stage,
                       CASE WHEN s.stage = 'disqualified' THEN coalesce(s.disqualified_reason, r.disqualified_reason) END, $7,
                       jsonb_build_object('importJobId', $2::text, 'row', s.row_no, 'sheet', $3::int)
                  FROM pg_temp.\(table) s JOIN records r ON r.tenant_id = $1 AND r.record_id = s.target_id
                 WHERE \(inBatch) AND s.action = 'update' AND s.stage IS NOT NULL AND s.stage <> r.stage
                """, [PGBind(session.userID)])
            _ = try run("""
                UPDATE records r
                   SET first_name = coalesce(s.first_name, r.first_name),
                       last_name = coalesce(s.last_name, r.last_name),
                       company_name = coalesce(s.company_name, r.company_name),
                       email = coalesce(s.email, r.email),
                       phone = coalesce(s.phone, r.phone),
                       tax_id = coalesce(s.tax_id, r.tax_id),
                       source = coalesce(s.source, r.source),
                       campaign_id = coalesce(s.campaign_id, r.campaign_id),
                       external_id = coalesce(s.external_id, r.external_id),
                       stage = coalesce(s.stage, r.stage),
                       disqualified_reason = CASE WHEN coalesce(s.stage, r.stage) = 'disqualified'
                                                  THEN coalesce(s.disqualified_reason, r.disqualified_reason) END,
                       custom = r.custom || coalesce(s.custom, '{}'),
                       owner_user_id = CASE WHEN s.owner_explicit THEN s.owner_id ELSE r.owner_user_id END,
                       account_id = coalesce(s.account_id, r.account_id),
                       zone_id = CASE WHEN s.zone_rule IN ('zone_column', 'owner') THEN s.zone_id ELSE r.zone_id END,
                       zone_rule = CASE WHEN s.zone_rule IN ('zone_column', 'owner') AND s.zone_id <> r.zone_id THEN s.zone_rule ELSE r.zone_rule END,
                       display_name = coalesce(
                           nullif(concat_ws(' ', coalesce(s.first_name, r.first_name), coalesce(s.last_name, r.last_name)), ''),
                           coalesce(s.company_name, r.company_name), coalesce(s.email, r.email), coalesce(s.phone, r.phone),
                           r.display_name),
                       version = r.version + 1,
                       updated_at = now()
                  FROM pg_temp.\(table) s
                 WHERE r.tenant_id = $1 AND r.record_id = s.target_id AND \(inBatch) AND s.action = 'update'
                   AND $2::uuid IS NOT NULL AND $3::int IS NOT NULL AND $4::uuid IS NOT NULL
                """)
        case .accounts where creates || updates:
            if creates { counts.created = try run("""
                INSERT INTO accounts (tenant_id, account_id, zone_id, name, name_key, tax_id, sector, size, province, custom, created_by)
                SELECT $1, s.target_id, s.zone_id, s.name, s.name_key, s.tax_id, s.sector, s.size, s.province, coalesce(s.custom, '{}'), $7
                  FROM pg_temp.\(table) s WHERE \(inBatch) AND s.action = 'create'
                """, [PGBind(session.userID)]) }
            guard updates else { break }
            counts.updated = try run("""
                INSERT INTO import_rows (tenant_id, job_id, sheet_index, row_number, job_zone_id, entity, action, target_id, zone_id, zone_rule, before)
                SELECT $1, $2, $3, s.row_no, $4, 'accounts', 'updated', s.target_id, a.zone_id, s.zone_rule, to_jsonb(a)
                  FROM pg_temp.\(table) s JOIN accounts a ON a.tenant_id = $1 AND a.account_id = s.target_id
                 WHERE \(inBatch) AND s.action = 'update'
                """)
            _ = try run("""
                UPDATE accounts a
                   SET name = coalesce(s.name, a.name), name_key = coalesce(s.name_key, a.name_key),
                       tax_id = coalesce(s.tax_id, a.tax_id), sector = coalesce(s.sector, a.sector),
                       size = coalesce(s.size, a.size), province = coalesce(s.province, a.province),
                       custom = a.custom || coalesce(s.custom, '{}'),
                       zone_id = CASE WHEN s.zone_rule = 'zone_column' THEN s.zone_id ELSE a.zone_id END,
                       version = a.version + 1, updated_at = now()
                  FROM pg_temp.\(table) s
                 WHERE a.tenant_id = $1 AND a.account_id = s.target_id AND \(inBatch) AND s.action = 'update'
                   AND $2::uuid IS NOT NULL AND $3::int IS NOT NULL AND $4::uuid IS NOT NULL
                """)
        case .activities where creates:
            counts.created = try run("""
                INSERT INTO activities (tenant_id, activity_id, zone_id, kind, subject, body, record_id, account_id, owner_user_id,
                                        due_at, done_at, outcome, created_by)
                SELECT $1, s.target_id, s.zone_id, s.kind, s.subject, s.body, s.record_id, s.account_id, s.owner_id,
                       s.due_at, s.done_at, s.outcome, $7
                  FROM pg_temp.\(table) s WHERE \(inBatch) AND s.action = 'create'
                """, [PGBind(session.userID)])
        default:
            break
        }
        if creates { _ = try run("""
            INSERT INTO import_rows (tenant_id, job_id, sheet_index, row_number, job_zone_id, entity, action, target_id, zone_id, zone_rule)
            SELECT $1, $2, $3, s.row_no, $4, '\(shape.entity.table)', 'created', s.target_id, s.zone_id, s.zone_rule
              FROM pg_temp.\(table) s WHERE \(inBatch) AND s.action = 'create'
            """) }
        // The staged rows are not marked done: batches are disjoint ranges, each written once per
        // run, and a resumed run learns what is done from import_rows.
        return counts
    }
}
