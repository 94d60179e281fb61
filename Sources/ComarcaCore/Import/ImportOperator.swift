public import Foundation
public import PGClient

extension SessionLoader {
    /// The session the operator's CLI acts as inside a tenant: the active user `email`, or the
    /// tenant's longest-standing active admin when no e-mail is given. Imports run with that
    /// user's role and zone scope, exactly as the same user's HTTP requests would.
    public static func operatorSession(tenantSlug: String, email: String?, on connection: PGConnection) throws -> Session {
        let tenant = try connection.query("SELECT comarca.tenant_id_for_slug(\(tenantSlug))").scalar(UUID?.self)
        guard let tenantID = tenant else { throw CoreError(.notFound, "no tenant with slug \(tenantSlug)") }
        let userID = try connection.transaction(settings: AccessScope.operator_(tenantID: tenantID).settings) { tx -> UUID? in
            if let email {
                return try tx.query("""
                    SELECT user_id FROM users
                     WHERE tenant_id = \(tenantID) AND email = \(Normalize.emailKey(email)) AND deactivated_at IS NULL AND zone_id IS NOT NULL
                    """).decode(UUID.self).first
            }
            return try tx.query("""
                SELECT u.user_id FROM users u JOIN roles r ON r.tenant_id = u.tenant_id AND r.role_id = u.role_id
                 WHERE u.tenant_id = \(tenantID) AND r.key = 'admin' AND u.deactivated_at IS NULL AND u.zone_id IS NOT NULL
                 ORDER BY u.created_at, u.user_id LIMIT 1
                """).decode(UUID.self).first
        }
        guard let userID else {
            throw CoreError(.notFound, email.map { "\(tenantSlug) has no active user \($0)" } ?? "\(tenantSlug) has no active admin to act as; name a user with --as")
        }
        return try load(tenantID: tenantID, userID: userID, on: connection)
    }
}
