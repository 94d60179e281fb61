import Foundation
import PGClient

/// The set-based decisions of one staged sheet, run under the importer's settings (RLS decides
/// what the importer can match against). Each statement touches only rows still undecided.
/// Issues are appended to the row's `issues` array; a row with an error issue is rejected.
struct ImportChecks {
    let session: Session
    let jobID: UUID
    let sheetIndex: Int
    let shape: ImportStageShape
    let plan: ImportColumnPlan
    let mode: ImportMode
    let match: ImportMatchKey?
    /// Staging tables of sheets decided before this one (workbooks): parents to be created.
    let stagedParents: Set<ImportEntity>
    /// Records naming an account by a name nobody has: create it (once per name) instead of rejecting.
    var createMissingParents = false

    var table: String { shape.table }
    var t: UUID { session.tenantID }

    /// `issues || [{column, raw, code, message}]` and `bad = true`, for rows `condition` selects.
    private func reject(
        _ connection: PGConnection, code: String, column key: String?, raw: String, message: String,
        from: String = "", where condition: String, binds extra: [PGBind] = []
    ) throws {
        let label = key.map { plan.label(for: $0) }
        try connection.execute(PGQuery(unsafeSQL: """
            UPDATE pg_temp.\(table) s
               SET bad = true,
                   issues = s.issues || jsonb_build_array(jsonb_build_object(
                       'column', $1::text, 'raw', (\(raw))::text, 'code', $2::text, 'message', (\(message))::text, 'severity', 'error'))
              \(from)
             WHERE NOT s.bad AND NOT s.done AND (\(condition))
            """, binds: [PGBind(label), PGBind(code)] + extra))
    }

    func run(on connection: PGConnection) throws {
        // Rows an earlier, interrupted run already wrote (or rejected) are done.
        try connection.execute(PGQuery(unsafeSQL: """
            UPDATE pg_temp.\(table) s SET done = true
              FROM import_rows r
             WHERE r.tenant_id = $1 AND r.job_id = $2 AND r.sheet_index = $3 AND r.row_number = s.row_no
            """, binds: [PGBind(t), PGBind(jobID), PGBind(sheetIndex)]))
        switch shape.entity {
        case .records, .contacts: try records(connection)
        case .accounts: try accounts(connection)
        case .activities: try activities(connection)
        }
        try decideActions(connection)
    }

    // MARK: - Shared steps

    /// Rows sharing a key with an earlier good row of the file: reported before anything is written.
    /// Grouped by hash (only keys held twice come out), not sorted per key.
    private func inFileDuplicates(_ connection: PGConnection, key: String, what: String, column: String, onlyWhere: String? = nil) throws {
        try reject(
            connection, code: "duplicate_in_file", column: column, raw: "s.\(key)",
            message: "'same \(what) as row ' || d.first_row || ' of this file'",
            from: """
                FROM (SELECT \(key) AS value, min(row_no) AS first_row
                        FROM pg_temp.\(table) WHERE \(key) IS NOT NULL AND NOT bad\(onlyWhere.map { " AND " + $0 } ?? "")
                       GROUP BY \(key) HAVING count(*) > 1) d
                """,
            where: "s.\(key) = d.value AND s.row_no <> d.first_row\(onlyWhere.map { " AND s." + $0 } ?? "")")
    }

