public import Foundation
public import PGClient

/// Records (people and companies we sell to) and their lifecycle. The same functions serve HTTP,
/// CLI and import. Each takes the caller's `Session` and a connection already inside
/// `Database.withScope(session.accessScope)`, checks the role's permission first, and leaves row
/// visibility to PostgreSQL: a record the caller cannot see is `notFound`, never `forbidden`.
/// A function that throws leaves its changes to the caller's transaction, which rolls back.
public enum RecordService {
    // MARK: - Create

    /// Creates a record in stage `target` and writes its `created` event. A record with the same
    /// email, phone or tax id as one already in the tenant is a `conflict`: naming the match
    /// (id, name, which key) when the caller can see it, and only "elsewhere in the company"
    /// when not.
    public static func create(
        _ session: Session, _ input: RecordInput, custom: [String: FieldValue] = [:], on connection: PGConnection
    ) throws -> RecordView {
        try session.require(.create, on: .records)

        var firstName: String?, lastName: String?, companyName: String?, email: String?, phone: String?
        var taxID: String?, source: String?, externalID: String?
        try RecordSupport.collect([
            { firstName = try RecordSupport.text(input.firstName, field: "firstName") },
            { lastName = try RecordSupport.text(input.lastName, field: "lastName") },
            { companyName = try RecordSupport.text(input.companyName, field: "companyName") },
            { email = try RecordSupport.email(input.email) },
            { phone = try RecordSupport.phone(input.phone) },
            { taxID = try RecordSupport.taxID(input.taxId) },
            { source = try RecordSupport.source(input.source) },
            { externalID = try RecordSupport.text(input.externalId, field: "externalId") },
        ])
        guard let displayName = displayName(firstName: firstName, lastName: lastName, companyName: companyName, email: email, phone: phone) else {
            throw CoreError(
                .invalidInput, "a record needs a name, a company, an email or a phone",
                fieldErrors: [.init(field: "firstName", message: "a record needs a name, a company, an email or a phone")])
        }
        var given: [String: String] = ["display_name": displayName]
        given["first_name"] = firstName
        given["last_name"] = lastName
        given["company_name"] = companyName
        given["email"] = email
        given["phone"] = phone
        given["tax_id"] = taxID
        given["source"] = source
        given["campaign_id"] = input.campaignId?.uuidString.lowercased()
        let fields = try RecordSupport.validateFields(
            entity: .records, builtins: given, custom: custom, stage: .target, partial: false, session: session, on: connection)
        // The tenant's source list decides the code ("Web" → "web").
        source = fields.builtins["source"].map(\.plainText).flatMap { $0.isEmpty ? nil : $0 }
        let customValues = fields.custom
        var written = customValues
        for (key, value) in fields.builtins { written[key] = value }

        let (zoneID, zoneRule) = try placement(session, requested: input.zoneId, custom: customValues, on: connection)
        let ownerID = input.ownerId ?? session.userID
        if input.ownerId != nil {
            try RecordSupport.requireOwnerFits(ownerID, zoneID: zoneID, field: "ownerId", session: session, on: connection)
        }

        try rejectDuplicates(email: email, phone: phone, taxID: taxID, excluding: nil, session: session, on: connection)

        return try RecordSupport.atomically(connection) {
            let recordID: UUID
            do {
                recordID = try connection.query("""
                    INSERT INTO records (tenant_id, zone_id, owner_user_id, stage, first_name, last_name, company_name,
                                         email, phone, tax_id, display_name, source, campaign_id, external_id, custom, created_by,
                                         zone_rule)
                    VALUES (\(session.tenantID), \(zoneID), \(ownerID), 'target', \(firstName), \(lastName), \(companyName),
                            \(email), \(phone), \(taxID), \(displayName), \(source), \(input.campaignId), \(externalID),
                            \(RecordSupport.customJSON(customValues))::jsonb, \(session.userID), \(zoneRule))
                    RETURNING record_id
                    """).scalar(UUID.self)
            } catch let error as PGError where error.code == .uniqueViolation && error.constraint == "records_external_id_key" {
                throw CoreError(
                    .conflict, "a record with this external id already exists",
                    fieldErrors: [.init(field: "externalId", message: "already used by another record")])
            } catch let error as PGError {
                throw RecordSupport.uniqueFieldConflict(error, uniqueKeys: fields.uniqueKeys, written: written) ?? error
            }
            try writeEvent(
                session, recordID: recordID, zoneID: zoneID, kind: "created", from: nil, to: .target, reason: nil,
                detail: RecordEventView.Detail(), on: connection)
            return try get(session, id: recordID, on: connection)
        }
    }

