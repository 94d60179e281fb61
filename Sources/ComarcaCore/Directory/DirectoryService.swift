public import Foundation
public import PGClient

/// Reads of the tenant's configuration — its profile, zones, users and roles — and explanations
/// of access. Every call runs under the caller's session; role permissions are checked here,
/// row visibility by PostgreSQL.
public enum DirectoryService {
    public struct TenantView: Sendable, Codable, Equatable {
        public let id: UUID
        public let slug: String
        public let name: String
        public let status: String
        public let createdAt: Date
    }

    public struct ZoneView: Sendable, Codable, Equatable {
        public let id: UUID
        public let code: String
        public let name: String
        public let parentId: UUID?
        /// The user bound to the zone, if any.
        public let userId: UUID?
    }

    public struct UserView: Sendable, Codable, Equatable {
        public let id: UUID
        public let email: String
        public let displayName: String
        public let role: String
        public let zoneId: UUID?
        public let active: Bool
        public let createdAt: Date
    }

    public struct RoleView: Sendable, Codable, Equatable {
        public let id: UUID
        public let key: String
        public let name: String
        public let scope: String
        public let builtin: Bool
        public let permissions: [String: [String]]
    }

    public static func tenant(_ session: Session, on connection: PGConnection) throws -> TenantView {
        try session.require(.view, on: .settings)
        let rows = try connection.query("""
            SELECT tenant_id, slug, name, status, created_at FROM tenants WHERE tenant_id = \(session.tenantID)
            """).decode((UUID, String, String, String, Date).self)
        guard let row = rows.first else { throw CoreError(.notFound, "tenant not found") }
        return TenantView(id: row.0, slug: row.1, name: row.2, status: row.3, createdAt: row.4)
    }

    public static func renameTenant(_ session: Session, name: String, on connection: PGConnection) throws -> TenantView {
        try session.require(.edit, on: .settings)
        let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty, trimmed.count <= 200 else {
            throw CoreError(.invalidInput, "name must be 1 to 200 characters")
        }
        let updated = try connection.execute("UPDATE tenants SET name = \(trimmed) WHERE tenant_id = \(session.tenantID)")
        guard updated == 1 else { throw CoreError(.notFound, "tenant not found") }
        return try tenant(session, on: connection)
    }

    public static func zones(_ session: Session, page: PageRequest, on connection: PGConnection) throws -> Page<ZoneView> {
        try session.require(.list, on: .zones)
        let after = try page.after([.text])?.text(0) ?? ""
        let rows = try connection.query("""
            SELECT z.zone_id, z.code, z.name, z.parent_zone_id, u.user_id
              FROM zones z
              LEFT JOIN users u ON u.tenant_id = z.tenant_id AND u.zone_id = z.zone_id
             WHERE z.tenant_id = \(session.tenantID) AND z.code > \(after)
             ORDER BY z.code
             LIMIT \(page.limit + 1)
            """).decode((UUID, String, String, UUID?, UUID?).self)
        return page.page(from: rows.map { ZoneView(id: $0.0, code: $0.1, name: $0.2, parentId: $0.3, userId: $0.4) }) { [$0.code] }
    }

    public static func zone(_ session: Session, id: UUID, on connection: PGConnection) throws -> ZoneView {
        try session.require(.view, on: .zones)
        let rows = try connection.query("""
            SELECT z.zone_id, z.code, z.name, z.parent_zone_id, u.user_id
              FROM zones z
              LEFT JOIN users u ON u.tenant_id = z.tenant_id AND u.zone_id = z.zone_id
             WHERE z.tenant_id = \(session.tenantID) AND z.zone_id = \(id)
            """).decode((UUID, String, String, UUID?, UUID?).self)
        guard let row = rows.first else { throw CoreError(.notFound, "zone not found") }
        return ZoneView(id: row.0, code: row.1, name: row.2, parentId: row.3, userId: row.4)
    }

