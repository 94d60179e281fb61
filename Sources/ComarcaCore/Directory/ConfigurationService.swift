public import Foundation
public import PGClient

/// Changes to a tenant's zones, users and roles made one at a time by a signed-in admin (HTTP).
/// The whole-file way is `TenantSetup` (the operator's YAML); both obey the same database rules.
public enum ConfigurationService {
    static let codePattern = #"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$"#
    static let roleKeyPattern = #"^[a-z][a-z0-9_]{0,39}$"#

    // MARK: - Zones

    public struct NewZone: Sendable {
        public let code: String
        public let name: String
        public let parentId: UUID?
        public init(code: String, name: String, parentId: UUID?) {
            self.code = code
            self.name = name
            self.parentId = parentId
        }
    }

    public static func createZone(_ session: Session, _ zone: NewZone, on connection: PGConnection) throws -> DirectoryService.ZoneView {
        try session.require(.create, on: .zones)
        let code = zone.code.trimmingCharacters(in: .whitespaces)
        var problems: [CoreError.FieldError] = []
        if code.range(of: codePattern, options: .regularExpression) == nil {
            problems.append(.init(field: "code", message: "1–40 letters, digits, '.', '_' or '-', starting with a letter or digit"))
        }
        let name = zone.name.trimmingCharacters(in: .whitespacesAndNewlines)
        if name.isEmpty || name.count > 200 { problems.append(.init(field: "name", message: "1 to 200 characters")) }
        guard problems.isEmpty else { throw CoreError(.invalidInput, "invalid zone", fieldErrors: problems) }
        if let parent = zone.parentId { _ = try DirectoryService.zone(session, id: parent, on: connection) }
        let id = try translating(connection) {
            try connection.query("""
                INSERT INTO zones (tenant_id, parent_zone_id, code, name)
                VALUES (\(session.tenantID), \(zone.parentId), \(code), \(name)) RETURNING zone_id
                """).scalar(UUID.self)
        }
        return try DirectoryService.zone(session, id: id, on: connection)
    }

    public static func updateZone(_ session: Session, id: UUID, name: String?, parentId: UUID??, on connection: PGConnection) throws -> DirectoryService.ZoneView {
        try session.require(.edit, on: .zones)
        _ = try DirectoryService.zone(session, id: id, on: connection)
        if let name {
            let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !trimmed.isEmpty, trimmed.count <= 200 else { throw CoreError.invalid("name", "1 to 200 characters") }
            try translating(connection) { try connection.execute("UPDATE zones SET name = \(trimmed) WHERE tenant_id = \(session.tenantID) AND zone_id = \(id)") }
        }
        if let parentId {
            if let parent = parentId { _ = try DirectoryService.zone(session, id: parent, on: connection) }
            try translating(connection) {
                try connection.execute("UPDATE zones SET parent_zone_id = \(parentId) WHERE tenant_id = \(session.tenantID) AND zone_id = \(id)")
            }
        }
        return try DirectoryService.zone(session, id: id, on: connection)
    }

    /// Removes an empty zone; one that still has a user, child zones or business rows is refused.
    public static func deleteZone(_ session: Session, id: UUID, on connection: PGConnection) throws {
        try session.require(.delete, on: .zones)
        let zone = try DirectoryService.zone(session, id: id, on: connection)
        if zone.userId != nil {
            throw CoreError(.conflict, "zone \(zone.code) still has a user; hand it over or move the user first")
        }
        // Counts every row in the tenant (as admin the caller sees them all anyway).
        let used = try connection.query("""
            SELECT (SELECT count(*) FROM zones WHERE tenant_id = \(session.tenantID) AND parent_zone_id = \(id))
                 + (SELECT count(*) FROM records WHERE tenant_id = \(session.tenantID) AND zone_id = \(id))
                 + (SELECT count(*) FROM accounts WHERE tenant_id = \(session.tenantID) AND zone_id = \(id))
                 + (SELECT count(*) FROM activities WHERE tenant_id = \(session.tenantID) AND zone_id = \(id))
                 + (SELECT count(*) FROM users WHERE tenant_id = \(session.tenantID) AND zone_id = \(id))
            """).scalar(Int.self)
        guard used == 0 else {
            throw CoreError(.conflict, "zone \(zone.code) still has child zones or records; move them first")
        }
        try translating(connection) { try connection.execute("DELETE FROM zones WHERE tenant_id = \(session.tenantID) AND zone_id = \(id)") }
    }

    // MARK: - Users

    public struct NewUser: Sendable {
        public let email: String
        public let displayName: String
        public let role: String
        public let zoneId: UUID
        public init(email: String, displayName: String, role: String, zoneId: UUID) {
            self.email = email
            self.displayName = displayName
            self.role = role
            self.zoneId = zoneId
        }
    }

    static func roleID(_ session: Session, key: String, on connection: PGConnection) throws -> UUID {
        let rows = try connection.query("SELECT role_id FROM roles WHERE tenant_id = \(session.tenantID) AND key = \(key)").decode(UUID.self)
        guard let id = rows.first else { throw CoreError.invalid("role", "no role with key \(key)") }
        return id
    }

    public static func createUser(_ session: Session, _ user: NewUser, on connection: PGConnection) throws -> DirectoryService.UserView {
        try session.require(.create, on: .users)
        let email = try Normalize.email(user.email)
        let name = user.displayName.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !name.isEmpty, name.count <= 200 else { throw CoreError.invalid("displayName", "1 to 200 characters") }
        let role = try roleID(session, key: user.role, on: connection)
        let zone = try DirectoryService.zone(session, id: user.zoneId, on: connection)
        if zone.userId != nil { throw CoreError(.conflict, "zone \(zone.code) already has a user; each zone has exactly one") }
        let id = try translating(connection) {
            try connection.query("""
                INSERT INTO users (tenant_id, email, display_name, role_id, zone_id)
                VALUES (\(session.tenantID), \(email), \(name), \(role), \(user.zoneId)) RETURNING user_id
                """).scalar(UUID.self)
        }
        return try DirectoryService.user(session, id: id, on: connection)
    }

