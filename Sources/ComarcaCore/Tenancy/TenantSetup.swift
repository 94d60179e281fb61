public import Foundation
public import PGClient

/// Tenant set-up as configuration-as-code, for the consultancy operator: create a tenant, plan
/// and apply a tenant file, export the stored set-up as the same file.
///
/// Operator work: connect as the owner role (DATABASE_URL). Tenants are found through the owner's
/// read-only directory policy on `tenants`; everything else runs under
/// `AccessScope.operator_(tenantID:)` settings, so row-level security still applies.
public enum TenantSetup {
    public struct TenantSummary: Sendable, Hashable {
        public let id: UUID
        public let slug: String
        public let name: String
        public let status: String
        public let createdAt: Date
    }

    // MARK: - Directory

    /// The tenant with this slug (active or suspended), or nil. Needs the owner role.
    public static func tenantID(forSlug slug: String, on connection: PGConnection) throws -> UUID? {
        try connection.query("SELECT tenant_id FROM tenants WHERE slug = \(slug)").decode((UUID).self).first
    }

    static func requireTenantID(_ slug: String, on connection: PGConnection) throws -> UUID {
        guard let id = try tenantID(forSlug: slug, on: connection) else {
            throw CoreError(.notFound, "no tenant with slug '\(slug)'")
        }
        return id
    }

    /// Every tenant, by slug. Needs the owner role.
    public static func list(on connection: PGConnection) throws -> [TenantSummary] {
        try connection.query("SELECT tenant_id, slug, name, status, created_at FROM tenants ORDER BY slug")
            .decode((UUID, String, String, String, Date).self)
            .map { TenantSummary(id: $0.0, slug: $0.1, name: $0.2, status: $0.3, createdAt: $0.4) }
    }

    // MARK: - Create

