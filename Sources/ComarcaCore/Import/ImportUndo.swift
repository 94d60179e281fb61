public import Foundation
public import PGClient

extension ImportService {
    /// Reverses a whole job in one transaction: deletes what it created (activities, records, then
    /// accounts — parents last), puts back the before-image of everything it updated, and marks
    /// the job `undone`. Refused, changing nothing, when a created row has since gained
    /// dependants (an activity someone logged on an imported record) or lies outside the
    /// caller's scope.
    public static func undo(_ session: Session, id: UUID, on connection: PGConnection) throws -> ImportJobView {
        let job = try get(session, id: id, on: connection)
        for entity in [Entity.records, .accounts, .activities] { try session.require(.import, on: entity) }
        guard !job.dryRun else { throw CoreError(.conflict, "a dry run wrote nothing; there is nothing to undo") }
        guard ["completed", "cancelled", "failed"].contains(job.status) else {
            throw CoreError(.conflict, job.status == "undone" ? "the import was already undone" : "the import is still \(job.status); cancel it first")
        }
        let t = session.tenantID
        let expected = try connection.query("""
            SELECT entity, action, count(*)::int FROM import_rows
             WHERE tenant_id = \(t) AND job_id = \(id) AND action IN ('created', 'updated')
             GROUP BY entity, action
            """).decode((String, String, Int).self)
        func expect(_ entity: String, _ action: String) -> Int {
            expected.first { $0.0 == entity && $0.1 == action }?.2 ?? 0
        }
        func check(_ done: Int, _ entity: String, _ action: String) throws {
            let wanted = expect(entity, action)
            guard done == wanted else {
                throw CoreError(.conflict, "\(wanted - done) of the \(wanted) \(entity) this import \(action) are no longer there or are outside your scope; nothing was undone")
            }
        }
        return try RecordSupport.atomically(connection) {
            // Activities someone else attached to imported records or accounts would be lost.
            let dependants = try connection.query("""
                SELECT count(*)::int FROM activities a
                 WHERE a.tenant_id = \(t)
                   AND (a.record_id IN (SELECT target_id FROM import_rows WHERE tenant_id = \(t) AND job_id = \(id) AND entity = 'records' AND action = 'created')
                        OR a.account_id IN (SELECT target_id FROM import_rows WHERE tenant_id = \(t) AND job_id = \(id) AND entity = 'accounts' AND action = 'created'))
                   AND a.activity_id NOT IN (SELECT target_id FROM import_rows WHERE tenant_id = \(t) AND job_id = \(id) AND entity = 'activities' AND action = 'created')
                """).scalar(Int.self)
            guard dependants == 0 else {
                throw CoreError(.conflict, "\(dependants) activit\(dependants == 1 ? "y has" : "ies have") since been logged on records or accounts this import created; delete or move them first, nothing was undone")
            }
            try check(try connection.execute("""
                DELETE FROM activities WHERE tenant_id = \(t)
                   AND activity_id IN (SELECT target_id FROM import_rows WHERE tenant_id = \(t) AND job_id = \(id) AND entity = 'activities' AND action = 'created')
                """), "activities", "created")
            try check(try connection.execute("""
                DELETE FROM records WHERE tenant_id = \(t)
                   AND record_id IN (SELECT target_id FROM import_rows WHERE tenant_id = \(t) AND job_id = \(id) AND entity = 'records' AND action = 'created')
                """), "records", "created")
            try connection.execute("""
                INSERT INTO record_events (tenant_id, record_id, zone_id, kind, from_stage, to_stage, reason, actor_user_id, detail)
                SELECT \(t), r.record_id, r.zone_id, 'stage', r.stage, b.stage, b.disqualified_reason, \(session.userID),
                       jsonb_build_object('importJobId', \(id.uuidString.lowercased())::text, 'undo', true)
                  FROM import_rows ir
                  JOIN records r ON r.tenant_id = \(t) AND r.record_id = ir.target_id
                  CROSS JOIN LATERAL jsonb_populate_record(NULL::records, ir.before) b
                 WHERE ir.tenant_id = \(t) AND ir.job_id = \(id) AND ir.entity = 'records' AND ir.action = 'updated'
                   AND r.stage <> b.stage
                """)
            try check(try connection.execute("""
                UPDATE records r
                   SET (first_name, last_name, company_name, email, phone, tax_id, display_name, source, campaign_id,
                        external_id, custom, stage, disqualified_reason, owner_user_id, account_id, zone_id, zone_rule) =
                       (b.first_name, b.last_name, b.company_name, b.email, b.phone, b.tax_id, b.display_name, b.source,
                        b.campaign_id, b.external_id, b.custom, b.stage, b.disqualified_reason, b.owner_user_id, b.account_id, b.zone_id,
                        b.zone_rule),
                       version = r.version + 1, updated_at = now()
                  FROM import_rows ir CROSS JOIN LATERAL jsonb_populate_record(NULL::records, ir.before) b
                 WHERE ir.tenant_id = \(t) AND ir.job_id = \(id) AND ir.entity = 'records' AND ir.action = 'updated'
                   AND r.tenant_id = \(t) AND r.record_id = ir.target_id
                """), "records", "updated")
            try check(try connection.execute("""
                UPDATE accounts a
                   SET (name, name_key, tax_id, sector, size, province, custom, zone_id) =
                       (b.name, b.name_key, b.tax_id, b.sector, b.size, b.province, b.custom, b.zone_id),
                       version = a.version + 1, updated_at = now()
                  FROM import_rows ir CROSS JOIN LATERAL jsonb_populate_record(NULL::accounts, ir.before) b
                 WHERE ir.tenant_id = \(t) AND ir.job_id = \(id) AND ir.entity = 'accounts' AND ir.action = 'updated'
                   AND a.tenant_id = \(t) AND a.account_id = ir.target_id
                """), "accounts", "updated")
            do {
                try check(try connection.execute("""
                    DELETE FROM accounts WHERE tenant_id = \(t)
                       AND account_id IN (SELECT target_id FROM import_rows WHERE tenant_id = \(t) AND job_id = \(id) AND entity = 'accounts' AND action = 'created')
                    """), "accounts", "created")
            } catch let error as PGError where error.code == .foreignKeyViolation {
                throw CoreError(.conflict, "accounts this import created are now used by other records; unlink them first, nothing was undone")
            }
            try connection.execute("""
                UPDATE import_jobs SET status = 'undone', finished_at = now()
                 WHERE tenant_id = \(t) AND job_id = \(id)
                """)
            return try get(session, id: id, on: connection)
        }
    }
}