    /// Zone by code, else the owner's zone, else the rule decided while reading, else the
    /// importer's own zone; then it must be a zone the importer may write to. The zone's user owns
    /// what nobody else was named for (one user per zone). One pass over the rows decides all of
    /// it; the rejections that follow touch only the rows they reject.
    private func zones(_ connection: PGConnection, hasZoneCode: Bool, hasOwner: Bool) throws {
        let byCode = hasZoneCode ? "c.tenant_id = $1 AND lower(c.code) = lower(x.zone_code)" : "false"
        let byOwner = hasOwner ? "n.tenant_id = $1 AND n.email = x.owner_email AND n.deactivated_at IS NULL" : "false"
        try connection.execute(PGQuery(unsafeSQL: """
            UPDATE pg_temp.\(table) s
               SET zone_id = d.zone_id, zone_rule = d.zone_rule,
                   owner_id = coalesce(d.named_owner, zu.user_id), owner_explicit = d.named_owner IS NOT NULL
              FROM (SELECT x.row_no, n.user_id AS named_owner,
                           coalesce(CASE WHEN c.zone_id IS NOT NULL THEN c.zone_id WHEN n.zone_id IS NOT NULL THEN n.zone_id
                                         ELSE x.zone_id END, $2) AS zone_id,
                           CASE WHEN c.zone_id IS NOT NULL THEN 'zone_column' WHEN n.zone_id IS NOT NULL THEN 'owner'
                                WHEN x.zone_id IS NOT NULL THEN x.zone_rule ELSE 'creator' END AS zone_rule
                      FROM pg_temp.\(table) x
                      LEFT JOIN zones c ON \(byCode)
                      LEFT JOIN users n ON \(byOwner)
                     WHERE NOT x.done) d
              LEFT JOIN users zu ON zu.tenant_id = $1 AND zu.zone_id = d.zone_id AND zu.deactivated_at IS NULL
             WHERE s.row_no = d.row_no
            """, binds: [PGBind(t), PGBind(session.zoneID)]))
        if hasZoneCode {
            try reject(
                connection, code: "zone_not_found", column: PseudoField.zone.rawValue, raw: "s.zone_code",
                message: "'no zone has the code ' || s.zone_code", where: "s.zone_code IS NOT NULL AND s.zone_rule IS DISTINCT FROM 'zone_column'")
        }
        if hasOwner {
            try reject(
                connection, code: "owner_not_found", column: PseudoField.owner.rawValue, raw: "s.owner_email",
                message: "'no active user has the e-mail ' || s.owner_email", where: "s.owner_email IS NOT NULL AND NOT s.owner_explicit")
        }
        if let visible = session.visibleZoneIDs {
            try reject(
                connection, code: "zone_out_of_scope", column: hasZoneCode ? PseudoField.zone.rawValue : nil,
                raw: "coalesce(s.zone_code, (SELECT z.code FROM zones z WHERE z.tenant_id = $3 AND z.zone_id = s.zone_id))",
                message: "'the row belongs in zone ' || coalesce(s.zone_code, (SELECT z.code FROM zones z WHERE z.tenant_id = $3 AND z.zone_id = s.zone_id), '?') || ' (' || s.zone_rule || '), which is outside your scope'",
                where: "NOT (s.zone_id = ANY ($4::uuid[]))", binds: [PGBind(t), PGBind(visible)])
        }
        if hasOwner { try ownersFit(connection) }
    }

    /// A named owner must be someone the importer may assign to who can see the row's zone: the
    /// rule the database's owner trigger enforces (`comarca.owner_fits`), checked here so the row
    /// is rejected with a reason instead of failing its batch.
    private func ownersFit(_ connection: PGConnection) throws {
        try reject(
            connection, code: "owner_out_of_scope", column: PseudoField.owner.rawValue, raw: "s.owner_email",
            message: """
                'the user ' || s.owner_email || ' cannot be given rows of zone '
                    || coalesce((SELECT z.code FROM zones z WHERE z.tenant_id = $3 AND z.zone_id = s.zone_id), '?')
                    || ': name a user you may assign to whose zone covers it'
                """,
            where: "s.owner_explicit AND s.zone_id IS NOT NULL AND NOT comarca.owner_fits(s.owner_id, s.zone_id)",
            binds: [PGBind(t)])
    }

