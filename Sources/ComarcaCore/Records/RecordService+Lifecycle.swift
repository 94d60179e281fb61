public import Foundation
public import PGClient

/// The lifecycle moves. Each one locks the record, asks `Lifecycle` whether the move is allowed
/// (a refused move is a `conflict` naming from and to), validates what the new stage requires,
/// changes the stage and writes exactly one `stage` event, all in the caller's transaction.
extension RecordService {
    /// target → potential. Needs an email or a phone (and the custom fields required from
    /// `potential` on).
    public static func promote(_ session: Session, id: UUID, expectedVersion: Int? = nil, on connection: PGConnection) throws -> RecordView {
        try session.require(.edit, on: .records)
        let current = try lock(session, id: id, expectedVersion: expectedVersion, on: connection)
        let move = try Lifecycle.check(from: current.stage, to: .potential)
        try requireStage(.potential, of: current, accountID: current.accountID, session: session, on: connection)
        try RecordSupport.atomically(connection) {
            try setStage(session, current, to: .potential, reason: nil, on: connection)
            try writeEvent(
                session, recordID: id, zoneID: current.zoneID, kind: "stage", from: current.stage, to: .potential, reason: nil,
                detail: .init(move: move.rawValue), on: connection)
        }
        return try get(session, id: id, on: connection)
    }

    /// target or potential → disqualified, with a reason code from the tenant's list and an
    /// optional note.
    public static func disqualify(
        _ session: Session, id: UUID, reason: String, note: String? = nil, expectedVersion: Int? = nil, on connection: PGConnection
    ) throws -> RecordView {
        try session.require(.edit, on: .records)
        let current = try lock(session, id: id, expectedVersion: expectedVersion, on: connection)
        let move = try Lifecycle.check(from: current.stage, to: .disqualified)
        let code = reason.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        let reasons = try disqualifyReasons(session, on: connection)
        guard reasons.contains(where: { $0.code == code && $0.active }) else {
            throw CoreError.invalid(
                "reason", "must be one of the company's disqualify reasons: " + reasons.filter(\.active).map(\.code).joined(separator: ", "))
        }
        let note = try RecordSupport.text(note, field: "note", max: 2000)
        try RecordSupport.atomically(connection) {
            try setStage(session, current, to: .disqualified, reason: code, on: connection)
            try writeEvent(
                session, recordID: id, zoneID: current.zoneID, kind: "stage", from: current.stage, to: .disqualified, reason: code,
                detail: .init(move: move.rawValue, note: note), on: connection)
        }
        return try get(session, id: id, on: connection)
    }

    /// disqualified → target.
    public static func reopen(_ session: Session, id: UUID, note: String? = nil, expectedVersion: Int? = nil, on connection: PGConnection) throws -> RecordView {
        try session.require(.edit, on: .records)
        let current = try lock(session, id: id, expectedVersion: expectedVersion, on: connection)
        let move = try Lifecycle.check(from: current.stage, to: .target)
        let note = try RecordSupport.text(note, field: "note", max: 2000)
        try RecordSupport.atomically(connection) {
            try setStage(session, current, to: .target, reason: nil, on: connection)
            try writeEvent(
                session, recordID: id, zoneID: current.zoneID, kind: "stage", from: current.stage, to: .target, reason: nil,
                detail: .init(move: move.rawValue, note: note), on: connection)
        }
        return try get(session, id: id, on: connection)
    }

    /// Moves a record to `stage` with the move the table allows (for the CLI and imports that name
    /// a target stage): potential → promote, disqualified → disqualify (needs `reason`), target →
    /// reopen. Reaching `contact` needs an account: use `convert`.
    public static func move(
        _ session: Session, id: UUID, to stage: Stage, reason: String? = nil, note: String? = nil,
        expectedVersion: Int? = nil, on connection: PGConnection
    ) throws -> RecordView {
        switch stage {
        case .potential: return try promote(session, id: id, expectedVersion: expectedVersion, on: connection)
        case .target: return try reopen(session, id: id, note: note, expectedVersion: expectedVersion, on: connection)
        case .disqualified:
            guard let reason = RecordSupport.clean(reason) else { throw CoreError.invalid("reason", "disqualifying needs a reason") }
            return try disqualify(session, id: id, reason: reason, note: note, expectedVersion: expectedVersion, on: connection)
        case .contact:
            throw CoreError.invalid("stage", "a record becomes a contact by conversion, which needs an account: use convert")
        }
    }

    /// Replaces the tenant's disqualify reasons (admins: `edit` on settings). Reasons left out are
    /// deactivated, not deleted, since records and events keep their codes.
    public static func setDisqualifyReasons(_ session: Session, _ reasons: [DisqualifyReason], on connection: PGConnection) throws -> [DisqualifyReason] {
        try session.require(.edit, on: .settings)
        var seen: Set<String> = []
        for reason in reasons {
            guard reason.code.range(of: "^[a-z0-9][a-z0-9_-]{0,62}$", options: .regularExpression) != nil else {
                throw CoreError.invalid("code", "a reason code is lower-case letters, digits, '-' or '_' (at most 63)")
            }
            guard RecordSupport.clean(reason.label) != nil else { throw CoreError.invalid("label", "a reason needs a label") }
            guard seen.insert(reason.code).inserted else { throw CoreError.invalid("code", "reason \(reason.code) is listed twice") }
        }
        try connection.execute("""
            UPDATE disqualify_reasons SET active = false
             WHERE tenant_id = \(session.tenantID) AND NOT (code = ANY(\(reasons.map(\.code))))
            """)
        for (position, reason) in reasons.enumerated() {
            try connection.execute("""
                INSERT INTO disqualify_reasons (tenant_id, code, label, active, position)
                VALUES (\(session.tenantID), \(reason.code), \(RecordSupport.clean(reason.label) ?? reason.code), \(reason.active), \(position))
                ON CONFLICT (tenant_id, code) DO UPDATE
                   SET label = EXCLUDED.label, active = EXCLUDED.active, position = EXCLUDED.position
                """)
        }
        return try disqualifyReasons(session, on: connection)
    }

    /// The tenant's disqualify reasons, active ones first in their order; the built-in defaults when the tenant
    /// has configured none.
    public static func disqualifyReasons(_ session: Session, on connection: PGConnection) throws -> [DisqualifyReason] {
        let rows = try connection.query("""
            SELECT code, label, active FROM disqualify_reasons
             WHERE tenant_id = \(session.tenantID) ORDER BY active DESC, position, code
            """).decode((String, String, Bool).self)
        guard !rows.isEmpty else { return Lifecycle.defaultDisqualifyReasons }
        return rows.map { DisqualifyReason(code: $0.0, label: $0.1, active: $0.2) }
    }

    // MARK: - Helpers

    /// Built-in requirements plus the custom fields required from `stage` on.
    static func requireStage(_ stage: Stage, of record: Locked, accountID: UUID?, session: Session, on connection: PGConnection) throws {
        try Lifecycle.requireFields(
            for: stage, .init(hasEmail: record.email != nil, hasPhone: record.phone != nil, hasAccount: accountID != nil))
        try RecordSupport.requireStageFields(entity: .records, existing: record.fieldValues, stage: stage, session: session, on: connection)
    }

    static func setStage(_ session: Session, _ record: Locked, to stage: Stage, reason: String?, on connection: PGConnection) throws {
        try connection.execute("""
            UPDATE records SET stage = \(stage.rawValue), disqualified_reason = \(reason)
             WHERE tenant_id = \(session.tenantID) AND record_id = \(record.id) AND version = \(record.version)
            """)
    }
}
