public import Foundation
public import PGClient

public enum ActivityKind: String, Sendable, Hashable, Codable, CaseIterable {
    case call, meeting, email, task, note
}

/// An activity as callers see it. `overdue` is computed when read: open and due before now.
public struct ActivityView: Sendable, Codable, Equatable {
    public let id: UUID
    public let zoneId: UUID
    public let kind: ActivityKind
    public let subject: String
    public let body: String?
    public let recordId: UUID?
    public let accountId: UUID?
    public let opportunityId: UUID?
    public let ownerId: UUID?
    public let dueAt: Date?
    public let doneAt: Date?
    public let outcome: String?
    public let overdue: Bool
    public let createdAt: Date
    public let updatedAt: Date
}

/// Which activities `ActivityService.list` returns; each filter narrows the caller's scope.
public struct ActivityFilter: Sendable, Equatable {
    /// Only the caller's own; nil: yes for a role that sees only its zone, no for wider roles.
    public var mine: Bool?
    public var ownerId: UUID?
    public var zoneId: UUID?
    public var kind: ActivityKind?
    /// Due at or after `dueFrom` and before `dueTo`; undated activities fall outside any range.
    public var dueFrom: Date?
    public var dueTo: Date?
    /// Done ones instead of open ones.
    public var done: Bool

    public init(mine: Bool? = nil, ownerId: UUID? = nil, zoneId: UUID? = nil, kind: ActivityKind? = nil,
                dueFrom: Date? = nil, dueTo: Date? = nil, done: Bool = false) {
        self.mine = mine
        self.ownerId = ownerId
        self.zoneId = zoneId
        self.kind = kind
        self.dueFrom = dueFrom
        self.dueTo = dueTo
        self.done = done
    }
}

/// What a caller gives to create an activity: attached to at least one of a record, an account
/// or an opportunity (all visible to the caller); it lives in the zone of the first of those.
public struct ActivityInput: Sendable, Codable, Equatable {
    public var kind: ActivityKind
    public var subject: String
    public var body: String?
    public var recordId: UUID?
    public var accountId: UUID?
    public var opportunityId: UUID?
    /// The caller when absent.
    public var ownerId: UUID?
    public var dueAt: Date?
    /// Already done (a call logged afterwards, a note), with its outcome.
    public var done: Bool
    public var outcome: String?

    public init(
        kind: ActivityKind, subject: String, body: String? = nil, recordId: UUID? = nil, accountId: UUID? = nil,
        opportunityId: UUID? = nil, ownerId: UUID? = nil, dueAt: Date? = nil, done: Bool = false, outcome: String? = nil
    ) {
        self.kind = kind
        self.subject = subject
        self.body = body
        self.recordId = recordId
        self.accountId = accountId
        self.opportunityId = opportunityId
        self.ownerId = ownerId
        self.dueAt = dueAt
        self.done = done
        self.outcome = outcome
    }
}

/// A partial update: nil leaves a field as it is; `clearDue` removes the due date.
public struct ActivityChanges: Sendable, Codable, Equatable {
    public var subject: String?
    public var body: String?
    public var ownerId: UUID?
    public var dueAt: Date?
    public var clearDue: Bool

    public init(subject: String? = nil, body: String? = nil, ownerId: UUID? = nil, dueAt: Date? = nil, clearDue: Bool = false) {
        self.subject = subject
        self.body = body
        self.ownerId = ownerId
        self.dueAt = dueAt
        self.clearDue = clearDue
    }
}

