public import Foundation

/// What a role may do to an entity. Checked in ComarcaCore for every path (HTTP, CLI, import);
/// PostgreSQL's policies decide which rows exist for the caller.
public enum Action: String, Sendable, Hashable, CaseIterable, Codable, Comparable {
    case list, view, create, edit, delete, `import`, export, convert, reassign

    public static func < (a: Action, b: Action) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// The things permissions are granted on.
public enum Entity: String, Sendable, Hashable, CaseIterable, Codable, Comparable {
    case records, accounts, activities, opportunities, quotes, campaigns, reports
    case users, zones, roles, settings, imports, tokens

    public static func < (a: Entity, b: Entity) -> Bool { a.rawValue < b.rawValue }

    /// Entities the API serves today. Roles may already grant rights on the others (the sales
    /// features to come), but what a caller is told they may do lists only what they can use.
    public var isServed: Bool {
        switch self {
        case .quotes, .campaigns, .reports: return false
        default: return true
        }
    }

    /// Entities whose rows belong to a zone; the rest are tenant configuration.
    public var isZoneScoped: Bool {
        switch self {
        case .records, .accounts, .activities, .opportunities, .quotes: return true
        default: return false
        }
    }
}

/// How far a role sees along the zone tree.
public enum RoleScope: String, Sendable, Hashable, Codable, CaseIterable {
    /// The user's own zone.
    case ownZone = "own_zone"
    /// The user's zone and every zone below it.
    case zoneSubtree = "zone_subtree"
    /// Every zone of the tenant.
    case tenant
}

/// A named set of permissions and a scope. Stored per tenant in `roles`.
public struct RoleDefinition: Sendable, Hashable, Codable {
    public var key: String
    public var name: String
    public var scope: RoleScope
    public var permissions: [Entity: Set<Action>]
    public var builtin: Bool

    public init(key: String, name: String, scope: RoleScope, permissions: [Entity: Set<Action>], builtin: Bool = false) {
        self.key = key
        self.name = name
        self.scope = scope
        self.permissions = permissions
        self.builtin = builtin
    }

    public func allows(_ action: Action, on entity: Entity) -> Bool {
        permissions[entity]?.contains(action) ?? false
    }

    /// The JSON stored in `roles.permissions`: `{"records": ["list", "view"], ...}`, sorted so
    /// that equal roles store equal text.
    public var permissionsJSON: String {
        let entries = permissions.keys.sorted().compactMap { entity -> String? in
            guard let actions = permissions[entity], !actions.isEmpty else { return nil }
            return "\"\(entity.rawValue)\": [" + actions.sorted().map { "\"\($0.rawValue)\"" }.joined(separator: ", ") + "]"
        }
        return "{" + entries.joined(separator: ", ") + "}"
    }

    /// Reads `roles.permissions`; unknown entities or actions are errors, not silently dropped.
    public static func permissions(fromJSON text: String) throws -> [Entity: Set<Action>] {
        guard let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: [String]] else {
            throw CoreError(.invalidInput, "role permissions must be an object of entity to list of actions")
        }
        var result: [Entity: Set<Action>] = [:]
        for (entityName, actionNames) in object {
            guard let entity = Entity(rawValue: entityName) else {
                throw CoreError(.invalidInput, "unknown entity \(entityName) in role permissions")
            }
            result[entity] = try Set(actionNames.map { name in
                guard let action = Action(rawValue: name) else {
                    throw CoreError(.invalidInput, "unknown action \(name) for \(entityName)")
                }
                return action
            })
        }
        return result
    }
}

/// The roles every tenant has. Tenants may add their own; these cannot be removed.
public enum BuiltinRoles {
    static let businessEntities: [Entity] = [.records, .accounts, .activities, .opportunities, .quotes, .campaigns, .reports]

    public static let admin = RoleDefinition(
        key: "admin", name: "Administrator", scope: .tenant,
        permissions: Dictionary(uniqueKeysWithValues: Entity.allCases.map { ($0, Set(Action.allCases)) }),
        builtin: true)

    public static let manager = RoleDefinition(
        key: "manager", name: "Manager", scope: .zoneSubtree,
        permissions: Dictionary(uniqueKeysWithValues: businessEntities.map {
            ($0, Set<Action>([.list, .view, .create, .edit, .delete, .export, .convert, .reassign]))
        }).merging([.users: [.list, .view], .zones: [.list, .view], .roles: [.list, .view]]) { $1 },
        builtin: true)

    public static let rep = RoleDefinition(
        key: "rep", name: "Sales rep", scope: .ownZone,
        permissions: Dictionary(uniqueKeysWithValues: businessEntities.filter { $0 != .reports }.map {
            ($0, Set<Action>([.list, .view, .create, .edit, .convert]))
        }).merging([.users: [.list, .view], .zones: [.list, .view]]) { $1 },
        builtin: true)

    public static let viewer = RoleDefinition(
        key: "viewer", name: "Viewer", scope: .zoneSubtree,
        permissions: Dictionary(uniqueKeysWithValues: businessEntities.map { ($0, Set<Action>([.list, .view])) })
            .merging([.users: [.list, .view], .zones: [.list, .view]]) { $1 },
        builtin: true)

    public static let all: [RoleDefinition] = [admin, manager, rep, viewer]
}

/// Who is asking, resolved once per request from a token (HTTP) or named by the operator (CLI).
public struct Session: Sendable {
    public let tenantID: UUID
    public let tenantSlug: String
    public let userID: UUID
    public let zoneID: UUID
    public let role: RoleDefinition
    /// The zones this session sees; nil means the whole tenant.
    public let visibleZoneIDs: [UUID]?
    /// The token that authenticated the request, if any (so logout can revoke it).
    public let tokenID: UUID?

    public init(tenantID: UUID, tenantSlug: String, userID: UUID, zoneID: UUID, role: RoleDefinition, visibleZoneIDs: [UUID]?, tokenID: UUID?) {
        self.tenantID = tenantID
        self.tenantSlug = tenantSlug
        self.userID = userID
        self.zoneID = zoneID
        self.role = role
        self.visibleZoneIDs = visibleZoneIDs
        self.tokenID = tokenID
    }

    /// The settings PostgreSQL's policies read for this session.
    public var accessScope: AccessScope {
        AccessScope(tenantID: tenantID, actorID: userID, visibility: visibleZoneIDs.map { .zones($0) } ?? .wholeTenant)
    }

    /// Throws `forbidden` unless the role allows `action` on `entity`.
    public func require(_ action: Action, on entity: Entity) throws {
        guard role.allows(action, on: entity) else {
            throw CoreError(.forbidden, "your role (\(role.key)) may not \(action.rawValue) \(entity.rawValue)")
        }
    }
}