    /// Creates a tenant and its built-in roles. `conflict` when the slug is taken.
    @discardableResult
    public static func create(slug: String, name: String, on connection: PGConnection) throws -> UUID {
        guard TenantSpec.isValidSlug(slug) else {
            throw CoreError(.invalidInput, "slug '\(slug)' must be 2-63 lower-case letters, digits or '-', starting with a letter or digit")
        }
        guard !name.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw CoreError(.invalidInput, "the tenant name must not be blank")
        }
        if try tenantID(forSlug: slug, on: connection) != nil {
            throw CoreError(.conflict, "a tenant with slug '\(slug)' already exists")
        }
        let tenantID = UUID()
        do {
            try connection.transaction(settings: AccessScope.operator_(tenantID: tenantID).settings) { tx in
                try tx.execute("INSERT INTO tenants (tenant_id, slug, name) VALUES (\(tenantID), \(slug), \(name))")
                for role in BuiltinRoles.all { try insertRole(role, tenantID: tenantID, on: tx) }
            }
        } catch let error as PGError where error.code == .uniqueViolation {
            throw CoreError(.conflict, "a tenant with slug '\(slug)' already exists")
        }
        return tenantID
    }

    // MARK: - Plan and apply

    /// What applying `spec` would change. Reads only (its own transaction, rolled back).
    public static func plan(_ spec: TenantSpec, on connection: PGConnection) throws -> TenantPlan {
        let tenantID = try tenantID(forSlug: spec.slug, on: connection)
        return try connection.transaction(settings: AccessScope.operator_(tenantID: tenantID ?? UUID()).settings) { tx in
            try tx.execute("SET TRANSACTION READ ONLY")
            let state = try tenantID.map { try TenantState.read(tenantID: $0, on: tx) } ?? .empty()
            return try makePlan(spec, state: state, on: tx)
        }
    }

    /// Applies `spec` in one transaction and returns the plan it carried out (empty when nothing
    /// changed). Nothing is written when the plan has errors: those throw `conflict`.
    @discardableResult
    public static func apply(_ spec: TenantSpec, on connection: PGConnection) throws -> TenantPlan {
        let existingID = try tenantID(forSlug: spec.slug, on: connection)
        let tenantID = existingID ?? UUID()
        do {
            return try connection.transaction(settings: AccessScope.operator_(tenantID: tenantID).settings) { tx in
                // One set-up change per tenant at a time; the plan is made after the lock.
                try tx.execute("SELECT pg_advisory_xact_lock(hashtext('comarca.tenant_setup'), hashtext(\(tenantID.uuidString.lowercased())))")
                let state = try existingID.map { try TenantState.read(tenantID: $0, on: tx) } ?? .empty()
                let plan = try makePlan(spec, state: state, on: tx)
                guard plan.errors.isEmpty else {
                    throw CoreError(.conflict, "\(spec.slug): the set-up cannot be applied, nothing was written:\n" + plan.errors.joined(separator: "\n"))
                }
                try execute(plan, assignment: spec.assignment, tenantID: tenantID, state: state, on: tx)
                if let fields = spec.fields { try FieldSpecs.apply(fields, tenantID: tenantID, on: tx) }
                return plan
            }
        } catch let error as PGError where error.code == .uniqueViolation && existingID == nil {
            throw CoreError(.conflict, "a tenant with slug '\(spec.slug)' was created meanwhile; apply again")
        }
    }

    static func makePlan(_ spec: TenantSpec, state: TenantState, on tx: PGConnection) throws -> TenantPlan {
        var plan = TenantPlan(slug: spec.slug)
        var changes: [TenantPlan.Change] = []

        // Tenant.
        if state.tenantID == nil {
            changes.append(.createTenant(slug: spec.slug, name: spec.name))
        } else if let name = state.name, name != spec.name {
            changes.append(.renameTenant(from: name, to: spec.name))
        }

        // Roles: built-ins ensured, tenant-defined ones created, updated or removed.
        let storedRoles = state.rolesByKey
        for role in BuiltinRoles.all where storedRoles[role.key] == nil {
            changes.append(.createRole(role))
        }
        let fileRoleKeys = Set(spec.roles.map(\.key))
        for role in spec.roles.sorted(by: { $0.key < $1.key }) {
            guard let stored = storedRoles[role.key] else {
                changes.append(.createRole(role.definition))
                continue
            }
            if stored.builtin {
                plan.errors.append("role \(role.key) is a built-in role of this tenant and cannot be redefined")
                continue
            }
            var fields: [String] = []
            if stored.name != role.name { fields.append("name \"\(stored.name)\" → \"\(role.name)\"") }
            if stored.scope != role.scope.rawValue { fields.append("scope \(stored.scope) → \(role.scope.rawValue)") }
            let storedPermissions = try? RoleDefinition.permissions(fromJSON: stored.permissionsJSON).filter { !$0.value.isEmpty }
            if storedPermissions != role.permissions { fields.append("permissions") }
            if !fields.isEmpty { changes.append(.updateRole(role.definition, fields: fields)) }
        }
        let builtinKeys = Set(BuiltinRoles.all.map(\.key))
        let absentRoles = state.roles.filter { !$0.builtin && !builtinKeys.contains($0.key) && !fileRoleKeys.contains($0.key) }
        var rolesToRemove: [String] = []
        if let tenantID = state.tenantID {
            // Users in the file get a role from the file, so only users missing from it (deactivated
            // now or before) can still hold an absent role after this apply.
            let fileEmails = Set(spec.users.map(\.email))
            let holders = try TenantState.roleHolders(tenantID: tenantID, roleIDs: absentRoles.map(\.id), on: tx)
            for role in absentRoles {
                let count = (holders[role.id] ?? []).filter { !fileEmails.contains($0) }.count
                if count > 0 {
                    plan.notes.append("role \(role.key) is not in the file but is kept: \(count) deactivated user\(count == 1 ? "" : "s") still hold\(count == 1 ? "s" : "") it")
                } else {
                    rolesToRemove.append(role.key)
                }
            }
        }

        // Zones, parents before children: create, move, rename.
        let storedZones = state.zonesByCode
        let flat = spec.flattenedZones
        for (zone, parent) in flat {
            guard let stored = storedZones[zone.code] else {
                changes.append(.createZone(code: zone.code, name: zone.name, parent: parent))
                continue
            }
            let storedParent = state.parentCode(of: stored)
            if storedParent != parent { changes.append(.moveZone(code: zone.code, from: storedParent, to: parent)) }
            if stored.name != zone.name { changes.append(.renameZone(code: zone.code, from: stored.name, to: zone.name)) }
        }

        // Users: deactivate those missing from the file, then update, then create.
        let fileUsers = Dictionary(spec.users.map { ($0.email, $0) }, uniquingKeysWith: { a, _ in a })
        for user in state.users where user.active && fileUsers[user.email] == nil {
            changes.append(.deactivateUser(email: user.email, zone: user.zoneCode))
        }
        let storedUsers = Dictionary(state.users.map { ($0.email, $0) }, uniquingKeysWith: { a, _ in a })
        for user in spec.users {
            guard let stored = storedUsers[user.email] else {
                changes.append(.createUser(user))
                continue
            }
            if stored.name != user.name { changes.append(.renameUser(email: user.email, from: stored.name, to: user.name)) }
            if stored.roleKey != user.role { changes.append(.changeUserRole(email: user.email, from: stored.roleKey, to: user.role)) }
            if let zone = stored.zoneCode {
                if zone != user.zone { changes.append(.moveUser(email: user.email, from: zone, to: user.zone)) }
            } else {
                changes.append(.reactivateUser(email: user.email, zone: user.zone))
            }
        }

        // Assignment rules: replaced by the file's when it has the section, else left as they are.
        if let assignment = spec.assignment {
            changes += assignmentChanges(assignment, stored: state.assignmentRules)
        }

        // Zones missing from the file: removed deepest first, unless something still uses them
        // (rules too, when the file leaves the stored rules as they are).
        let fileZoneCodes = Set(flat.map(\.zone.code))
        let absentZones = state.zones.filter { !fileZoneCodes.contains($0.code) }
            .sorted { (state.depth(of: $0), $0.code) > (state.depth(of: $1), $1.code) }
        if let tenantID = state.tenantID, !absentZones.isEmpty {
            var usage = try TenantState.zoneUsage(tenantID: tenantID, zoneIDs: absentZones.map(\.id), on: tx)
            if spec.assignment == nil {
                for (zoneID, rules) in state.assignmentUsage() { usage[zoneID, default: []].append(rules) }
            }
            for zone in absentZones {
                if let uses = usage[zone.id], !uses.isEmpty {
                    plan.errors.append("zone \(zone.code) (\(zone.name)) is not in the file but cannot be removed: still used by \(uses.joined(separator: ", ")); keep it in the file or move them to another zone first")
                } else {
                    changes.append(.removeZone(code: zone.code))
                }
            }
        }
        changes += rolesToRemove.map { .removeRole(key: $0) }

        if let fields = spec.fields {
            let fieldPlan = try FieldSpecs.plan(fields, tenantID: state.tenantID ?? UUID(), on: tx)
            changes += fieldPlan.changes.map { .field($0) }
            plan.errors += fieldPlan.errors
            plan.notes += fieldPlan.notes
        }
        plan.changes = changes
        return plan
    }

    /// The file's rules against the stored ones, by what each matches; the default last.
    static func assignmentChanges(_ assignment: TenantSpec.AssignmentSpec, stored: [TenantState.AssignmentRule]) -> [TenantPlan.Change] {
        let storedZones = Dictionary(stored.map { ($0.match, $0.zoneCode) }, uniquingKeysWith: { a, _ in a })
        let wanted = assignment.matches
        let wantedMatches = Set(wanted.map(\.match))
        var changes: [TenantPlan.Change] = []
        for (match, zone) in wanted {
            if let current = storedZones[match] {
                if current != zone { changes.append(.changeAssignmentRule(match, from: current, to: zone)) }
            } else {
                changes.append(.addAssignmentRule(match, zone: zone))
            }
        }
        for rule in stored.sorted(by: { $0.match < $1.match }) where !wantedMatches.contains(rule.match) {
            changes.append(.removeAssignmentRule(rule.match, zone: rule.zoneCode))
        }
        return changes
    }

    static func execute(_ plan: TenantPlan, assignment: TenantSpec.AssignmentSpec?, tenantID: UUID, state: TenantState, on tx: PGConnection) throws {
        guard !plan.changes.isEmpty else { return }
        // Zone swaps and rep swaps: the one-user-per-zone rule is checked at the end.
        try tx.execute("SET CONSTRAINTS users_zone_key DEFERRED")

        var zoneIDs = state.zonesByCode.mapValues(\.id)
        var roleIDs = state.rolesByKey.mapValues(\.id)
        let userIDs = Dictionary(state.users.map { ($0.email, $0.id) }, uniquingKeysWith: { a, _ in a })

        func zoneID(_ code: String) throws -> UUID {
            guard let id = zoneIDs[code] else { throw CoreError(.invalidInput, "zone \(code) is unknown") }
            return id
        }
        func roleID(_ key: String) throws -> UUID {
            guard let id = roleIDs[key] else { throw CoreError(.invalidInput, "role \(key) is unknown") }
            return id
        }
        func userID(_ email: String) throws -> UUID {
            guard let id = userIDs[email] else { throw CoreError(.invalidInput, "user \(email) is unknown") }
            return id
        }

        // Users changed field by field in the plan are updated in one statement each kind.
        var deactivate: [UUID] = []
        var newUsers: [TenantSpec.UserSpec] = []
        var names: [(UUID, String)] = []
        var roleChanges: [(UUID, String)] = []
        var zoneChanges: [(UUID, String)] = []

        for change in plan.changes {
            switch change {
            case .createTenant(let slug, let name):
                try tx.execute("INSERT INTO tenants (tenant_id, slug, name) VALUES (\(tenantID), \(slug), \(name))")
            case .renameTenant(_, let name):
                try tx.execute("UPDATE tenants SET name = \(name) WHERE tenant_id = \(tenantID)")
            case .createRole(let role):
                roleIDs[role.key] = try insertRole(role, tenantID: tenantID, on: tx)
            case .updateRole(let role, _):
                try tx.execute("""
                    UPDATE roles SET name = \(role.name), scope = \(role.scope.rawValue),
                                     permissions = \(PGJSON(text: role.permissionsJSON))
                     WHERE tenant_id = \(tenantID) AND key = \(role.key) AND NOT builtin
                    """)
            case .createZone(let code, let name, let parent):
                let id = UUID()
                let parentID = try parent.map(zoneID)
                try tx.execute("""
                    INSERT INTO zones (tenant_id, zone_id, parent_zone_id, code, name)
                    VALUES (\(tenantID), \(id), \(parentID), \(code), \(name))
                    """)
                zoneIDs[code] = id
            case .moveZone(let code, _, let parent):
                // One zone per statement, parents first: the cycle trigger sees each earlier move.
                let parentID = try parent.map(zoneID)
                try tx.execute("UPDATE zones SET parent_zone_id = \(parentID) WHERE tenant_id = \(tenantID) AND zone_id = \(try zoneID(code))")
            case .renameZone(let code, _, let name):
                try tx.execute("UPDATE zones SET name = \(name) WHERE tenant_id = \(tenantID) AND zone_id = \(try zoneID(code))")
            case .deactivateUser(let email, _):
                deactivate.append(try userID(email))
            case .createUser(let user):
                newUsers.append(user)
            case .renameUser(let email, _, let name):
                names.append((try userID(email), name))
            case .changeUserRole(let email, _, let role):
                roleChanges.append((try userID(email), role))
            case .moveUser(let email, _, let zone), .reactivateUser(let email, let zone):
                zoneChanges.append((try userID(email), zone))
            case .removeZone, .removeRole:
                break  // after the users let go of them
            case .field:
                break  // FieldSpecs.apply, after this
            case .addAssignmentRule, .changeAssignmentRule, .removeAssignmentRule:
                break  // all at once, below
            }
        }

        if !deactivate.isEmpty {
            try tx.execute("""
                UPDATE users SET zone_id = NULL, deactivated_at = now()
                 WHERE tenant_id = \(tenantID) AND user_id = ANY(\(deactivate))
                """)
        }
        if !names.isEmpty {
            try tx.execute("""
                UPDATE users u SET display_name = c.name
                  FROM unnest(\(names.map(\.0)), \(names.map(\.1))) AS c(user_id, name)
                 WHERE u.tenant_id = \(tenantID) AND u.user_id = c.user_id
                """)
        }
        if !roleChanges.isEmpty {
            try tx.execute("""
                UPDATE users u SET role_id = c.role_id
                  FROM unnest(\(roleChanges.map(\.0)), \(try roleChanges.map { try roleID($0.1) })) AS c(user_id, role_id)
                 WHERE u.tenant_id = \(tenantID) AND u.user_id = c.user_id
                """)
        }
        if !zoneChanges.isEmpty {
            try tx.execute("""
                UPDATE users u SET zone_id = c.zone_id, deactivated_at = NULL
                  FROM unnest(\(zoneChanges.map(\.0)), \(try zoneChanges.map { try zoneID($0.1) })) AS c(user_id, zone_id)
                 WHERE u.tenant_id = \(tenantID) AND u.user_id = c.user_id
                """)
        }
        if !newUsers.isEmpty {
            try tx.execute("""
                INSERT INTO users (tenant_id, email, display_name, role_id, zone_id)
                SELECT \(tenantID), n.email, n.name, n.role_id, n.zone_id
                  FROM unnest(\(newUsers.map(\.email)), \(newUsers.map(\.name)),
                              \(try newUsers.map { try roleID($0.role) }), \(try newUsers.map { try zoneID($0.zone) }))
                       AS n(email, name, role_id, zone_id)
                """)
        }

        // The rules are rewritten as the file has them, after new zones exist and before absent
        // ones are removed (the rules' zone FK). Positions follow the canonical order.
        let assignmentChanged = plan.changes.contains {
            switch $0 {
            case .addAssignmentRule, .changeAssignmentRule, .removeAssignmentRule: true
            default: false
            }
        }
        if let assignment, assignmentChanged {
            let rules = assignment.matches
            try tx.execute("DELETE FROM zone_assignment_rules WHERE tenant_id = \(tenantID)")
            if !rules.isEmpty {
                try tx.execute("""
                    INSERT INTO zone_assignment_rules (tenant_id, kind, value, zone_id, position)
                    SELECT \(tenantID), r.kind, r.value, r.zone_id, r.position
                      FROM unnest(\(rules.map(\.match.kind)), \(rules.map(\.match.value)),
                                  \(try rules.map { try zoneID($0.zone) }), \(Array(rules.indices)))
                           AS r(kind, value, zone_id, position)
                    """)
            }
        }

        for change in plan.changes {
            switch change {
            case .removeZone(let code):
                try tx.execute("DELETE FROM zones WHERE tenant_id = \(tenantID) AND zone_id = \(try zoneID(code))")
            case .removeRole(let key):
                try tx.execute("DELETE FROM roles WHERE tenant_id = \(tenantID) AND key = \(key) AND NOT builtin")
            default:
                break
            }
        }
        // Check the deferred rule here, so a violation names this step rather than COMMIT.
        try tx.execute("SET CONSTRAINTS users_zone_key IMMEDIATE")
    }

    @discardableResult
    static func insertRole(_ role: RoleDefinition, tenantID: UUID, on tx: PGConnection) throws -> UUID {
        try tx.query("""
            INSERT INTO roles (tenant_id, key, name, builtin, scope, permissions)
            VALUES (\(tenantID), \(role.key), \(role.name), \(role.builtin), \(role.scope.rawValue), \(PGJSON(text: role.permissionsJSON)))
            RETURNING role_id
            """).scalar(UUID.self)
    }
}