    /// The zone a new record goes to and the rule that chose it (`records.zone_rule`):
    /// - a zone the caller named and can write to: `explicit`;
    /// - none named: the tenant's assignment rules on the record's postal code (its first custom
    ///   field of type postal_code) and province (the custom field keyed `province`), when the
    ///   caller can write to the zone they decide: `postal_prefix:08`, `province:17`, `default`;
    /// - otherwise (a named zone the caller cannot see, no rule, or a rule's zone outside the
    ///   caller's scope) the caller's own zone: `creator`. A rep never writes outside their zone.
    static func placement(
        _ session: Session, requested: UUID?, custom: [String: FieldValue], on connection: PGConnection
    ) throws -> (zoneID: UUID, rule: String) {
        if let requested {
            if try RecordSupport.zoneIsVisible(requested, session: session, on: connection) {
                return (requested, ZoneAssignment.explicitRule)
            }
            return (session.zoneID, ZoneAssignment.creatorRule)
        }
        let rules = try ZoneAssignment.load(tenantID: session.tenantID, on: connection)
        guard !rules.isEmpty else { return (session.zoneID, ZoneAssignment.creatorRule) }
        let specs = try FieldSpecs.load(tenantID: session.tenantID, entity: .records, on: connection)
        let postalCode = specs.active.first { !$0.builtin && $0.type == .postalCode }
            .flatMap { custom[$0.key] }.flatMap { $0.isEmpty ? nil : $0.plainText }
        var province: String?
        if let spec = specs.active.first(where: { $0.key == "province" }), let value = custom["province"], !value.isEmpty {
            province = value.plainText
            // A choice field keeps an option code; its label may be the name ("gi" → "Girona").
            if SpanishProvinces.code(for: value.plainText) == nil, let option = spec.options.first(where: { $0.code == value.plainText }) {
                province = option.label.es
            }
        }
        guard let decision = rules.assign(postalCode: postalCode, province: province) else {
            return (session.zoneID, ZoneAssignment.creatorRule)
        }
        let writable = try decision.zoneID == session.zoneID || RecordSupport.zoneIsVisible(decision.zoneID, session: session, on: connection)
        return writable ? (decision.zoneID, decision.rule) : (session.zoneID, ZoneAssignment.creatorRule)
    }

    /// "Ana García", else the company, else the email, else the phone.
    static func displayName(firstName: String?, lastName: String?, companyName: String?, email: String?, phone: String?) -> String? {
        let person = [firstName, lastName].compactMap { $0 }.joined(separator: " ")
        if !person.isEmpty { return person }
        return companyName ?? email ?? phone
    }

    // MARK: - Dedupe

    /// Throws `conflict` when another record of the tenant has one of these keys.
    static func rejectDuplicates(
        email: String?, phone: String?, taxID: String?, excluding: UUID?, session: Session, on connection: PGConnection
    ) throws {
        guard email != nil || phone != nil || taxID != nil else { return }
        let matches = try connection.query("""
            SELECT key, visible FROM comarca.record_duplicates(\(email), \(phone), \(taxID), \(excluding)::uuid)
            """).decode((String, Bool).self)
        guard !matches.isEmpty else { return }
        let fieldName = ["email": "email", "phone": "phone", "tax_id": "taxId"]
        let label = ["email": "email", "phone": "phone", "tax_id": "tax id"]
        for (key, visible) in matches where visible {
            // The caller can see it, so the ordinary policies show it: the newest visible match.
            // Stored normalised, so plain equality (leakproof: an index condition under RLS).
            let column = key
            let value = key == "email" ? email : key == "phone" ? phone : taxID
            let found = try connection.query("""
                SELECT record_id, display_name FROM records
                 WHERE tenant_id = \(session.tenantID) AND \(unsafeRaw: column) = \(value)
                   AND record_id IS DISTINCT FROM \(excluding)::uuid
                 ORDER BY created_at DESC, record_id LIMIT 1
                """).decode((UUID, String).self)
            guard let (id, name) = found.first else { continue }
            let field = fieldName[key] ?? key
            throw CoreError(
                .conflict, "a record with this \(label[key] ?? key) already exists: \(name) (\(id.uuidString.lowercased()))",
                fieldErrors: [.init(field: field, message: "duplicate of record \(id.uuidString.lowercased()) (\(name))")])
        }
        let key = matches[0].0
        throw CoreError(
            .conflict, "a record with this \(label[key] ?? key) already exists elsewhere in the company",
            fieldErrors: [.init(field: fieldName[key] ?? key, message: "a record with this \(label[key] ?? key) already exists elsewhere in the company")])
    }

