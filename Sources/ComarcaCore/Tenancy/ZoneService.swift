public import Foundation
public import PGClient

/// Changes to who holds a zone. Zones and users are 1:1, and records belong to zones, so records
/// stay where they are whoever holds the zone.
///
/// Permission: `zones: edit`, with tenant-wide visibility (the `zones` and `users` write policies
/// require it). The CLI uses the operator entry point (no `Session`, owner connection); HTTP uses
/// the `Session` one, which checks the role first.
public enum ZoneService {
    public struct HandoverOutcome: Sendable, Hashable {
        public let zone: String
        public let newRep: String
        /// The rep the zone had, if any.
        public let previousRep: String?
        /// Where the previous rep went; nil when deactivated (or when there was none).
        public let previousRepMovedTo: String?
        /// The zone the new rep left, now free (nil when the new rep had none).
        public let freedZone: String?
        /// False when the new rep already held the zone.
        public let changed: Bool

        public var lines: [String] {
            guard changed else { return ["= zone \(zone): \(newRep) is already its rep; nothing changed"] }
            var lines = ["~ zone \(zone): rep \(previousRep ?? "(none)") → \(newRep)"]
            if let previousRep {
                lines.append(previousRepMovedTo.map { "~ user \(previousRep): zone \(zone) → \($0)" } ?? "- user \(previousRep) deactivated")
            }
            if let freedZone, freedZone != previousRepMovedTo { lines.append("~ zone \(freedZone) is now free") }
            return lines
        }
    }

    /// Operator entry point: gives `zoneCode` to the user with `email`. The previous rep is
    /// deactivated, or moved to `moveTo` (a zone that is free once the new rep has left theirs).
    public static func handover(
        tenantID: UUID, zone zoneCode: String, to email: String, moveTo: String? = nil, on connection: PGConnection
    ) throws -> HandoverOutcome {
        try handover(scope: .operator_(tenantID: tenantID), zone: zoneCode, to: email, moveTo: moveTo, on: connection)
    }

    /// Session entry point (HTTP): requires `zones: edit`.
    public static func handover(
        session: Session, zone zoneCode: String, to email: String, moveTo: String? = nil, on connection: PGConnection
    ) throws -> HandoverOutcome {
        try session.require(.edit, on: .zones)
        return try handover(scope: session.accessScope, zone: zoneCode, to: email, moveTo: moveTo, on: connection)
    }

    static func handover(
        scope: AccessScope, zone zoneCode: String, to rawEmail: String, moveTo: String?, on connection: PGConnection
    ) throws -> HandoverOutcome {
        let email = TenantSpec.normalizeEmail(rawEmail)
        let tenantID = scope.tenantID
        if moveTo == zoneCode {
            throw CoreError(.invalidInput, "the previous rep cannot be moved to the zone being handed over (\(zoneCode))")
        }
        return try connection.transaction(settings: scope.settings) { tx in
            try lockSetup(tenantID: tenantID, on: tx)
            try tx.execute("SET CONSTRAINTS users_zone_key DEFERRED")
            let zoneID = try SetupLookup.zoneID(zoneCode, tenantID: tenantID, on: tx)
            let newRep = try SetupLookup.user(email, tenantID: tenantID, on: tx)
            let previous = try tx.query("""
                SELECT user_id, email FROM users WHERE tenant_id = \(tenantID) AND zone_id = \(zoneID)
                """).decode((UUID, String).self).first
            if previous?.0 == newRep.id {
                return HandoverOutcome(zone: zoneCode, newRep: email, previousRep: email, previousRepMovedTo: nil, freedZone: nil, changed: false)
            }
            if let previous {
                if let moveTo {
                    let targetID = try SetupLookup.zoneID(moveTo, tenantID: tenantID, on: tx)
                    let holder = try SetupLookup.holder(of: targetID, tenantID: tenantID, on: tx)
                    // Free, or freed by the new rep leaving it for this zone.
                    if let holder, holder.id != newRep.id {
                        throw CoreError(.conflict, "zone \(moveTo) is taken by \(holder.email); a zone has one user")
                    }
                    try tx.execute("UPDATE users SET zone_id = \(targetID) WHERE tenant_id = \(tenantID) AND user_id = \(previous.0)")
                } else {
                    try tx.execute("""
                        UPDATE users SET zone_id = NULL, deactivated_at = now()
                         WHERE tenant_id = \(tenantID) AND user_id = \(previous.0)
                        """)
                }
            } else if moveTo != nil {
                throw CoreError(.invalidInput, "zone \(zoneCode) has no rep to move to \(moveTo!)")
            }
            try tx.execute("""
                UPDATE users SET zone_id = \(zoneID), deactivated_at = NULL
                 WHERE tenant_id = \(tenantID) AND user_id = \(newRep.id)
                """)
            try tx.execute("SET CONSTRAINTS users_zone_key IMMEDIATE")
            return HandoverOutcome(
                zone: zoneCode, newRep: email, previousRep: previous?.1,
                previousRepMovedTo: previous == nil ? nil : moveTo, freedZone: newRep.zoneCode, changed: true)
        }
    }

    /// Serializes set-up changes of one tenant (apply, handover, move).
    static func lockSetup(tenantID: UUID, on tx: PGConnection) throws {
        try tx.execute("SELECT pg_advisory_xact_lock(hashtext('comarca.tenant_setup'), hashtext(\(tenantID.uuidString.lowercased())))")
    }
}

/// Look-ups by code and e-mail shared by the set-up services; run inside their transaction.
enum SetupLookup {
    struct UserRow {
        let id: UUID
        let email: String
        let zoneCode: String?
    }

    static func zoneID(_ code: String, tenantID: UUID, on tx: PGConnection) throws -> UUID {
        guard let id = try tx.query("SELECT zone_id FROM zones WHERE tenant_id = \(tenantID) AND code = \(code)").decode((UUID).self).first else {
            throw CoreError(.notFound, "no zone with code '\(code)'")
        }
        return id
    }

    static func user(_ email: String, tenantID: UUID, on tx: PGConnection) throws -> UserRow {
        let rows = try tx.query("""
            SELECT u.user_id, u.email, z.code
              FROM users u
              LEFT JOIN zones z ON z.tenant_id = u.tenant_id AND z.zone_id = u.zone_id
             WHERE u.tenant_id = \(tenantID) AND lower(u.email) = lower(\(email))
             FOR UPDATE OF u
            """).decode((UUID, String, String?).self)
        guard let row = rows.first else { throw CoreError(.notFound, "no user with e-mail \(email)") }
        return UserRow(id: row.0, email: row.1, zoneCode: row.2)
    }

    static func holder(of zoneID: UUID, tenantID: UUID, on tx: PGConnection) throws -> UserRow? {
        try tx.query("""
            SELECT u.user_id, u.email FROM users u WHERE u.tenant_id = \(tenantID) AND u.zone_id = \(zoneID)
            """).decode((UUID, String).self).first.map { UserRow(id: $0.0, email: $0.1, zoneCode: nil) }
    }
}
