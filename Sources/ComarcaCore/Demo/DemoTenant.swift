public import Foundation
public import PGClient

/// A small, realistic tenant for `deploy/dev run`: a head office, two regions, four rep zones,
/// one user per zone, accounts, records in every stage, activities and their lifecycle events.
public enum DemoTenant {
    /// Fixed so that loading is idempotent and the demo can be found without a lookup.
    public static let tenantID = UUID(uuidString: "d3e0c0de-0000-4000-8000-000000000001")!
    public static let slug = "demo"

    public struct Outcome: Sendable {
        public let created: Bool
        public let records: Int
    }

    /// Every demo user signs in with this password. Demo data only: never load it into a
    /// database that real users reach.
    public static let password = "comarca-demo-2026"

    /// The demo users' e-mails, admin first.
    public static var emails: [String] { zones.map(\.user.email) }

    /// Creates the demo tenant unless it already exists (one transaction: all or nothing), then
    /// gives every demo user the demo password.
    public static func load(on connection: PGConnection) throws -> Outcome {
        let outcome = try insertIfMissing(on: connection)
        if outcome.created {
            let auth = AuthService()
            for email in emails { try auth.setPassword(tenantSlug: slug, email: email, password: password, on: connection) }
        }
        return outcome
    }

    static func insertIfMissing(on connection: PGConnection) throws -> Outcome {
        try connection.transaction(settings: AccessScope.operator_(tenantID: tenantID).settings) { tx in
            let existing = try tx.query("SELECT count(*) FROM records WHERE tenant_id = \(tenantID)").scalar(Int.self)
            if try tx.query("SELECT count(*) FROM tenants WHERE tenant_id = \(tenantID)").scalar(Int.self) > 0 {
                return Outcome(created: false, records: existing)
            }
            try insert(on: tx)
            let records = try tx.query("SELECT count(*) FROM records WHERE tenant_id = \(tenantID)").scalar(Int.self)
            return Outcome(created: true, records: records)
        }
    }

    struct Zone {
        let code: String
        let name: String
        let parent: String?
        let user: (email: String, name: String, role: String)
    }

    static let zones: [Zone] = [
        Zone(code: "HQ", name: "Oficina central (Madrid)", parent: nil, user: ("admin@demo.comarca.test", "Lucía Fernández", "admin")),
        Zone(code: "NORTE", name: "Región Norte", parent: "HQ", user: ("norte@demo.comarca.test", "Iñaki Etxeberria", "manager")),
        Zone(code: "SUR", name: "Región Sur", parent: "HQ", user: ("sur@demo.comarca.test", "Rocío Gallardo", "manager")),
        Zone(code: "N-BIO", name: "Bilbao", parent: "NORTE", user: ("bilbao@demo.comarca.test", "Aitor Zubizarreta", "rep")),
        Zone(code: "N-SDR", name: "Santander", parent: "NORTE", user: ("santander@demo.comarca.test", "Marta Ruiz", "rep")),
        Zone(code: "S-SVQ", name: "Sevilla", parent: "SUR", user: ("sevilla@demo.comarca.test", "José Antonio Núñez", "rep")),
        Zone(code: "S-AGP", name: "Málaga", parent: "SUR", user: ("malaga@demo.comarca.test", "Carmen Muñoz", "rep")),
    ]