/// Calls, meetings, emails, tasks and notes. A record's next follow-up (its earliest open
/// activity with a due date) comes with the record (`RecordView.nextFollowUp`).
public enum ActivityService {
    public static func create(_ session: Session, _ input: ActivityInput, on connection: PGConnection) throws -> ActivityView {
        try session.require(.create, on: .activities)
        var subject: String?, body: String?, outcome: String?
        try RecordSupport.collect([
            {
                subject = try RecordSupport.text(input.subject, field: "subject", max: 300)
                if subject == nil { throw CoreError.invalid("subject", "an activity needs a subject") }
            },
            { body = try RecordSupport.text(input.body, field: "body", max: 20_000) },
            {
                outcome = try RecordSupport.text(input.outcome, field: "outcome", max: 2000)
                if outcome != nil, !input.done { throw CoreError.invalid("outcome", "only a done activity has an outcome") }
            },
            {
                if input.recordId == nil, input.accountId == nil, input.opportunityId == nil {
                    throw CoreError.invalid("recordId", "an activity is attached to a record, an account or an opportunity")
                }
            },
        ])
        // The zone of what it is attached to; each attachment must be visible.
        var zoneID: UUID?
        let attachments: [(UUID?, String, String, String)] = [
            (input.recordId, "records", "record_id", "record"),
            (input.opportunityId, "opportunities", "opportunity_id", "opportunity"),
            (input.accountId, "accounts", "account_id", "account"),
        ]
        for (id, table, column, noun) in attachments {
            guard let id else { continue }
            let zones = try connection.query("""
                SELECT zone_id FROM \(unsafeRaw: table) WHERE tenant_id = \(session.tenantID) AND \(unsafeRaw: column) = \(id)
                """).decode(UUID.self)
            guard let zone = zones.first else { throw CoreError(.notFound, "\(noun) not found") }
            if zoneID == nil { zoneID = zone }
        }
        let ownerID = input.ownerId ?? session.userID
        if input.ownerId != nil {
            try RecordSupport.requireOwnerFits(ownerID, zoneID: zoneID ?? session.zoneID, field: "ownerId", session: session, on: connection)
        }
        let id = try connection.query("""
            INSERT INTO activities (tenant_id, zone_id, kind, subject, body, record_id, account_id, opportunity_id,
                                    owner_user_id, due_at, done_at, outcome, created_by)
            VALUES (\(session.tenantID), \(zoneID ?? session.zoneID), \(input.kind.rawValue), \(subject ?? ""), \(body),
                    \(input.recordId), \(input.accountId), \(input.opportunityId), \(ownerID), \(input.dueAt),
                    CASE WHEN \(input.done) THEN now() END, \(outcome), \(session.userID))
            RETURNING activity_id
            """).scalar(UUID.self)
        return try get(session, id: id, on: connection)
    }

    static let selectList: PGQuery = """
        SELECT activity_id, zone_id, kind, subject, body, record_id, account_id, opportunity_id, owner_user_id,
               due_at, done_at, outcome, (done_at IS NULL AND due_at < now()) AS overdue, created_at, updated_at
        """
    static let columns: PGQuery = selectList + " FROM activities"

    static func view(_ row: PGRow) throws -> ActivityView {
        ActivityView(
            id: try row.decode(at: 0), zoneId: try row.decode(at: 1),
            kind: ActivityKind(rawValue: try row.decode(String.self, at: 2)) ?? .task,
            subject: try row.decode(at: 3), body: try row.decode(at: 4), recordId: try row.decode(at: 5),
            accountId: try row.decode(at: 6), opportunityId: try row.decode(at: 7), ownerId: try row.decode(at: 8),
            dueAt: try row.decode(at: 9), doneAt: try row.decode(at: 10), outcome: try row.decode(at: 11),
            overdue: (try row.decode(Bool?.self, at: 12)) ?? false, createdAt: try row.decode(at: 13), updatedAt: try row.decode(at: 14))
    }

    public static func get(_ session: Session, id: UUID, on connection: PGConnection) throws -> ActivityView {
        try session.require(.view, on: .activities)
        guard let row = try connection.query("""
            \(columns) WHERE tenant_id = \(session.tenantID) AND activity_id = \(id)
            """).firstRow else { throw CoreError(.notFound, "activity not found") }
        return try view(row)
    }

    public static func update(_ session: Session, id: UUID, _ changes: ActivityChanges, on connection: PGConnection) throws -> ActivityView {
        try session.require(.edit, on: .activities)
        var subject: String?, body: String?
        try RecordSupport.collect([
            {
                if let change = changes.subject {
                    subject = try RecordSupport.text(change, field: "subject", max: 300)
                    if subject == nil { throw CoreError.invalid("subject", "an activity needs a subject") }
                }
            },
            { body = try RecordSupport.text(changes.body, field: "body", max: 20_000) },
        ])
        let updated: Int
        do {
            updated = try connection.execute("""
            UPDATE activities
               SET subject = coalesce(\(subject), subject),
                   body = CASE WHEN \(changes.body != nil) THEN \(body) ELSE body END,
                   owner_user_id = coalesce(\(changes.ownerId), owner_user_id),
                   due_at = CASE WHEN \(changes.clearDue) THEN NULL ELSE coalesce(\(changes.dueAt), due_at) END
             WHERE tenant_id = \(session.tenantID) AND activity_id = \(id)
            """)
        } catch {
            // The activity's zone is only known to the statement: the owner trigger judges.
            throw RecordSupport.mapOwnerError(error)
        }
        guard updated == 1 else { throw CoreError(.notFound, "activity not found") }
        return try get(session, id: id, on: connection)
    }

    /// Marks an open activity done, with its outcome. Completing a done activity is a `conflict`.
    public static func complete(_ session: Session, id: UUID, outcome: String? = nil, on connection: PGConnection) throws -> ActivityView {
        try session.require(.edit, on: .activities)
        let outcome = try RecordSupport.text(outcome, field: "outcome", max: 2000)
        let states = try connection.query("""
            SELECT done_at IS NOT NULL FROM activities WHERE tenant_id = \(session.tenantID) AND activity_id = \(id) FOR UPDATE
            """).decode(Bool.self)
        guard let done = states.first else { throw CoreError(.notFound, "activity not found") }
        guard !done else { throw CoreError(.conflict, "the activity is already done") }
        try connection.execute("""
            UPDATE activities SET done_at = now(), outcome = \(outcome)
             WHERE tenant_id = \(session.tenantID) AND activity_id = \(id)
            """)
        return try get(session, id: id, on: connection)
    }

