public import Foundation
public import PGClient

/// Which opportunities `OpportunityService.list` returns; every filter narrows, none widens the
/// caller's scope (RLS decides which rows exist).
public struct OpportunityFilter: Sendable, Equatable {
    public enum Status: String, Sendable, CaseIterable { case open, won, lost }

    public var zoneId: UUID?
    public var ownerId: UUID?
    public var accountId: UUID?
    public var recordId: UUID?
    public var stage: String?
    public var status: Status?
    public var updatedSince: Date?

    public init(zoneId: UUID? = nil, ownerId: UUID? = nil, accountId: UUID? = nil, recordId: UUID? = nil,
                stage: String? = nil, status: Status? = nil, updatedSince: Date? = nil) {
        self.zoneId = zoneId
        self.ownerId = ownerId
        self.accountId = accountId
        self.recordId = recordId
        self.stage = stage
        self.status = status
        self.updatedSince = updatedSince
    }
}

/// Opportunities as they are read back: the one a conversion created, and the caller's list.
/// Writing them (pipelines, stages, won and lost) comes with the pipeline work.
public enum OpportunityService {
    static let selectList: PGQuery = """
        SELECT opportunity_id, zone_id, account_id, record_id, owner_user_id, name, amount, currency, stage,
               expected_close, won_at, lost_at, lost_reason, source, campaign_id, version, created_at, updated_at
        """

    static func view(_ row: PGRow) throws -> OpportunityView {
        let wonAt: Date? = try row.decode(at: 10), lostAt: Date? = try row.decode(at: 11)
        let close: PGCalendarDate? = try row.decode(at: 9)
        return OpportunityView(
            id: try row.decode(at: 0), zoneId: try row.decode(at: 1), accountId: try row.decode(at: 2),
            recordId: try row.decode(at: 3), ownerId: try row.decode(at: 4), name: try row.decode(at: 5),
            amount: try row.decode(at: 6), currency: try row.decode(at: 7), stage: try row.decode(at: 8),
            expectedClose: close.map { CalendarDate(year: $0.year, month: $0.month, day: $0.day) },
            status: wonAt != nil ? "won" : lostAt != nil ? "lost" : "open", wonAt: wonAt, lostAt: lostAt,
            lostReason: try row.decode(at: 12), source: try row.decode(at: 13), campaignId: try row.decode(at: 14),
            version: try row.decode(at: 15), createdAt: try row.decode(at: 16), updatedAt: try row.decode(at: 17))
    }

    /// An opportunity the caller can see; any other id (another zone's, another company's, none)
    /// is the same `notFound`.
    public static func get(_ session: Session, id: UUID, on connection: PGConnection) throws -> OpportunityView {
        try session.require(.view, on: .opportunities)
        let views = try connection.query("""
            \(selectList) FROM opportunities WHERE tenant_id = \(session.tenantID) AND opportunity_id = \(id)
            """).map(view)
        guard let found = views.first else { throw CoreError(.notFound, "opportunity not found") }
        return found
    }

    /// The opportunities in the caller's scope, most recently changed first (keyset on
    /// `updated_at, opportunity_id`, the order of `opportunities_zone_updated_idx`).
    public static func list(_ session: Session, _ filter: OpportunityFilter, page: PageRequest, on connection: PGConnection) throws -> Page<OpportunityView> {
        try session.require(.list, on: .opportunities)
        var conditions: PGQuery = "tenant_id = \(session.tenantID)"
        if let zoneID = filter.zoneId {
            guard try RecordSupport.zoneIsVisible(zoneID, session: session, on: connection) else {
                throw CoreError(.notFound, "zone not found")
            }
            conditions = conditions + " AND zone_id = \(zoneID)"
        } else if let zones = session.visibleZoneIDs {
            conditions = conditions + " AND zone_id = ANY(\(zones))"
        }
        if let owner = filter.ownerId { conditions = conditions + " AND owner_user_id = \(owner)" }
        if let account = filter.accountId { conditions = conditions + " AND account_id = \(account)" }
        if let record = filter.recordId { conditions = conditions + " AND record_id = \(record)" }
        if let stage = filter.stage {
            guard let stage = try RecordSupport.text(stage, field: "stage", max: 100) else { throw CoreError.invalid("stage", "must not be empty") }
            conditions = conditions + " AND stage = \(stage)"
        }
        switch filter.status {
        case .open?: conditions = conditions + " AND won_at IS NULL AND lost_at IS NULL"
        case .won?: conditions = conditions + " AND won_at IS NOT NULL"
        case .lost?: conditions = conditions + " AND lost_at IS NOT NULL"
        case nil: break
        }
        if let since = filter.updatedSince { conditions = conditions + " AND updated_at >= \(since)" }
        if let after = try page.after([.timestamp, .uuid]) {
            conditions = conditions + " AND (updated_at, opportunity_id) < (\(after.timestamp(0))::timestamptz, \(after.uuid(1)))"
        }
        let rows = try connection.query("""
            \(selectList), opportunities.updated_at::text FROM opportunities
             WHERE \(conditions)
             ORDER BY opportunities.updated_at DESC, opportunities.opportunity_id DESC
             LIMIT \(page.limit + 1)
            """)
        var keys: [UUID: String] = [:]
        let views = try rows.map { row in
            let view = try view(row)
            keys[view.id] = try row.decode(String.self, at: 18)
            return view
        }
        return page.page(from: views) { [keys[$0.id] ?? "", $0.id.uuidString.lowercased()] }
    }
}