    private static func insert(on tx: PGConnection) throws {
        try tx.execute("INSERT INTO tenants (tenant_id, slug, name) VALUES (\(tenantID), \(slug), \("Distribuciones Demo, S.L."))")

        var roleIDs: [String: UUID] = [:]
        for role in BuiltinRoles.all {
            roleIDs[role.key] = try tx.query("""
                INSERT INTO roles (tenant_id, key, name, builtin, scope, permissions)
                VALUES (\(tenantID), \(role.key), \(role.name), true, \(role.scope.rawValue), \(PGJSON(text: role.permissionsJSON)))
                RETURNING role_id
                """).scalar(UUID.self)
        }

        var zoneIDs: [String: UUID] = [:]
        for zone in zones {
            let parent = zone.parent.flatMap { zoneIDs[$0] }
            let zoneID = try tx.query("""
                INSERT INTO zones (tenant_id, parent_zone_id, code, name)
                VALUES (\(tenantID), \(parent), \(zone.code), \(zone.name)) RETURNING zone_id
                """).scalar(UUID.self)
            zoneIDs[zone.code] = zoneID
            try tx.execute("""
                INSERT INTO users (tenant_id, email, display_name, role_id, zone_id)
                VALUES (\(tenantID), \(zone.user.email), \(zone.user.name), \(roleIDs[zone.user.role]!), \(zoneID))
                """)
        }

        // Records, accounts, activities and events for the four rep zones, built set-based.
        let repZones = ["N-BIO", "N-SDR", "S-SVQ", "S-AGP"].map { zoneIDs[$0]! }
        try tx.execute("""
            WITH zone_list AS (
                SELECT z.zone_id, z.ord, u.user_id
                  FROM unnest(\(repZones)::uuid[]) WITH ORDINALITY AS z(zone_id, ord)
                  JOIN users u ON u.tenant_id = \(tenantID) AND u.zone_id = z.zone_id
            )
            INSERT INTO accounts (tenant_id, zone_id, name, tax_id, sector, size, province)
            SELECT \(tenantID), zl.zone_id,
                   (ARRAY['Talleres','Conservas','Bodegas','Transportes','Suministros'])[n] || ' ' ||
                   (ARRAY['Ibarra','Cantábrico','del Sur','Costa','Guadalquivir'])[1 + (n + zl.ord::int) % 5] || ', S.L.',
                   NULL,
                   (ARRAY['industria','alimentación','vinos','logística','distribución'])[n],
                   (ARRAY['pequeña','mediana','grande'])[1 + n % 3],
                   (ARRAY['Bizkaia','Cantabria','Sevilla','Málaga'])[zl.ord]
              FROM zone_list zl CROSS JOIN generate_series(1, 5) AS n
            """)
        try tx.execute("""
            WITH zone_list AS (
                SELECT z.zone_id, z.ord, u.user_id
                  FROM unnest(\(repZones)::uuid[]) WITH ORDINALITY AS z(zone_id, ord)
                  JOIN users u ON u.tenant_id = \(tenantID) AND u.zone_id = z.zone_id
            ), people AS (
                SELECT zl.zone_id, zl.user_id, n,
                       (ARRAY['Ana','Javier','María','Pablo','Elena','Sergio','Nuria','Álvaro','Begoña','Íñigo'])[1 + (n + zl.ord::int) % 10] AS first_name,
                       (ARRAY['García','Martínez','López','Sánchez','Pérez','Gómez','Martín','Jiménez','Ruiz','Hernández'])[1 + (n * 3 + zl.ord::int) % 10] AS last_name,
                       (ARRAY['target','target','target','potential','potential','contact','disqualified'])[1 + n % 7] AS stage,
                       (ARRAY['web','event','outbound','referral','mailing','ads','ecommerce'])[1 + n % 7] AS source,
                       (SELECT a.account_id FROM accounts a
                         WHERE a.tenant_id = \(tenantID) AND a.zone_id = zl.zone_id
                         ORDER BY a.name OFFSET n % 5 LIMIT 1) AS account_id
                  FROM zone_list zl CROSS JOIN generate_series(1, 15) AS n
            )
            INSERT INTO records (tenant_id, zone_id, owner_user_id, account_id, stage, disqualified_reason,
                                 first_name, last_name, company_name, email, phone, display_name, source)
            SELECT \(tenantID), p.zone_id, p.user_id,
                   CASE WHEN p.stage = 'contact' THEN p.account_id END,
                   p.stage,
                   CASE WHEN p.stage = 'disqualified' THEN 'Particular en un negocio B2B' END,
                   p.first_name, p.last_name,
                   (SELECT a.name FROM accounts a WHERE a.tenant_id = \(tenantID) AND a.account_id = p.account_id),
                   lower(translate(p.first_name || '.' || p.last_name, 'áéíóúñÁÉÍÓÚÑ', 'aeiounAEIOUN')) || p.n || '@example.es',
                   '+346' || lpad((10000000 + p.n * 7919 + abs(hashtext(p.zone_id::text)) % 1000000)::text, 8, '0'),
                   p.first_name || ' ' || p.last_name,
                   p.source
              FROM people p
            """)
        // Every record's history starts at target; later stages got there through potential.
        try tx.execute("""
            INSERT INTO record_events (tenant_id, record_id, zone_id, kind, from_stage, to_stage, reason, occurred_at)
            SELECT r.tenant_id, r.record_id, r.zone_id, 'stage', step.from_stage, step.to_stage, step.reason,
                   now() - make_interval(days => 30 - step.ord * 7)
              FROM records r
              CROSS JOIN LATERAL (VALUES
                    (1, NULL::text, 'target'::text, 'created'::text),
                    (2, 'target', 'potential', NULL),
                    (3, 'potential', 'contact', NULL),
                    (2, 'target', 'disqualified', 'Particular en un negocio B2B')
              ) AS step(ord, from_stage, to_stage, reason)
             WHERE r.tenant_id = \(tenantID)
               AND (step.to_stage = 'target'
                    OR (step.to_stage = 'potential' AND r.stage IN ('potential', 'contact'))
                    OR (step.to_stage = 'contact' AND r.stage = 'contact')
                    OR (step.to_stage = 'disqualified' AND r.stage = 'disqualified'))
            """)
        try tx.execute("""
            INSERT INTO activities (tenant_id, zone_id, kind, subject, record_id, owner_user_id, due_at, done_at, outcome)
            SELECT r.tenant_id, r.zone_id,
                   (ARRAY['call','meeting','email','task'])[1 + (row_number() OVER ())::int % 4],
                   'Seguimiento con ' || r.display_name,
                   r.record_id, r.owner_user_id,
                   now() + make_interval(days => ((row_number() OVER ())::int % 9) - 4),
                   CASE WHEN (row_number() OVER ())::int % 3 = 0 THEN now() - interval '1 day' END,
                   CASE WHEN (row_number() OVER ())::int % 3 = 0 THEN 'Interesado, pide presupuesto' END
              FROM records r
             WHERE r.tenant_id = \(tenantID) AND r.stage IN ('potential', 'contact')
            """)
    }
}