    public static func delete(_ session: Session, id: UUID, on connection: PGConnection) throws {
        try session.require(.delete, on: .activities)
        let deleted = try connection.execute("DELETE FROM activities WHERE tenant_id = \(session.tenantID) AND activity_id = \(id)")
        guard deleted == 1 else { throw CoreError(.notFound, "activity not found") }
    }

    /// The caller's open activities, overdue first: by due date (oldest first), undated last.
    public static func myOpen(_ session: Session, page: PageRequest, on connection: PGConnection) throws -> Page<ActivityView> {
        try list(session, ActivityFilter(mine: true), page: page, on: connection)
    }

    /// The activities in the caller's scope that match `filter`. Open ones come overdue first (due
    /// date ascending, undated last); done ones most recently done first. With no owner filter a
    /// role that sees only its own zone (a rep) gets its own activities; `mine: false` widens
    /// that to the whole scope, which is where managers and admins start.
    public static func list(_ session: Session, _ filter: ActivityFilter, page: PageRequest, on connection: PGConnection) throws -> Page<ActivityView> {
        try session.require(.list, on: .activities)
        var conditions: PGQuery = "tenant_id = \(session.tenantID)"
        if let owner = filter.ownerId {
            conditions = conditions + " AND owner_user_id = \(owner)"
        } else if filter.mine ?? (session.role.scope == .ownZone) {
            conditions = conditions + " AND owner_user_id = \(session.userID)"
        }
        if let zoneID = filter.zoneId {
            guard try RecordSupport.zoneIsVisible(zoneID, session: session, on: connection) else {
                throw CoreError(.notFound, "zone not found")
            }
            conditions = conditions + " AND zone_id = \(zoneID)"
        } else if let zones = session.visibleZoneIDs {
            conditions = conditions + " AND zone_id = ANY(\(zones))"
        }
        if let kind = filter.kind { conditions = conditions + " AND kind = \(kind.rawValue)" }
        if let from = filter.dueFrom { conditions = conditions + " AND due_at >= \(from)" }
        if let to = filter.dueTo { conditions = conditions + " AND due_at < \(to)" }
        if let from = filter.dueFrom, let to = filter.dueTo, to <= from {
            throw CoreError.invalid("dueTo", "must be later than dueFrom")
        }
        // One sort key per list, so a cursor of one order never continues the other.
        let key: PGQuery, order: String, comparison: String
        if filter.done {
            conditions = conditions + " AND done_at IS NOT NULL"
            (key, order, comparison) = ("activities.done_at", "DESC", "<")
        } else {
            conditions = conditions + " AND done_at IS NULL"
            (key, order, comparison) = ("coalesce(activities.due_at, 'infinity'::timestamptz)", "ASC", ">")
        }
        if let after = try page.after([.timestamp, .uuid]) {
            conditions = conditions + " AND (" + key + ", activity_id) \(unsafeRaw: comparison) (\(after.timestamp(0))::timestamptz, \(after.uuid(1)))"
        }
        let rows = try connection.query("""
            \(selectList), \(key)::text
              FROM activities
             WHERE \(conditions)
             ORDER BY \(key) \(unsafeRaw: order), activities.activity_id \(unsafeRaw: order)
             LIMIT \(page.limit + 1)
            """)
        var keys: [UUID: String] = [:]
        let views = try rows.map { row in
            let view = try view(row)
            keys[view.id] = try row.decode(String.self, at: 15)
            return view
        }
        return page.page(from: views) { [keys[$0.id] ?? "infinity", $0.id.uuidString.lowercased()] }
    }

    /// The activities of a record, an account or an opportunity (the one given), newest due first.
    public static func timeline(
        _ session: Session, recordID: UUID? = nil, accountID: UUID? = nil, opportunityID: UUID? = nil, on connection: PGConnection
    ) throws -> [ActivityView] {
        try session.require(.list, on: .activities)
        let filter: PGQuery
        if let recordID {
            filter = "record_id = \(recordID)"
        } else if let accountID {
            filter = "account_id = \(accountID)"
        } else if let opportunityID {
            filter = "opportunity_id = \(opportunityID)"
        } else {
            throw CoreError.invalid("recordId", "name a record, an account or an opportunity")
        }
        return try connection.query("""
            \(columns) WHERE tenant_id = \(session.tenantID) AND \(filter)
             ORDER BY coalesce(due_at, created_at) DESC, activity_id DESC
             LIMIT 500
            """).map(view)
    }
}