    // MARK: - Read

    static let columns: PGQuery = """
        SELECT r.record_id, r.zone_id, r.owner_user_id, r.account_id, r.stage, r.disqualified_reason,
               r.first_name, r.last_name, r.company_name, r.email, r.phone, r.tax_id, r.display_name,
               r.source, r.campaign_id, r.external_id, r.custom::text, r.version, r.created_at, r.updated_at,
               r.converted_at, f.activity_id, f.kind, f.subject, f.due_at, r.zone_rule
          FROM records r
          LEFT JOIN LATERAL (
                SELECT a.activity_id, a.kind, a.subject, a.due_at FROM activities a
                 WHERE a.tenant_id = r.tenant_id AND a.record_id = r.record_id
                   AND a.done_at IS NULL AND a.due_at IS NOT NULL
                 ORDER BY a.due_at, a.activity_id LIMIT 1) f ON true
        """

    static func view(_ row: PGRow) throws -> RecordView {
        let stageText = try row.decode(String.self, at: 4)
        guard let stage = Stage(rawValue: stageText) else {
            throw CoreError(.invalidInput, "record has an unknown stage")
        }
        var followUp: RecordView.FollowUp?
        if let activityID = try row.decode(UUID?.self, at: 21) {
            followUp = RecordView.FollowUp(
                activityId: activityID,
                kind: ActivityKind(rawValue: try row.decode(String.self, at: 22)) ?? .task,
                subject: try row.decode(String.self, at: 23),
                dueAt: try row.decode(Date.self, at: 24))
        }
        return RecordView(
            id: try row.decode(at: 0), zoneId: try row.decode(at: 1), zoneRule: try row.decode(at: 25), ownerId: try row.decode(at: 2),
            accountId: try row.decode(at: 3), stage: stage, disqualifiedReason: try row.decode(at: 5),
            firstName: try row.decode(at: 6), lastName: try row.decode(at: 7), companyName: try row.decode(at: 8),
            email: try row.decode(at: 9), phone: try row.decode(at: 10), taxId: try row.decode(at: 11),
            displayName: try row.decode(at: 12), source: try row.decode(at: 13), campaignId: try row.decode(at: 14),
            externalId: try row.decode(at: 15), custom: try RecordSupport.custom(fromJSON: try row.decode(String.self, at: 16)),
            version: try row.decode(at: 17), createdAt: try row.decode(at: 18), updatedAt: try row.decode(at: 19),
            convertedAt: try row.decode(at: 20), nextFollowUp: followUp)
    }

    /// A record with its next follow-up.
    public static func get(_ session: Session, id: UUID, on connection: PGConnection) throws -> RecordView {
        try session.require(.view, on: .records)
        let rows = try connection.query("""
            \(columns)
             WHERE r.tenant_id = \(session.tenantID) AND r.record_id = \(id)
            """)
        guard let row = rows.firstRow else { throw CoreError(.notFound, "record not found") }
        return try view(row)
    }

