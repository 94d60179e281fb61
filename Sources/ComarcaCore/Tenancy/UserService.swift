public import Foundation
public import PGClient

/// Changes to a user's place in the zone tree.
///
/// Permission: `users: edit`, with tenant-wide visibility (the `users` write policy requires it).
/// The CLI uses the operator entry point (no `Session`, owner connection); HTTP uses the
/// `Session` one, which checks the role first.
public enum UserService {
    public struct MoveOutcome: Sendable, Hashable {
        public let email: String
        /// The zone the user left; nil when the user was deactivated (and is now active again).
        public let from: String?
        public let to: String
        public let changed: Bool

        public var line: String {
            guard changed else { return "= user \(email) is already in zone \(to); nothing changed" }
            return from.map { "~ user \(email): zone \($0) → \(to)" } ?? "~ user \(email): reactivated in zone \(to)"
        }
    }

    /// Operator entry point: moves the user with `email` to `zoneCode`, which must be free.
    /// A deactivated user moved to a free zone is active again.
    public static func move(tenantID: UUID, email: String, toZone zoneCode: String, on connection: PGConnection) throws -> MoveOutcome {
        try move(scope: .operator_(tenantID: tenantID), email: email, toZone: zoneCode, on: connection)
    }

    /// Session entry point (HTTP): requires `users: edit`.
    public static func move(session: Session, email: String, toZone zoneCode: String, on connection: PGConnection) throws -> MoveOutcome {
        try session.require(.edit, on: .users)
        return try move(scope: session.accessScope, email: email, toZone: zoneCode, on: connection)
    }

    static func move(scope: AccessScope, email rawEmail: String, toZone zoneCode: String, on connection: PGConnection) throws -> MoveOutcome {
        let email = TenantSpec.normalizeEmail(rawEmail)
        let tenantID = scope.tenantID
        return try connection.transaction(settings: scope.settings) { tx in
            try ZoneService.lockSetup(tenantID: tenantID, on: tx)
            let zoneID = try SetupLookup.zoneID(zoneCode, tenantID: tenantID, on: tx)
            let user = try SetupLookup.user(email, tenantID: tenantID, on: tx)
            if user.zoneCode == zoneCode {
                return MoveOutcome(email: user.email, from: zoneCode, to: zoneCode, changed: false)
            }
            if let holder = try SetupLookup.holder(of: zoneID, tenantID: tenantID, on: tx) {
                throw CoreError(.conflict, "zone \(zoneCode) is taken by \(holder.email); hand it over with `comarca zone handover` or move that user first")
            }
            try tx.execute("""
                UPDATE users SET zone_id = \(zoneID), deactivated_at = NULL
                 WHERE tenant_id = \(tenantID) AND user_id = \(user.id)
                """)
            return MoveOutcome(email: user.email, from: user.zoneCode, to: zoneCode, changed: true)
        }
    }
}
