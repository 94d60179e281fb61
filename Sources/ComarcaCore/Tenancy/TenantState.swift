import Foundation
import PGClient

/// A tenant's set-up as stored: what a plan compares the file with. Read in the caller's
/// transaction, under the tenant's operator settings.
struct TenantState {
    struct Role {
        let id: UUID
        let key: String
        let name: String
        let builtin: Bool
        let scope: String
        let permissionsJSON: String
    }

    struct Zone {
        let id: UUID
        let code: String
        let name: String
        let parentID: UUID?
    }

    struct User {
        let id: UUID
        let email: String
        let name: String
        let roleKey: String
        let zoneCode: String?
        var active: Bool { zoneCode != nil }
    }

    struct AssignmentRule {
        let match: ZoneAssignmentMatch
        let zoneID: UUID
        let zoneCode: String
    }

    var tenantID: UUID?
    var name: String?
    var roles: [Role] = []
    var zones: [Zone] = []
    var users: [User] = []
    /// In their stored order (`position`).
    var assignmentRules: [AssignmentRule] = []

    static func empty() -> TenantState { TenantState() }

    var zonesByCode: [String: Zone] { Dictionary(zones.map { ($0.code, $0) }, uniquingKeysWith: { a, _ in a }) }
    var zonesByID: [UUID: Zone] { Dictionary(zones.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a }) }
    var rolesByKey: [String: Role] { Dictionary(roles.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a }) }

    func parentCode(of zone: Zone) -> String? {
        zone.parentID.flatMap { zonesByID[$0]?.code }
    }

    /// Depth in the stored tree (0 for a top zone).
    func depth(of zone: Zone) -> Int {
        let byID = zonesByID
        var depth = 0
        var current = zone.parentID
        var seen: Set<UUID> = []
        while let id = current, let parent = byID[id], seen.insert(id).inserted {
            depth += 1
            current = parent.parentID
        }
        return depth
    }

    /// Reads the tenant with this id; the caller's transaction has its operator settings.
    static func read(tenantID: UUID, on tx: PGConnection) throws -> TenantState {
        var state = TenantState()
        state.tenantID = tenantID
        state.name = try tx.query("SELECT name FROM tenants WHERE tenant_id = \(tenantID)").decode((String).self).first
        state.roles = try tx.query("""
            SELECT role_id, key, name, builtin, scope, permissions::text
              FROM roles WHERE tenant_id = \(tenantID) ORDER BY key
            """).decode((UUID, String, String, Bool, String, String).self).map {
            Role(id: $0.0, key: $0.1, name: $0.2, builtin: $0.3, scope: $0.4, permissionsJSON: $0.5)
        }
        state.zones = try tx.query("""
            SELECT zone_id, code, name, parent_zone_id
              FROM zones WHERE tenant_id = \(tenantID) ORDER BY code
            """).decode((UUID, String, String, UUID?).self).map {
            Zone(id: $0.0, code: $0.1, name: $0.2, parentID: $0.3)
        }
        state.users = try tx.query("""
            SELECT u.user_id, u.email, u.display_name, r.key, z.code
              FROM users u
              JOIN roles r ON r.tenant_id = u.tenant_id AND r.role_id = u.role_id
              LEFT JOIN zones z ON z.tenant_id = u.tenant_id AND z.zone_id = u.zone_id
             WHERE u.tenant_id = \(tenantID)
             ORDER BY u.email
            """).decode((UUID, String, String, String, String?).self).map {
            User(id: $0.0, email: $0.1, name: $0.2, roleKey: $0.3, zoneCode: $0.4)
        }
        state.assignmentRules = try ZoneAssignment.load(tenantID: tenantID, on: tx).rules.map {
            AssignmentRule(match: $0.match, zoneID: $0.zoneID, zoneCode: $0.zoneCode)
        }
        return state
    }

    /// The stored rules that send records to each zone, as one readable phrase per zone
    /// ("assignment rules postal_prefix:08, province:17 (Girona)").
    func assignmentUsage() -> [UUID: String] {
        Dictionary(grouping: assignmentRules, by: \.zoneID).mapValues { rules in
            (rules.count == 1 ? "assignment rule " : "assignment rules ") + rules.map(\.match.label).joined(separator: ", ")
        }
    }

    /// What still uses each of these zones, as readable phrases ("3 records", "1 account").
    static func zoneUsage(tenantID: UUID, zoneIDs: [UUID], on tx: PGConnection) throws -> [UUID: [String]] {
        guard !zoneIDs.isEmpty else { return [:] }
        // Table names are constants; the zone list and tenant are binds.
        let rows = try tx.query("""
            SELECT zone_id, what, count(*)::int8 FROM (
                SELECT zone_id, 'record' AS what FROM records
                 WHERE tenant_id = \(tenantID) AND zone_id = ANY(\(zoneIDs))
                UNION ALL
                SELECT zone_id, 'account' FROM accounts
                 WHERE tenant_id = \(tenantID) AND zone_id = ANY(\(zoneIDs))
                UNION ALL
                SELECT zone_id, 'activity' FROM activities
                 WHERE tenant_id = \(tenantID) AND zone_id = ANY(\(zoneIDs))
                UNION ALL
                SELECT zone_id, 'record event' FROM record_events
                 WHERE tenant_id = \(tenantID) AND zone_id = ANY(\(zoneIDs))
            ) uses
            GROUP BY zone_id, what
            ORDER BY zone_id, what DESC
            """).decode((UUID, String, Int).self)
        var usage: [UUID: [String]] = [:]
        for (zoneID, what, count) in rows {
            let noun: String
            switch (what, count) {
            case ("activity", 1): noun = "activity"
            case ("activity", _): noun = "activities"
            case (_, 1): noun = what
            default: noun = what + "s"
            }
            usage[zoneID, default: []].append("\(count) \(noun)")
        }
        return usage
    }

    /// The e-mails of the users (active or not) holding each role.
    static func roleHolders(tenantID: UUID, roleIDs: [UUID], on tx: PGConnection) throws -> [UUID: [String]] {
        guard !roleIDs.isEmpty else { return [:] }
        let rows = try tx.query("""
            SELECT role_id, email FROM users
             WHERE tenant_id = \(tenantID) AND role_id = ANY(\(roleIDs))
            """).decode((UUID, String).self)
        return Dictionary(grouping: rows, by: \.0).mapValues { $0.map(\.1) }
    }
}