    /// Several records by id, in the order given; ids the caller cannot see are left out.
    public static func get(_ session: Session, ids: [UUID], on connection: PGConnection) throws -> [RecordView] {
        try session.require(.view, on: .records)
        guard !ids.isEmpty else { return [] }
        let views = try connection.query("""
            \(columns)
             WHERE r.tenant_id = \(session.tenantID) AND r.record_id = ANY(\(ids))
            """).map(view)
        let byID = Dictionary(views.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        return ids.compactMap { byID[$0] }
    }

    /// The record's row, locked for the rest of the transaction, checked against If-Match.
    struct Locked {
        let id: UUID
        let zoneID: UUID
        let ownerID: UUID?
        let accountID: UUID?
        let stage: Stage
        let firstName: String?
        let lastName: String?
        let companyName: String?
        let email: String?
        let phone: String?
        let taxID: String?
        let source: String?
        let campaignID: UUID?
        let custom: [String: FieldValue]
        let version: Int

        /// Built-in columns and custom values by field key, as the field specs read them.
        var fieldValues: [String: FieldValue] {
            RecordSupport.existingValues(
                builtins: [
                    "first_name": firstName, "last_name": lastName, "company_name": companyName, "email": email,
                    "phone": phone, "tax_id": taxID, "source": source, "campaign_id": campaignID?.uuidString.lowercased(),
                    "display_name": RecordService.displayName(firstName: firstName, lastName: lastName, companyName: companyName, email: email, phone: phone),
                ],
                custom: custom)
        }
    }

    static func lock(_ session: Session, id: UUID, expectedVersion: Int?, on connection: PGConnection) throws -> Locked {
        let rows = try connection.query("""
            SELECT record_id, zone_id, owner_user_id, account_id, stage, first_name, last_name, company_name,
                   email, phone, tax_id, source, campaign_id, custom::text, version
              FROM records
             WHERE tenant_id = \(session.tenantID) AND record_id = \(id)
               FOR UPDATE
            """).decode((UUID, UUID, UUID?, UUID?, String, String?, String?, String?, String?, String?, String?, String?, UUID?, String, Int).self)
        guard let r = rows.first, let stage = Stage(rawValue: r.4) else { throw CoreError(.notFound, "record not found") }
        if let expectedVersion, expectedVersion != r.14 {
            throw CoreError(.preconditionFailed, "the record has changed since version \(expectedVersion) (it is at version \(r.14)); reload it and try again")
        }
        return Locked(
            id: r.0, zoneID: r.1, ownerID: r.2, accountID: r.3, stage: stage, firstName: r.5, lastName: r.6,
            companyName: r.7, email: r.8, phone: r.9, taxID: r.10, source: r.11, campaignID: r.12,
            custom: try RecordSupport.custom(fromJSON: r.13), version: r.14)
    }

    // MARK: - Update and delete

    /// Changes a record's own fields and custom values (merged: a key given replaces that value,
    /// an empty value removes it). With `expectedVersion` (If-Match) a record changed since that
    /// version is `preconditionFailed` and nothing changes. The record must still meet its
    /// stage's requirements afterwards; a changed email, phone or tax id is checked for
    /// duplicates as on create.
    public static func update(
        _ session: Session, id: UUID, _ changes: RecordChanges, custom: [String: FieldValue] = [:],
        expectedVersion: Int?, on connection: PGConnection
    ) throws -> RecordView {
        try session.require(.edit, on: .records)
        let current = try lock(session, id: id, expectedVersion: expectedVersion, on: connection)

        // nil keeps the current value; "" (after trimming) clears it.
        func pick(_ change: String?, _ current: String?, _ normalise: (String?) throws -> String?) throws -> String? {
            guard let change else { return current }
            return try normalise(change)
        }
        var firstName = current.firstName, lastName = current.lastName, companyName = current.companyName
        var email = current.email, phone = current.phone, taxID = current.taxID
        var externalID: String?? = nil
        try RecordSupport.collect([
            { firstName = try pick(changes.firstName, current.firstName) { try RecordSupport.text($0, field: "firstName") } },
            { lastName = try pick(changes.lastName, current.lastName) { try RecordSupport.text($0, field: "lastName") } },
            { companyName = try pick(changes.companyName, current.companyName) { try RecordSupport.text($0, field: "companyName") } },
            { email = try pick(changes.email, current.email, RecordSupport.email) },
            { phone = try pick(changes.phone, current.phone, RecordSupport.phone) },
            { taxID = try pick(changes.taxId, current.taxID) { try RecordSupport.taxID($0) } },
            { if let change = changes.externalId { externalID = .some(try RecordSupport.text(change, field: "externalId")) } },
        ])
        guard let displayName = displayName(firstName: firstName, lastName: lastName, companyName: companyName, email: email, phone: phone) else {
            throw CoreError(
                .invalidInput, "a record needs a name, a company, an email or a phone",
                fieldErrors: [.init(field: "firstName", message: "a record needs a name, a company, an email or a phone")])
        }
        try Lifecycle.requireFields(
            for: current.stage,
            .init(hasEmail: email != nil, hasPhone: phone != nil, hasAccount: current.accountID != nil))

        var changed: [String: String] = [:]
        if changes.firstName != nil { changed["first_name"] = firstName ?? "" }
        if changes.lastName != nil { changed["last_name"] = lastName ?? "" }
        if changes.companyName != nil { changed["company_name"] = companyName ?? "" }
        if changes.email != nil { changed["email"] = email ?? "" }
        if changes.phone != nil { changed["phone"] = phone ?? "" }
        if changes.taxId != nil { changed["tax_id"] = taxID ?? "" }
        if !changed.isEmpty { changed["display_name"] = displayName }
        var merged = current.custom
        var uniqueKeys: Set<String> = []
        if !changed.isEmpty || !custom.isEmpty {
            let fields = try RecordSupport.validateFields(
                entity: .records, builtins: changed, custom: custom, stage: current.stage, partial: true,
                existing: current.fieldValues, session: session, on: connection)
            for (key, value) in fields.custom { merged[key] = value.isEmpty ? nil : value }
            uniqueKeys = fields.uniqueKeys
        }
        var written = merged
        for (key, value) in changed { written[key] = .string(value) }

        try rejectDuplicates(
            email: email != current.email ? email : nil, phone: phone != current.phone ? phone : nil,
            taxID: taxID != current.taxID ? taxID : nil, excluding: id, session: session, on: connection)

        do {
            try connection.execute("""
                UPDATE records
                   SET first_name = \(firstName), last_name = \(lastName), company_name = \(companyName),
                       email = \(email), phone = \(phone), tax_id = \(taxID), display_name = \(displayName),
                       external_id = CASE WHEN \(externalID != nil) THEN \(externalID ?? nil) ELSE external_id END,
                       custom = \(RecordSupport.customJSON(merged))::jsonb
                 WHERE tenant_id = \(session.tenantID) AND record_id = \(id) AND version = \(current.version)
                """)
        } catch let error as PGError where error.code == .uniqueViolation && error.constraint == "records_external_id_key" {
            throw CoreError(
                .conflict, "a record with this external id already exists",
                fieldErrors: [.init(field: "externalId", message: "already used by another record")])
        } catch let error as PGError {
            throw RecordSupport.uniqueFieldConflict(error, uniqueKeys: uniqueKeys, written: written) ?? error
        }
        return try get(session, id: id, on: connection)
    }

    /// Deletes a record with its activities and history. Opportunities opened from it stay, without
    /// the link. A record with activities the caller cannot see is a `conflict`.
    public static func delete(_ session: Session, id: UUID, expectedVersion: Int?, on connection: PGConnection) throws {
        try session.require(.delete, on: .records)
        _ = try lock(session, id: id, expectedVersion: expectedVersion, on: connection)
        try RecordSupport.atomically(connection) {
            try connection.execute("DELETE FROM activities WHERE tenant_id = \(session.tenantID) AND record_id = \(id)")
            do {
                try connection.execute("DELETE FROM records WHERE tenant_id = \(session.tenantID) AND record_id = \(id)")
            } catch let error as PGError where error.code == .foreignKeyViolation {
                throw CoreError(.conflict, "the record is still referenced (activities in another zone) and cannot be deleted")
            }
        }
    }

    // MARK: - History

    /// A record's events, newest first, with keyset pagination.
    public static func history(_ session: Session, id: UUID, page: PageRequest, on connection: PGConnection) throws -> Page<RecordEventView> {
        try session.require(.view, on: .records)
        let exists = try connection.query("""
            SELECT count(*) FROM records WHERE tenant_id = \(session.tenantID) AND record_id = \(id)
            """).scalar(Int.self)
        guard exists == 1 else { throw CoreError(.notFound, "record not found") }
        let after = try page.after([.integer])?.integer(0) ?? Int.max
        let rows = try connection.query("""
            SELECT event_id, record_id, zone_id, kind, from_stage, to_stage, reason, actor_user_id, occurred_at, detail::text
              FROM record_events
             WHERE tenant_id = \(session.tenantID) AND record_id = \(id) AND event_id < \(after)
             ORDER BY event_id DESC
             LIMIT \(page.limit + 1)
            """).decode((Int, UUID, UUID, String, String?, String, String?, UUID?, Date, String).self)
        let views = rows.map { r in
            RecordEventView(
                id: r.0, recordId: r.1, zoneId: r.2, kind: r.3, fromStage: r.4.flatMap(Stage.init(rawValue:)),
                toStage: Stage(rawValue: r.5) ?? .target, reason: r.6, actorId: r.7, occurredAt: r.8,
                detail: RecordSupport.detail(fromJSON: r.9))
        }
        return page.page(from: views) { [String($0.id)] }
    }

    static func writeEvent(
        _ session: Session, recordID: UUID, zoneID: UUID, kind: String, from: Stage?, to: Stage, reason: String?,
        detail: RecordEventView.Detail, on connection: PGConnection
    ) throws {
        try connection.execute("""
            INSERT INTO record_events (tenant_id, record_id, zone_id, kind, from_stage, to_stage, reason, actor_user_id, detail)
            VALUES (\(session.tenantID), \(recordID), \(zoneID), \(kind), \(from?.rawValue), \(to.rawValue), \(reason),
                    \(session.userID), \(RecordSupport.detailJSON(detail))::jsonb)
            """)
    }

    // MARK: - Reassign

    /// Moves a record to another visible zone and owner (the zone's user when no owner is given),
    /// with its events and open activities; writes a `reassigned` event. Needs the `reassign` permission.
    public static func reassign(
        _ session: Session, id: UUID, zoneID: UUID, ownerID: UUID? = nil, expectedVersion: Int?, on connection: PGConnection
    ) throws -> RecordView {
        try session.require(.reassign, on: .records)
        let current = try lock(session, id: id, expectedVersion: expectedVersion, on: connection)
        guard try RecordSupport.zoneIsVisible(zoneID, session: session, on: connection) else {
            throw CoreError(.notFound, "zone not found")
        }
        let newOwner: UUID
        if let ownerID {
            try RecordSupport.requireOwnerFits(ownerID, zoneID: zoneID, field: "ownerId", session: session, on: connection)
            newOwner = ownerID
        } else {
            // The zone's user (one per zone); a zone nobody holds goes to whoever moves the record.
            newOwner = try connection.query("""
                SELECT user_id FROM users
                 WHERE tenant_id = \(session.tenantID) AND zone_id = \(zoneID) AND deactivated_at IS NULL
                   AND comarca.owner_fits(user_id, \(zoneID))
                 ORDER BY created_at LIMIT 1
                """).decode(UUID.self).first ?? session.userID
        }
        try RecordSupport.atomically(connection) {
            try connection.execute("""
                UPDATE records SET zone_id = \(zoneID), owner_user_id = \(newOwner)
                 WHERE tenant_id = \(session.tenantID) AND record_id = \(id)
                """)
            // History follows the record: its events and its open activities move to the new zone,
            // so the old zone's rep no longer reads them and the new owner does. Open activities
            // whose owner cannot hold them there go to the new owner. Done activities stay where
            // the work was done, with whoever did it.
            try connection.execute("""
                UPDATE record_events SET zone_id = \(zoneID)
                 WHERE tenant_id = \(session.tenantID) AND record_id = \(id) AND zone_id <> \(zoneID)
                """)
            try connection.execute("""
                UPDATE activities
                   SET zone_id = \(zoneID),
                       owner_user_id = CASE WHEN owner_user_id IS NOT NULL AND comarca.owner_fits(owner_user_id, \(zoneID))
                                            THEN owner_user_id ELSE \(newOwner) END
                 WHERE tenant_id = \(session.tenantID) AND record_id = \(id) AND zone_id <> \(zoneID) AND done_at IS NULL
                """)
            try writeEvent(
                session, recordID: id, zoneID: zoneID, kind: "reassigned", from: current.stage, to: current.stage, reason: nil,
                detail: .init(fromZoneId: current.zoneID, toZoneId: zoneID, fromOwnerId: current.ownerID, toOwnerId: newOwner),
                on: connection)
        }
        return try get(session, id: id, on: connection)
    }
}

extension PGRow {
    /// `decode(_:at:)` with the type inferred from the use.
    func decode<T: PGDecodable>(at column: Int) throws -> T {
        try decode(T.self, at: column)
    }
}