    static let userColumns: PGQuery = """
        SELECT u.user_id, u.email, u.display_name, r.key, u.zone_id, u.deactivated_at IS NULL, u.created_at
          FROM users u JOIN roles r ON r.tenant_id = u.tenant_id AND r.role_id = u.role_id
        """

    static func userView(_ row: (UUID, String, String, String, UUID?, Bool, Date)) -> UserView {
        UserView(id: row.0, email: row.1, displayName: row.2, role: row.3, zoneId: row.4, active: row.5, createdAt: row.6)
    }

    public static func users(_ session: Session, page: PageRequest, includeInactive: Bool, on connection: PGConnection) throws -> Page<UserView> {
        try session.require(.list, on: .users)
        let after = try page.after([.text])?.text(0) ?? ""
        let rows = try connection.query("""
            \(userColumns)
             WHERE u.tenant_id = \(session.tenantID) AND u.email > \(after)
               AND (\(includeInactive) OR u.deactivated_at IS NULL)
             ORDER BY u.email
             LIMIT \(page.limit + 1)
            """).decode((UUID, String, String, String, UUID?, Bool, Date).self)
        return page.page(from: rows.map(userView)) { [$0.email] }
    }

    /// The caller's own profile. Needs no directory right: signing in and `GET /v1/me` must work
    /// for every role, also one that may not view other users.
    public static func me(_ session: Session, on connection: PGConnection) throws -> UserView {
        let rows = try connection.query("""
            \(userColumns)
             WHERE u.tenant_id = \(session.tenantID) AND u.user_id = \(session.userID)
            """).decode((UUID, String, String, String, UUID?, Bool, Date).self)
        guard let row = rows.first else { throw AuthService.unauthenticated }
        return userView(row)
    }

    public static func user(_ session: Session, id: UUID, on connection: PGConnection) throws -> UserView {
        try session.require(.view, on: .users)
        let rows = try connection.query("""
            \(userColumns)
             WHERE u.tenant_id = \(session.tenantID) AND u.user_id = \(id)
            """).decode((UUID, String, String, String, UUID?, Bool, Date).self)
        guard let row = rows.first else { throw CoreError(.notFound, "user not found") }
        return userView(row)
    }

    public static func roles(_ session: Session, on connection: PGConnection) throws -> [RoleView] {
        try session.require(.list, on: .roles)
        return try connection.query("""
            SELECT role_id, key, name, scope, builtin, permissions::text FROM roles
             WHERE tenant_id = \(session.tenantID) ORDER BY key
            """).decode((UUID, String, String, String, Bool, String).self).map { row in
            let permissions = try RoleDefinition.permissions(fromJSON: row.5)
            return RoleView(
                id: row.0, key: row.1, name: row.2, scope: row.3, builtin: row.4,
                permissions: Dictionary(uniqueKeysWithValues: permissions.map { ($0.key.rawValue, $0.value.sorted().map(\.rawValue)) }))
        }
    }

    // MARK: - Access explanations

    public struct AccessSummary: Sendable, Codable, Equatable {
        public let userId: UUID
        public let tenant: String
        public let role: String
        public let scope: String
        public let zone: ZoneRef
        /// nil when the role sees the whole tenant.
        public let visibleZones: [ZoneRef]?
        /// Entity to the actions the role allows on it.
        public let permissions: [String: [String]]
    }

    public struct ZoneRef: Sendable, Codable, Equatable {
        public let id: UUID
        public let code: String
        public let name: String
    }

