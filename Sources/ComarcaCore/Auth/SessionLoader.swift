public import Foundation
public import PGClient

/// Builds the `Session` of a user for one request: the user (active), their zone, their role
/// (or an API token's own role) and the zones the role's scope makes visible, computed from the
/// zone tree: `own_zone` → their zone, `zone_subtree` → their zone and every zone below it,
/// `tenant` → nil (all). One query, no cache: a change of role or zone applies to the next request.
public enum SessionLoader {
    /// Loads the session, or throws `unauthenticated` when the user does not exist or is
    /// deactivated, the tenant is not active, or the role is gone.
    ///
    /// On an idle connection this runs its own transaction (one round trip, pipelined) with the
    /// tenant's settings. Inside an open transaction it runs in it, and the transaction's settings
    /// must name the same tenant. Blocking: call it on a pool thread (`pool.withConnection`).
    public static func load(
        tenantID: UUID, userID: UUID, roleOverride: UUID? = nil, tokenID: UUID? = nil, on connection: PGConnection
    ) throws -> Session {
        let source: PGQuery = "SELECT \(userID)::uuid AS user_id, \(roleOverride)::uuid AS role_id, \(tokenID)::uuid AS token_id"
        let query = sessionQuery(tenantID: tenantID, source: source)
        let rows: PGRows
        if connection.transactionState == .idle {
            let scope = AccessScope(tenantID: tenantID, actorID: userID, visibility: .zones([]))
            rows = try connection.pipelinedTransaction(settings: scope.settings, [query])[0]
        } else {
            rows = try connection.query(query)
        }
        return try session(from: rows, tenantID: tenantID)
    }

    /// The session query over `source`, a query giving one row of (user_id, role_id, token_id):
    /// role_id, when not NULL, replaces the user's role (API tokens).
    static func sessionQuery(tenantID: UUID, source: PGQuery) -> PGQuery {
        """
        WITH RECURSIVE src AS (\(source)),
        me AS (
            SELECT u.user_id, u.zone_id, coalesce(src.role_id, u.role_id) AS role_id, src.token_id
              FROM src
              JOIN public.users u ON u.tenant_id = \(tenantID) AND u.user_id = src.user_id
             WHERE u.deactivated_at IS NULL AND u.zone_id IS NOT NULL
        ),
        subtree (zone_id) AS (
            SELECT z.zone_id FROM public.zones z JOIN me ON z.zone_id = me.zone_id
             WHERE z.tenant_id = \(tenantID)
            UNION
            SELECT z.zone_id FROM public.zones z JOIN subtree s ON z.parent_zone_id = s.zone_id
             WHERE z.tenant_id = \(tenantID)
        )
        SELECT t.slug, me.user_id, me.zone_id, me.token_id,
               r.key, r.name, r.scope, r.permissions::text, r.builtin,
               CASE r.scope
                   WHEN 'tenant' THEN NULL
                   WHEN 'own_zone' THEN ARRAY[me.zone_id]
                   ELSE (SELECT array_agg(s.zone_id ORDER BY s.zone_id) FROM subtree s)
               END AS visible_zone_ids
          FROM me
          JOIN public.tenants t ON t.tenant_id = \(tenantID) AND t.status = 'active'
          JOIN public.roles r ON r.tenant_id = \(tenantID) AND r.role_id = me.role_id
        """
    }

    static func session(from rows: PGRows, tenantID: UUID) throws -> Session {
        guard let row = rows.firstRow else {
            throw AuthService.unauthenticated
        }
        let (slug, userID, zoneID, tokenID, key, name, scopeText, permissionsJSON, builtin, visible) =
            try row.decode((String, UUID, UUID, UUID?, String, String, String, String, Bool, [UUID]?).self)
        let role: RoleDefinition
        if builtin, let definition = BuiltinRoles.all.first(where: { $0.key == key }) {
            // Built-in roles are defined in code (they cannot be changed per tenant); the row
            // only names them. This also covers rows written in older permission formats.
            role = RoleDefinition(key: key, name: name, scope: definition.scope, permissions: definition.permissions, builtin: true)
        } else {
            guard let scope = RoleScope(rawValue: scopeText) else {
                throw CoreError(.invalidInput, "role \(key) has an unknown scope")
            }
            role = RoleDefinition(
                key: key, name: name, scope: scope,
                permissions: try RoleDefinition.permissions(fromJSON: permissionsJSON), builtin: builtin)
        }
        return Session(
            tenantID: tenantID, tenantSlug: slug, userID: userID, zoneID: zoneID, role: role,
            visibleZoneIDs: visible, tokenID: tokenID)
    }
}