    /// Account by CIF, else by folded name, among visible accounts and (workbooks) the accounts
    /// an earlier sheet of this job is about to create. None or several: the row says so.
    private func accountLinks(_ connection: PGConnection, column: String) throws {
        let staged = stagedParents.contains(.accounts)
            ? """
              UNION ALL SELECT target_id, tax_id, name_key FROM pg_temp.import_stage_accounts WHERE action = 'create'
              """
            : ""
        try connection.execute(PGQuery(unsafeSQL: """
            WITH candidates AS (
                SELECT account_id, tax_id, name_key FROM accounts WHERE tenant_id = $1
                \(staged)
            ),
            found AS (
                SELECT s.row_no, count(DISTINCT c.account_id) AS n, min(c.account_id::text)::uuid AS account_id
                  FROM pg_temp.\(table) s
                  JOIN candidates c ON (s.account_tax_id IS NOT NULL AND c.tax_id = s.account_tax_id)
                                    OR (s.account_tax_id IS NULL AND c.name_key = s.account_name_key)
                 WHERE NOT s.bad AND NOT s.done
                 GROUP BY s.row_no
            )
            UPDATE pg_temp.\(table) s
               SET account_id = CASE WHEN f.n = 1 THEN f.account_id END,
                   bad = f.n > 1,
                   issues = CASE WHEN f.n > 1 THEN s.issues || jsonb_build_array(jsonb_build_object(
                       'column', $2::text, 'raw', s.account_name, 'code', 'account_ambiguous',
                       'message', f.n || ' accounts match ' || s.account_name || '; name the account by its CIF', 'severity', 'error'))
                       ELSE s.issues END
              FROM found f
             WHERE f.row_no = s.row_no
            """, binds: [PGBind(t), PGBind(plan.label(for: column))]))
        if createMissingParents, shape.entity != .activities {
            // One new account per missing name, in the zone of the first row that names it.
            try connection.simpleQuery(unsafeSQL: """
                DROP TABLE IF EXISTS pg_temp.import_new_accounts;
                CREATE TEMP TABLE import_new_accounts (
                    account_id uuid PRIMARY KEY, name text NOT NULL, name_key text NOT NULL UNIQUE, zone_id uuid NOT NULL,
                    first_row integer NOT NULL, created boolean NOT NULL DEFAULT false)
                """)
            try connection.execute(PGQuery(unsafeSQL: """
                INSERT INTO pg_temp.import_new_accounts (account_id, name, name_key, zone_id, first_row)
                SELECT gen_random_uuid(), (array_agg(btrim(account_name) ORDER BY row_no))[1], account_name_key,
                       (array_agg(zone_id ORDER BY row_no))[1], min(row_no)
                  FROM pg_temp.\(table)
                 WHERE NOT bad AND NOT done AND account_id IS NULL AND account_tax_id IS NULL AND account_name_key IS NOT NULL
                 GROUP BY account_name_key
                """))
            try connection.execute(PGQuery(unsafeSQL: """
                UPDATE pg_temp.\(table) s SET account_id = n.account_id
                  FROM pg_temp.import_new_accounts n
                 WHERE n.name_key = s.account_name_key AND s.account_id IS NULL AND s.account_tax_id IS NULL AND NOT s.bad
                """))
        }
        try reject(
            connection, code: "account_not_found", column: column, raw: "s.account_name",
            message: "'no account has the ' || CASE WHEN s.account_tax_id IS NOT NULL THEN 'CIF ' ELSE 'name ' END || s.account_name"
                + (createMissingParents ? " || ' (a missing account is created from its name, not from a CIF)'" : ""),
            where: "s.account_name IS NOT NULL AND s.account_id IS NULL")
    }

    // MARK: - Records