    /// What the caller sees and may do: `GET /v1/me/access`.
    public static func accessSummary(_ session: Session, on connection: PGConnection) throws -> AccessSummary {
        let zones = try connection.query("""
            SELECT zone_id, code, name FROM zones WHERE tenant_id = \(session.tenantID)
            """).decode((UUID, String, String).self)
        let byID = Dictionary(uniqueKeysWithValues: zones.map { ($0.0, ZoneRef(id: $0.0, code: $0.1, name: $0.2)) })
        guard let own = byID[session.zoneID] else { throw CoreError(.notFound, "your zone no longer exists") }
        return AccessSummary(
            userId: session.userID,
            tenant: session.tenantSlug,
            role: session.role.key,
            scope: session.role.scope.rawValue,
            zone: own,
            visibleZones: session.visibleZoneIDs.map { ids in ids.compactMap { byID[$0] }.sorted { $0.code < $1.code } },
            permissions: Dictionary(uniqueKeysWithValues: session.role.permissions.filter { $0.key.isServed && !$0.value.isEmpty }
                .map { ($0.key.rawValue, $0.value.sorted().map(\.rawValue)) }))
    }

    public struct RecordAccess: Sendable, Codable, Equatable {
        public struct Grant: Sendable, Codable, Equatable {
            public let userId: UUID
            public let email: String
            public let role: String
            public let reason: String
        }
        public let recordId: UUID
        public let zone: ZoneRef
        public let visibleTo: [Grant]
    }

    /// Who can see a record and why: `GET /v1/records/{id}/access`. Tenant-wide roles see it;
    /// own-zone roles when it is in their zone; subtree roles when it is in their zone or below.
    /// A record the caller cannot see is not found.
    public static func recordAccess(_ session: Session, recordID: UUID, on connection: PGConnection) throws -> RecordAccess {
        try session.require(.view, on: .records)
        let record = try connection.query("""
            SELECT r.zone_id, z.code, z.name FROM records r
              JOIN zones z ON z.tenant_id = r.tenant_id AND z.zone_id = r.zone_id
             WHERE r.tenant_id = \(session.tenantID) AND r.record_id = \(recordID)
            """).decode((UUID, String, String).self)
        // Existence first (under RLS), so a record outside the caller's scope is a 404 whatever
        // their role; only then whether they may ask who else sees it.
        guard let (zoneID, code, name) = record.first else { throw CoreError(.notFound, "record not found") }
        try session.require(.view, on: .users)
        guard session.visibleZoneIDs == nil else {
            throw CoreError(.forbidden, "only tenant-wide roles can see who else sees a record")
        }
        let grants = try connection.query("""
            WITH RECURSIVE ancestors AS (
                SELECT zone_id, parent_zone_id, code, 0 AS depth FROM zones
                 WHERE tenant_id = \(session.tenantID) AND zone_id = \(zoneID)
                UNION ALL
                SELECT z.zone_id, z.parent_zone_id, z.code, a.depth + 1 FROM zones z
                  JOIN ancestors a ON z.zone_id = a.parent_zone_id
                 WHERE z.tenant_id = \(session.tenantID)
            )
            SELECT u.user_id, u.email, r.key,
                   CASE r.scope
                     WHEN 'tenant' THEN 'role ' || r.key || ' sees the whole tenant'
                     WHEN 'own_zone' THEN 'the record is in their zone ' || a.code
                     ELSE CASE WHEN a.depth = 0 THEN 'the record is in their zone ' || a.code
                               ELSE 'the record is below their zone ' || a.code END
                   END
              FROM users u
              JOIN roles r ON r.tenant_id = u.tenant_id AND r.role_id = u.role_id
              LEFT JOIN ancestors a ON a.zone_id = u.zone_id
             WHERE u.tenant_id = \(session.tenantID) AND u.deactivated_at IS NULL
               AND (r.scope = 'tenant'
                    OR (r.scope = 'own_zone' AND a.depth = 0)
                    OR (r.scope = 'zone_subtree' AND a.depth IS NOT NULL))
               AND r.permissions ? 'records'
             ORDER BY u.email
            """).decode((UUID, String, String, String).self)
        return RecordAccess(
            recordId: recordID, zone: ZoneRef(id: zoneID, code: code, name: name),
            visibleTo: grants.map { RecordAccess.Grant(userId: $0.0, email: $0.1, role: $0.2, reason: $0.3) })
    }
}
