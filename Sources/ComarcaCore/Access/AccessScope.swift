public import Foundation
public import PGClient

/// Who is asking, as PostgreSQL's policies see it. Turned into transaction-local settings at the
/// start of every transaction; with none set, the policies show nothing (fail closed).
public struct AccessScope: Sendable, Hashable {
    public enum Visibility: Sendable, Hashable {
        /// Every zone of the tenant (admins, the operator's CLI).
        case wholeTenant
        /// Only these zones (a rep's own zone, a manager's subtree).
        case zones([UUID])
    }

    public let tenantID: UUID
    public let actorID: UUID?
    public let visibility: Visibility

    public init(tenantID: UUID, actorID: UUID?, visibility: Visibility) {
        self.tenantID = tenantID
        self.actorID = actorID
        self.visibility = visibility
    }

    /// The operator working on one tenant from the admin CLI.
    public static func operator_(tenantID: UUID) -> AccessScope {
        AccessScope(tenantID: tenantID, actorID: nil, visibility: .wholeTenant)
    }

    public static let tenantSetting = "comarca.tenant_id"
    public static let actorSetting = "comarca.user_id"
    public static let scopeSetting = "comarca.scope"
    public static let zonesSetting = "comarca.zone_ids"

    /// The `SET LOCAL` values the policies in `sql/` read.
    public var settings: [PGSetting] {
        let zones: String
        let scope: String
        switch visibility {
        case .wholeTenant:
            scope = "tenant"
            zones = "{}"
        case .zones(let ids):
            scope = "zones"
            zones = "{" + ids.map { $0.uuidString.lowercased() }.joined(separator: ",") + "}"
        }
        // The names are constants that satisfy PGSetting's check, so `try!` cannot fail.
        return [
            try! PGSetting(Self.tenantSetting, tenantID.uuidString.lowercased()),
            try! PGSetting(Self.actorSetting, actorID?.uuidString.lowercased() ?? ""),
            try! PGSetting(Self.scopeSetting, scope),
            try! PGSetting(Self.zonesSetting, zones),
        ]
    }
}
