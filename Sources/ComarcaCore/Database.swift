public import Foundation
public import PGClient

/// The service's way into PostgreSQL: every unit of work is one transaction that starts by
/// telling the policies who is asking.
public struct Database: Sendable {
    public let pool: PGPool

    public init(pool: PGPool) {
        self.pool = pool
    }

    /// Runs `body` in one transaction under `scope`'s settings.
    public func withScope<T: Sendable>(_ scope: AccessScope, _ body: @escaping @Sendable (PGConnection) throws -> T) async throws -> T {
        try await pool.withTransaction(settings: scope.settings, body)
    }

    /// Refuses a role that would make RLS decorative: a superuser, a `BYPASSRLS` role, or one
    /// that owns tables (owners skip policies unless FORCE, and could drop them).
    public static func verifyApplicationRole(on connection: PGConnection) throws {
        let row = try connection.query("""
            SELECT r.rolname, r.rolsuper, r.rolbypassrls,
                   (SELECT count(*) FROM pg_class c
                     JOIN pg_namespace n ON n.oid = c.relnamespace
                    WHERE c.relowner = r.oid
                      AND n.nspname NOT IN ('pg_catalog', 'information_schema')
                      AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%') AS owned
              FROM pg_roles r
             WHERE r.rolname = current_user
            """).decode((String, Bool, Bool, Int).self)
        guard let (name, superuser, bypass, owned) = row.first else {
            throw CoreError(.unsafeDatabaseRole, "cannot read the attributes of the connected role")
        }
        if superuser || bypass || owned > 0 {
            var reasons: [String] = []
            if superuser { reasons.append("is a superuser") }
            if bypass { reasons.append("has BYPASSRLS") }
            if owned > 0 { reasons.append("owns \(owned) relations") }
            throw CoreError(
                .unsafeDatabaseRole,
                "role \(name) \(reasons.joined(separator: ", ")); the service must connect as the application role (comarca_app), which row-level security binds"
            )
        }
    }
}