    private func records(_ connection: PGConnection) throws {
        let keyColumns = [("external_id", "external id"), ("email", "email"), ("phone", "phone"), ("tax_id", "tax id")]
        for (key, what) in keyColumns {
            try inFileDuplicates(connection, key: key, what: what, column: key)
        }
        try zones(connection, hasZoneCode: plan.byKey[PseudoField.zone.rawValue] != nil || plan.constants[PseudoField.zone.rawValue] != nil,
                  hasOwner: plan.byKey[PseudoField.owner.rawValue] != nil || plan.constants[PseudoField.owner.rawValue] != nil)
        if plan.byKey[PseudoField.account.rawValue] != nil || plan.constants[PseudoField.account.rawValue] != nil {
            try accountLinks(connection, column: PseudoField.account.rawValue)
        }

        // Existing records this row is (update / upsert).
        if mode != .create, let match {
            let key = match.rawValue
            try connection.execute(PGQuery(unsafeSQL: """
                WITH found AS (
                    SELECT s.row_no, count(*) AS n, min(r.record_id::text)::uuid AS record_id, min(r.stage) AS stage
                      FROM pg_temp.\(table) s
                      JOIN records r ON r.tenant_id = $1 AND r.\(key) = s.\(key)
                     WHERE NOT s.bad AND NOT s.done AND s.\(key) IS NOT NULL
                     GROUP BY s.row_no
                )
                UPDATE pg_temp.\(table) s
                   SET target_id = CASE WHEN f.n = 1 THEN f.record_id END,
                       existing_stage = CASE WHEN f.n = 1 THEN f.stage END,
                       bad = f.n > 1,
                       issues = CASE WHEN f.n > 1 THEN s.issues || jsonb_build_array(jsonb_build_object(
                           'column', $2::text, 'raw', s.\(key), 'code', 'ambiguous_match',
                           'message', f.n || ' existing records have this \(key); fix the duplicates first', 'severity', 'error'))
                           ELSE s.issues END
                  FROM found f
                 WHERE f.row_no = s.row_no
                """, binds: [PGBind(t), PGBind(plan.label(for: key))]))
            if mode == .update {
                try reject(
                    connection, code: "no_match", column: key, raw: "s.\(key)",
                    message: "'no record you can see has this \(key)'", where: "s.target_id IS NULL")
            }
        }

        // Dedupe, as online: the keys of a record must not be another record's.
        for (key, what) in keyColumns {
            try connection.execute(PGQuery(unsafeSQL: """
                WITH clash AS (
                    SELECT DISTINCT ON (s.row_no) s.row_no, r.record_id, r.display_name
                      FROM pg_temp.\(table) s
                      JOIN records r ON r.tenant_id = $1 AND r.\(key) = s.\(key)
                     WHERE NOT s.bad AND NOT s.done AND s.\(key) IS NOT NULL
                       AND r.record_id IS DISTINCT FROM s.target_id
                     ORDER BY s.row_no, r.created_at DESC
                )
                UPDATE pg_temp.\(table) s
                   SET bad = true,
                       issues = s.issues || jsonb_build_array(jsonb_build_object(
                           'column', $2::text, 'raw', s.\(key), 'code', 'duplicate_existing',
                           'message', 'a record with this \(what) already exists: ' || c.display_name || ' (' || c.record_id || ')'
                               || CASE WHEN $3 THEN '' ELSE '; use --mode upsert --match \(key) to update it' END,
                           'severity', 'error'))
                  FROM clash c
                 WHERE c.row_no = s.row_no
                """, binds: [PGBind(t), PGBind(plan.label(for: key)), PGBind(mode != .create)]))
            // Held by a record the importer cannot see: say only that it exists elsewhere.
            try connection.execute(PGQuery(unsafeSQL: """
                WITH elsewhere AS (
                    SELECT v AS value FROM comarca.record_keys_elsewhere($1,
                        (SELECT array_agg(DISTINCT \(key)) FROM pg_temp.\(table) WHERE NOT bad AND NOT done AND \(key) IS NOT NULL)) v
                )
                UPDATE pg_temp.\(table) s
                   SET bad = true,
                       issues = s.issues || jsonb_build_array(jsonb_build_object(
                           'column', $2::text, 'raw', s.\(key), 'code', 'exists_elsewhere',
                           'message', 'a record with this \(what) already exists elsewhere in the company', 'severity', 'error'))
                  FROM elsewhere e
                 WHERE e.value = s.\(key) AND NOT s.bad AND NOT s.done AND s.target_id IS NULL
                """, binds: [PGBind(key), PGBind(plan.label(for: key))]))
        }

        // Stage moves of existing records go through the state machine.
        let moves = Lifecycle.moves.flatMap { from, targets in targets.keys.map { "\(from.rawValue)>\($0.rawValue)" } }
        try reject(
            connection, code: "stage_move_not_allowed", column: PseudoField.stage.rawValue, raw: "s.stage",
            message: "'a record cannot move from ' || s.existing_stage || ' to ' || s.stage",
            where: "s.target_id IS NOT NULL AND s.stage IS NOT NULL AND s.stage <> s.existing_stage AND NOT ((s.existing_stage || '>' || s.stage) = ANY ($3::text[]))",
            binds: [PGBind(moves)])
        // Disqualification reasons from the tenant's list (built-in defaults when it has none).
        let defaults = Lifecycle.defaultDisqualifyReasons.map(\.code)
        try reject(
            connection, code: "invalid_value", column: PseudoField.disqualifiedReason.rawValue, raw: "s.disqualified_reason",
            message: "'not one of the disqualification reasons of the company'",
            where: """
                s.stage = 'disqualified' AND s.disqualified_reason IS NOT NULL AND NOT (
                    CASE WHEN EXISTS (SELECT 1 FROM disqualify_reasons d WHERE d.tenant_id = $3)
                         THEN EXISTS (SELECT 1 FROM disqualify_reasons d WHERE d.tenant_id = $3 AND d.code = s.disqualified_reason AND d.active)
                         ELSE s.disqualified_reason = ANY ($4::text[]) END)
                """, binds: [PGBind(t), PGBind(defaults)])
        // Moving an existing record to another zone is a reassignment.
        if !session.role.allows(.reassign, on: .records) {
            try reject(
                connection, code: "forbidden", column: PseudoField.zone.rawValue, raw: "s.zone_code",
                message: "'moving a record to another zone needs the reassign permission'",
                from: "FROM records r",
                where: "r.tenant_id = $3 AND r.record_id = s.target_id AND s.zone_rule IN ('zone_column', 'owner') AND r.zone_id <> s.zone_id",
                binds: [PGBind(t)])
        }
        // Unchanged rows are skipped (upsert of the same file twice writes nothing).
        try connection.execute(PGQuery(unsafeSQL: """
            UPDATE pg_temp.\(table) s SET action = 'skip'
              FROM records r
             WHERE r.tenant_id = $1 AND r.record_id = s.target_id AND NOT s.bad AND NOT s.done
               AND (s.first_name IS NULL OR s.first_name = r.first_name)
               AND (s.last_name IS NULL OR s.last_name = r.last_name)
               AND (s.company_name IS NULL OR s.company_name = r.company_name)
               AND (s.email IS NULL OR s.email = r.email)
               AND (s.phone IS NULL OR s.phone = r.phone)
               AND (s.tax_id IS NULL OR s.tax_id = r.tax_id)
               AND (s.source IS NULL OR s.source = r.source)
               AND (s.campaign_id IS NULL OR s.campaign_id = r.campaign_id)
               AND (s.external_id IS NULL OR s.external_id = r.external_id)
               AND (s.stage IS NULL OR s.stage = r.stage)
               AND (s.custom IS NULL OR r.custom @> s.custom)
               AND (NOT s.owner_explicit OR s.owner_id = r.owner_user_id)
               AND (s.account_id IS NULL OR s.account_id = r.account_id)
               AND (s.zone_rule NOT IN ('zone_column', 'owner') OR s.zone_id = r.zone_id)
            """, binds: [PGBind(t)]))
    }