    /// Renames a user or changes their role. Zone moves go through `UserService`/`ZoneService`.
    public static func updateUser(_ session: Session, id: UUID, displayName: String?, role: String?, on connection: PGConnection) throws -> DirectoryService.UserView {
        try session.require(.edit, on: .users)
        let current = try DirectoryService.user(session, id: id, on: connection)
        if let displayName {
            let name = displayName.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !name.isEmpty, name.count <= 200 else { throw CoreError.invalid("displayName", "1 to 200 characters") }
            try connection.execute("UPDATE users SET display_name = \(name) WHERE tenant_id = \(session.tenantID) AND user_id = \(id)")
        }
        if let role, role != current.role {
            if id == session.userID { throw CoreError(.conflict, "you cannot change your own role") }
            let roleID = try roleID(session, key: role, on: connection)
            try connection.execute("UPDATE users SET role_id = \(roleID) WHERE tenant_id = \(session.tenantID) AND user_id = \(id)")
        }
        return try DirectoryService.user(session, id: id, on: connection)
    }

    /// Deactivates a user: their zone is freed (records stay with it) and their tokens stop working.
    public static func deactivateUser(_ session: Session, id: UUID, on connection: PGConnection) throws {
        try session.require(.delete, on: .users)
        if id == session.userID { throw CoreError(.conflict, "you cannot deactivate yourself") }
        _ = try DirectoryService.user(session, id: id, on: connection)
        try connection.execute("""
            UPDATE users SET deactivated_at = now(), zone_id = NULL
             WHERE tenant_id = \(session.tenantID) AND user_id = \(id) AND deactivated_at IS NULL
            """)
    }

    // MARK: - Roles

    public static func saveRole(_ session: Session, _ role: RoleDefinition, creating: Bool, on connection: PGConnection) throws -> DirectoryService.RoleView {
        try session.require(creating ? .create : .edit, on: .roles)
        guard role.key.range(of: roleKeyPattern, options: .regularExpression) != nil else {
            throw CoreError.invalid("key", "lower-case letters, digits and '_', starting with a letter, at most 40")
        }
        guard !BuiltinRoles.all.contains(where: { $0.key == role.key }) else {
            throw CoreError(.conflict, "\(role.key) is a built-in role and cannot be changed")
        }
        let name = role.name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !name.isEmpty, name.count <= 200 else { throw CoreError.invalid("name", "1 to 200 characters") }
        let permissions = PGJSON(text: role.permissionsJSON)
        let changed: Int
        if creating {
            changed = try translating(connection) {
                try connection.execute("""
                    INSERT INTO roles (tenant_id, key, name, scope, permissions)
                    VALUES (\(session.tenantID), \(role.key), \(name), \(role.scope.rawValue), \(permissions))
                    """)
            }
        } else {
            changed = try connection.execute("""
                UPDATE roles SET name = \(name), scope = \(role.scope.rawValue), permissions = \(permissions)
                 WHERE tenant_id = \(session.tenantID) AND key = \(role.key) AND NOT builtin
                """)
        }
        guard changed == 1 else { throw CoreError(.notFound, "role not found") }
        guard let saved = try DirectoryService.roles(session, on: connection).first(where: { $0.key == role.key }) else {
            throw CoreError(.notFound, "role not found")
        }
        return saved
    }

    public static func deleteRole(_ session: Session, key: String, on connection: PGConnection) throws {
        try session.require(.delete, on: .roles)
        guard !BuiltinRoles.all.contains(where: { $0.key == key }) else {
            throw CoreError(.conflict, "\(key) is a built-in role and cannot be removed")
        }
        let users = try connection.query("""
            SELECT count(*) FROM users u JOIN roles r ON r.tenant_id = u.tenant_id AND r.role_id = u.role_id
             WHERE u.tenant_id = \(session.tenantID) AND r.key = \(key)
            """).scalar(Int.self)
        guard users == 0 else { throw CoreError(.conflict, "role \(key) is still held by \(users) users") }
        let deleted = try translating(connection) {
            try connection.execute("DELETE FROM roles WHERE tenant_id = \(session.tenantID) AND key = \(key) AND NOT builtin")
        }
        guard deleted == 1 else { throw CoreError(.notFound, "role not found") }
    }

    // MARK: - Database errors as domain errors

    /// Maps the constraint errors a configuration write can hit to errors naming the field.
    /// Runs the statement inside a savepoint-free single statement: the transaction is lost on
    /// error anyway, and the caller's transaction rolls back.
    static func translating<T>(_ connection: PGConnection, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as PGError where error.kind == .server {
            switch (error.code, error.constraint) {
            case (.uniqueViolation?, "zones_code_key"?): throw CoreError(.conflict, "a zone with this code exists")
            case (.uniqueViolation?, "users_email_key"?): throw CoreError(.conflict, "a user with this email exists")
            case (.uniqueViolation?, "users_zone_key"?): throw CoreError(.conflict, "the zone already has a user")
            case (.uniqueViolation?, "roles_key_key"?): throw CoreError(.conflict, "a role with this key exists")
            case (.checkViolation?, "zones_no_cycle"?): throw CoreError.invalid("parentId", "would put the zone under itself")
            case (.checkViolation?, let constraint?): throw CoreError(.invalidInput, "rejected by rule \(constraint)")
            case (.foreignKeyViolation?, _): throw CoreError(.conflict, "still referenced by other rows")
            default: throw error
            }
        }
    }
}
