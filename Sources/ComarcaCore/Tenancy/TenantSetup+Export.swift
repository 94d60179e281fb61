public import Foundation
public import PGClient
import Yams

extension TenantSetup {
    /// The stored set-up of a tenant as a spec: its tenant-defined roles, its zone tree, its
    /// active users, its field specs and its zone assignment rules, in canonical order. `notFound` for an unknown slug.
    public static func currentSpec(slug: String, on connection: PGConnection) throws -> TenantSpec {
        let tenantID = try requireTenantID(slug, on: connection)
        return try connection.transaction(settings: AccessScope.operator_(tenantID: tenantID).settings) { tx in
            try tx.execute("SET TRANSACTION READ ONLY")
            let state = try TenantState.read(tenantID: tenantID, on: tx)
            var result = try spec(slug: slug, from: state)
            let fields = try FieldSpecs.currentConfig(tenantID: tenantID, on: tx)
            result.fields = fields.isEmpty ? nil : fields
            return result
        }
    }

    /// The stored set-up as the YAML `apply` reads (round trip: exporting and applying the result
    /// changes nothing).
    public static func export(slug: String, on connection: PGConnection) throws -> String {
        try yaml(for: try currentSpec(slug: slug, on: connection))
    }

    static func spec(slug: String, from state: TenantState) throws -> TenantSpec {
        let builtinKeys = Set(BuiltinRoles.all.map(\.key))
        let roles = try state.roles.filter { !$0.builtin && !builtinKeys.contains($0.key) }.map { role in
            guard let scope = RoleScope(rawValue: role.scope) else {
                throw CoreError(.invalidInput, "role \(role.key) has an unknown scope \(role.scope)")
            }
            return TenantSpec.RoleSpec(
                key: role.key, name: role.name, scope: scope,
                permissions: try RoleDefinition.permissions(fromJSON: role.permissionsJSON))
        }
        var children: [UUID?: [TenantState.Zone]] = [:]
        for zone in state.zones { children[zone.parentID, default: []].append(zone) }
        func tree(_ parent: UUID?) -> [TenantSpec.ZoneSpec] {
            (children[parent] ?? []).map { TenantSpec.ZoneSpec(code: $0.code, name: $0.name, children: tree($0.id)) }
        }
        let users = state.users.compactMap { user in
            user.zoneCode.map { TenantSpec.UserSpec(email: user.email, name: user.name, role: user.roleKey, zone: $0) }
        }
        var assignment: TenantSpec.AssignmentSpec?
        if !state.assignmentRules.isEmpty {
            assignment = TenantSpec.AssignmentSpec(
                rules: state.assignmentRules.filter { $0.match != .defaultZone }.map { .init(match: $0.match, zone: $0.zoneCode) },
                defaultZone: state.assignmentRules.first { $0.match == .defaultZone }?.zoneCode)
        }
        return TenantSpec(
            slug: slug, name: state.name ?? slug, roles: roles, zones: tree(nil), users: users, assignment: assignment
        ).canonical
    }

    /// Writes a spec in the layout of the documentation: small mappings on one line, the zone tree
    /// indented. Values that YAML would read as something other than text are quoted.
    public static func yaml(for spec: TenantSpec) throws -> String {
        func text(_ value: String) -> Node {
            let plain = Node(value)
            let needsQuotes = plain.tag.description != Tag.Name.str.rawValue || value.isEmpty
                || value.first.map { " -?:,[]{}#&*!|>'\"%@`".contains($0) } == true
            return Node(value, .implicit, needsQuotes ? .doubleQuoted : .any)
        }
        func flow(_ pairs: [(String, Node)]) -> Node {
            .mapping(Node.Mapping(pairs.map { (Node($0.0), $0.1) }, .implicit, .flow))
        }
        func block(_ pairs: [(String, Node)]) -> Node {
            .mapping(Node.Mapping(pairs.map { (Node($0.0), $0.1) }, .implicit, .block))
        }
        func zoneNode(_ zone: TenantSpec.ZoneSpec) -> Node {
            var pairs: [(String, Node)] = [("code", text(zone.code)), ("name", text(zone.name))]
            if !zone.children.isEmpty {
                pairs.append(("children", .sequence(Node.Sequence(zone.children.map(zoneNode), .implicit, .block))))
            }
            return zone.children.isEmpty ? flow(pairs) : block(pairs)
        }
        var top: [(String, Node)] = [("tenant", flow([("slug", text(spec.slug)), ("name", text(spec.name))]))]
        if !spec.roles.isEmpty {
            top.append(("roles", .sequence(Node.Sequence(spec.roles.map { role in
                let permissions = role.permissions.keys.sorted().map { entity in
                    (entity.rawValue, Node.sequence(Node.Sequence(role.permissions[entity]!.sorted().map { Node($0.rawValue) }, .implicit, .flow)))
                }
                return block([
                    ("key", text(role.key)), ("name", text(role.name)), ("scope", Node(role.scope.rawValue)),
                    ("permissions", flow(permissions)),
                ])
            }, .implicit, .block))))
        }
        top.append(("zones", .sequence(Node.Sequence(spec.zones.map(zoneNode), .implicit, spec.zones.isEmpty ? .flow : .block))))
        top.append(("users", .sequence(Node.Sequence(spec.users.map { user in
            flow([("email", text(user.email)), ("name", text(user.name)), ("role", text(user.role)), ("zone", text(user.zone))])
        }, .implicit, spec.users.isEmpty ? .flow : .block))))
        if let fields = spec.fields, !fields.isEmpty { top.append(("fields", FieldSpecParser.node(for: fields, text: text))) }
        if let assignment = spec.assignment {
            let rules = assignment.rules.sorted { $0.match < $1.match }.map { rule -> Node in
                switch rule.match {
                case .postalPrefix(let prefix):
                    // Always quoted: a prefix is text ("08"), never a number.
                    return flow([("postal_prefix", Node(prefix, .implicit, .doubleQuoted)), ("zone", text(rule.zone))])
                case .province(let code):
                    return flow([("province", text(SpanishProvinces.name(of: code) ?? rule.match.value)), ("zone", text(rule.zone))])
                case .defaultZone:
                    return flow([("default_zone", text(rule.zone))])
                }
            }
            var pairs: [(String, Node)] = [("rules", .sequence(Node.Sequence(rules, .implicit, rules.isEmpty ? .flow : .block)))]
            if let zone = assignment.defaultZone { pairs.append(("default_zone", text(zone))) }
            top.append(("assignment", block(pairs)))
        }
        return try Yams.serialize(node: block(top), indent: 2, width: -1, allowUnicode: true)
    }
}