    // MARK: - Accounts

    private func accounts(_ connection: PGConnection) throws {
        try inFileDuplicates(connection, key: "tax_id", what: "CIF", column: "tax_id")
        // Two companies may share a name (their CIFs tell them apart); without a CIF, or when
        // matching by name, the name is the key.
        try inFileDuplicates(connection, key: "name_key", what: "name", column: "name", onlyWhere: match == .name ? nil : "tax_id IS NULL")
        try zones(connection, hasZoneCode: plan.byKey[PseudoField.zone.rawValue] != nil || plan.constants[PseudoField.zone.rawValue] != nil, hasOwner: false)
        // Existing accounts by CIF (always: one account per CIF) or, when asked, by name.
        let byName = match == .name
        try connection.execute(PGQuery(unsafeSQL: """
            WITH found AS (
                SELECT s.row_no, count(*) AS n, min(a.account_id::text)::uuid AS account_id
                  FROM pg_temp.\(table) s
                  JOIN accounts a ON a.tenant_id = $1
                       AND ((s.tax_id IS NOT NULL AND a.tax_id = s.tax_id) OR ($2 AND s.tax_id IS NULL AND a.name_key = s.name_key))
                 WHERE NOT s.bad AND NOT s.done
                 GROUP BY s.row_no
            )
            UPDATE pg_temp.\(table) s
               SET target_id = CASE WHEN f.n = 1 THEN f.account_id END,
                   bad = f.n > 1,
                   issues = CASE WHEN f.n > 1 THEN s.issues || jsonb_build_array(jsonb_build_object(
                       'column', $3::text, 'raw', s.name, 'code', 'ambiguous_match',
                       'message', f.n || ' existing accounts have this name; match by CIF', 'severity', 'error'))
                       ELSE s.issues END
              FROM found f
             WHERE f.row_no = s.row_no
            """, binds: [PGBind(t), PGBind(byName), PGBind(plan.label(for: "name"))]))
        if mode == .create {
            try reject(
                connection, code: "duplicate_existing", column: "tax_id", raw: "coalesce(s.tax_id, s.name)",
                message: "'an account with this CIF or name already exists (' || s.target_id || '); use --mode upsert to update it'",
                where: "s.target_id IS NOT NULL")
        } else if mode == .update {
            try reject(
                connection, code: "no_match", column: byName ? "name" : "tax_id", raw: "coalesce(s.tax_id, s.name)",
                message: "'no account you can see has this ' || CASE WHEN s.tax_id IS NOT NULL THEN 'CIF' ELSE 'name' END",
                where: "s.target_id IS NULL")
        }
        try connection.execute(PGQuery(unsafeSQL: """
            UPDATE pg_temp.\(table) s SET action = 'skip'
              FROM accounts a
             WHERE a.tenant_id = $1 AND a.account_id = s.target_id AND NOT s.bad AND NOT s.done
               AND (s.name IS NULL OR s.name = a.name) AND (s.tax_id IS NULL OR s.tax_id = a.tax_id)
               AND (s.sector IS NULL OR s.sector = a.sector) AND (s.size IS NULL OR s.size = a.size)
               AND (s.province IS NULL OR s.province = a.province) AND (s.custom IS NULL OR a.custom @> s.custom)
               AND (s.zone_rule <> 'zone_column' OR s.zone_id = a.zone_id)
            """, binds: [PGBind(t)]))
    }

    // MARK: - Activities

    private func activities(_ connection: PGConnection) throws {
        // The record by external id, e-mail or tax id (visible ones, and records an earlier sheet
        // of this workbook creates).
        let staged = stagedParents.contains(.records) || stagedParents.contains(.contacts)
            ? """
              UNION ALL SELECT target_id, zone_id, external_id, email, tax_id FROM pg_temp.import_stage_records WHERE action = 'create'
              """
            : ""
        try connection.execute(PGQuery(unsafeSQL: """
            WITH candidates AS (
                SELECT record_id, zone_id, external_id, email, tax_id FROM records WHERE tenant_id = $1
                \(staged)
            ),
            found AS (
                SELECT s.row_no, count(DISTINCT c.record_id) AS n, min(c.record_id::text)::uuid AS record_id,
                       min(c.zone_id::text)::uuid AS zone_id
                  FROM pg_temp.\(table) s
                  JOIN candidates c ON c.external_id = s.record_key OR c.email = lower(s.record_key) OR c.tax_id = upper(s.record_key)
                 WHERE NOT s.bad AND NOT s.done AND s.record_key IS NOT NULL
                 GROUP BY s.row_no
            )
            UPDATE pg_temp.\(table) s
               SET record_id = CASE WHEN f.n = 1 THEN f.record_id END,
                   zone_id = CASE WHEN f.n = 1 THEN f.zone_id END,
                   bad = f.n > 1,
                   issues = CASE WHEN f.n > 1 THEN s.issues || jsonb_build_array(jsonb_build_object(
                       'column', $2::text, 'raw', s.record_key, 'code', 'record_ambiguous',
                       'message', f.n || ' records match ' || s.record_key || '; name the record by its external id', 'severity', 'error'))
                       ELSE s.issues END
              FROM found f
             WHERE f.row_no = s.row_no
            """, binds: [PGBind(t), PGBind(plan.label(for: PseudoField.record.rawValue))]))
        try reject(
            connection, code: "record_not_found", column: PseudoField.record.rawValue, raw: "s.record_key",
            message: "'no record you can see has the external id, e-mail or tax id ' || s.record_key",
            where: "s.record_key IS NOT NULL AND s.record_id IS NULL")
        if plan.byKey[PseudoField.account.rawValue] != nil || plan.constants[PseudoField.account.rawValue] != nil {
            try accountLinks(connection, column: PseudoField.account.rawValue)
            let staged = stagedParents.contains(.accounts)
                ? "UNION ALL SELECT target_id, zone_id FROM pg_temp.import_stage_accounts WHERE action = 'create'" : ""
            try connection.execute(PGQuery(unsafeSQL: """
                UPDATE pg_temp.\(table) s SET zone_id = a.zone_id
                  FROM (SELECT account_id, zone_id FROM accounts WHERE tenant_id = $1 \(staged)) a
                 WHERE a.account_id = s.account_id AND s.zone_id IS NULL AND NOT s.done
                """, binds: [PGBind(t)]))
        }
        if plan.byKey[PseudoField.owner.rawValue] != nil || plan.constants[PseudoField.owner.rawValue] != nil {
            try connection.execute(PGQuery(unsafeSQL: """
                UPDATE pg_temp.\(table) s SET owner_id = u.user_id, owner_explicit = true
                  FROM users u
                 WHERE u.tenant_id = $1 AND u.email = s.owner_email AND u.deactivated_at IS NULL AND NOT s.done
                """, binds: [PGBind(t)]))
            try reject(
                connection, code: "owner_not_found", column: PseudoField.owner.rawValue, raw: "s.owner_email",
                message: "'no active user has the e-mail ' || s.owner_email", where: "s.owner_email IS NOT NULL AND s.owner_id IS NULL")
        }
        try connection.execute(PGQuery(unsafeSQL: """
            UPDATE pg_temp.\(table) s SET owner_id = $1 WHERE s.owner_id IS NULL AND NOT s.done
            """, binds: [PGBind(session.userID)]))
        if plan.byKey[PseudoField.owner.rawValue] != nil || plan.constants[PseudoField.owner.rawValue] != nil {
            try ownersFit(connection)
        }
    }

    // MARK: - Outcome

    private func decideActions(_ connection: PGConnection) throws {
        // Rows that would create must meet what creation requires.
        try connection.execute(PGQuery(unsafeSQL: """
            UPDATE pg_temp.\(table) SET bad = true, issues = issues || create_issues
             WHERE NOT bad AND NOT done AND target_id IS NULL AND jsonb_array_length(create_issues) > 0
            """))
        if shape.entity == .records || shape.entity == .contacts {
            try reject(
                connection, code: "required", column: PseudoField.account.rawValue, raw: "s.account_name",
                message: "'a contact needs an account: name it in the account column'",
                where: "s.target_id IS NULL AND s.stage = 'contact' AND s.account_id IS NULL")
        }
        try connection.execute(PGQuery(unsafeSQL: """
            UPDATE pg_temp.\(table)
               SET action = CASE WHEN bad THEN 'reject'
                                 WHEN action = 'skip' THEN 'skip'
                                 WHEN target_id IS NULL THEN 'create'
                                 ELSE 'update' END,
                   target_id = CASE WHEN NOT bad AND target_id IS NULL THEN gen_random_uuid() ELSE target_id END
             WHERE NOT done
            """))
    }
}

