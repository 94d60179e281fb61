import Foundation
import Yams

/// Reads a tenant file from Yams' node tree (which keeps each node's line and column) and
/// collects every problem instead of stopping at the first.
struct TenantSpecParser {
    private var problems: [TenantSpecProblem] = []
    private let builtinKeys = Set(BuiltinRoles.all.map(\.key))

    static func parse(_ yaml: String) -> (spec: TenantSpec?, problems: [TenantSpecProblem]) {
        var parser = TenantSpecParser()
        let spec = parser.document(yaml)
        let sorted = parser.problems.enumerated().sorted { a, b in
            (a.element.line, a.element.column, a.offset) < (b.element.line, b.element.column, b.offset)
        }.map(\.element)
        return (sorted.isEmpty ? spec : nil, sorted)
    }

    // MARK: - Problems

    private mutating func report(_ node: Node?, _ path: String, _ message: String) {
        let mark = node?.mark
        problems.append(TenantSpecProblem(line: mark?.line ?? 1, column: mark?.column ?? 1, path: path, message: message))
    }

    private static func join(_ path: String, _ key: String) -> String {
        path.isEmpty ? key : "\(path).\(key)"
    }

    // MARK: - Node helpers

    /// A mapping's entries by key, reporting unknown and repeated keys. Returns nil (and reports)
    /// when the node is not a mapping.
    private mutating func fields(_ node: Node, _ path: String, allowed: [String], what: String) -> [String: (key: Node, value: Node)]? {
        guard case .mapping(let mapping) = node else {
            report(node, path, "expected \(what) (a mapping with \(allowed.joined(separator: ", ")))")
            return nil
        }
        var result: [String: (key: Node, value: Node)] = [:]
        for (key, value) in mapping {
            guard case .scalar(let scalar) = key else {
                report(key, path, "keys must be plain names")
                continue
            }
            let name = scalar.string
            if !allowed.contains(name) {
                report(key, Self.join(path, name), "unknown key '\(name)' (expected one of: \(allowed.joined(separator: ", ")))")
            } else if result[name] != nil {
                report(key, Self.join(path, name), "key '\(name)' appears twice")
            } else {
                result[name] = (key, value)
            }
        }
        return result
    }

    private static func isNull(_ node: Node) -> Bool {
        guard case .scalar(let scalar) = node, scalar.style == .plain || scalar.style == .any else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    /// A required text field; reports a missing, empty or non-text value.
    private mutating func text(_ fields: [String: (key: Node, value: Node)], _ key: String, in node: Node, _ path: String) -> String? {
        let fieldPath = Self.join(path, key)
        guard let entry = fields[key] else {
            report(node, fieldPath, "missing field '\(key)'")
            return nil
        }
        guard case .scalar(let scalar) = entry.value, !Self.isNull(entry.value) else {
            report(entry.value, fieldPath, Self.isNull(entry.value) ? "'\(key)' must not be empty" : "'\(key)' must be text")
            return nil
        }
        let value = scalar.string
        if value.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            report(entry.value, fieldPath, "'\(key)' must not be blank")
            return nil
        }
        return value
    }

    /// An optional list; nil when absent or null, and reports a non-list.
    private mutating func list(_ node: Node?, _ path: String) -> [Node]? {
        guard let node, !Self.isNull(node) else { return nil }
        guard case .sequence(let sequence) = node else {
            report(node, path, "expected a list")
            return nil
        }
        return Array(sequence)
    }

    // MARK: - Document

    private mutating func document(_ yaml: String) -> TenantSpec? {
        let root: Node?
        do {
            root = try BoundedYAML.compose(yaml)
        } catch let refusal as BoundedYAML.Refusal {
            problems.append(TenantSpecProblem(line: refusal.line, column: refusal.column, path: "", message: refusal.message))
            return nil
        } catch let error as YamlError {
            problems.append(Self.problem(from: error))
            return nil
        } catch {
            problems.append(TenantSpecProblem(line: 1, column: 1, path: "", message: "not YAML: \(error)"))
            return nil
        }
        guard let root else {
            problems.append(TenantSpecProblem(line: 1, column: 1, path: "", message: "the file is empty; it needs at least a 'tenant' section"))
            return nil
        }
        guard let top = fields(root, "", allowed: ["tenant", "roles", "zones", "users", "fields", "assignment"], what: "a tenant set-up") else { return nil }

        var slug: String?
        var name: String?
        if let tenant = top["tenant"] {
            if let tenantFields = fields(tenant.value, "tenant", allowed: ["slug", "name"], what: "the tenant") {
                slug = text(tenantFields, "slug", in: tenant.value, "tenant")
                if let value = slug, !TenantSpec.isValidSlug(value) {
                    report(tenantFields["slug"]?.value, "tenant.slug", "slug '\(value)' must be 2-63 lower-case letters, digits or '-', starting with a letter or digit")
                    slug = nil
                }
                name = text(tenantFields, "name", in: tenant.value, "tenant")
            }
        } else {
            report(root, "tenant", "missing section 'tenant' (with slug and name)")
        }

        let roles = self.roles(list(top["roles"]?.value, "roles") ?? [])
        let zoneResult = zones(list(top["zones"]?.value, "zones") ?? [])
        let users = self.users(list(top["users"]?.value, "users") ?? [], zones: zoneResult.codes, roles: roles.keys)

        var fieldParser = FieldSpecParser()
        let fields = top["fields"].flatMap { fieldParser.section($0.value, "fields") }
        problems += fieldParser.problems

        let assignment = top["assignment"].flatMap { self.assignment($0.value, zones: zoneResult.codes) }

        guard let slug, let name else { return nil }
        return TenantSpec(
            slug: slug, name: name, roles: roles.specs, zones: zoneResult.zones, users: users, fields: fields,
            assignment: assignment)
    }

    static func problem(from error: YamlError) -> TenantSpecProblem {
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            let text = [context?.text, problem].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: ": ")
            return TenantSpecProblem(line: mark.line, column: mark.column, path: "", message: "not valid YAML: \(text)")
        default:
            return TenantSpecProblem(line: 1, column: 1, path: "", message: "not valid YAML: \(error)")
        }
    }

    // MARK: - Roles

    private mutating func roles(_ nodes: [Node]) -> (specs: [TenantSpec.RoleSpec], keys: Set<String>) {
        var specs: [TenantSpec.RoleSpec] = []
        var seen: [String: Mark?] = [:]
        for (index, node) in nodes.enumerated() {
            let path = "roles[\(index)]"
            guard let roleFields = fields(node, path, allowed: ["key", "name", "scope", "permissions"], what: "a role") else { continue }
            guard let key = text(roleFields, "key", in: node, path) else { continue }
            let keyNode = roleFields["key"]?.value
            if let first = seen[key] {
                report(keyNode, "\(path).key", "role '\(key)' is listed twice (first at line \(first?.line ?? 0))")
                continue
            }
            seen[key] = keyNode?.mark
            if builtinKeys.contains(key) {
                // A built-in may be listed by key alone (as a reminder); it cannot be redefined.
                if roleFields.count > 1 {
                    report(keyNode, "\(path).key", "'\(key)' is a built-in role and cannot be redefined; list it as {key: \(key)} or leave it out")
                }
                continue
            }
            var valid = true
            if !TenantSpec.matches(key, TenantSpec.roleKeyPattern) {
                report(keyNode, "\(path).key", "role key '\(key)' must be 1-40 lower-case letters, digits or '_', starting with a letter")
                valid = false
            }
            let name = text(roleFields, "name", in: node, path)
            var scope: RoleScope?
            if let scopeText = text(roleFields, "scope", in: node, path) {
                scope = RoleScope(rawValue: scopeText)
                if scope == nil {
                    report(roleFields["scope"]?.value, "\(path).scope", "unknown scope '\(scopeText)' (expected one of: \(RoleScope.allCases.map(\.rawValue).joined(separator: ", ")))")
                }
            }
            let permissions = self.permissions(roleFields["permissions"]?.value, "\(path).permissions")
            if valid, let name, let scope, let permissions {
                specs.append(TenantSpec.RoleSpec(key: key, name: name, scope: scope, permissions: permissions))
            }
        }
        return (specs, Set(seen.keys))
    }

    private mutating func permissions(_ node: Node?, _ path: String) -> [Entity: Set<Action>]? {
        guard let node, !Self.isNull(node) else { return [:] }
        guard case .mapping(let mapping) = node else {
            report(node, path, "expected a mapping of entity to list of actions, e.g. {records: [list, view]}")
            return nil
        }
        var result: [Entity: Set<Action>] = [:]
        var valid = true
        let entities = Entity.allCases.map(\.rawValue).joined(separator: ", ")
        let actions = Action.allCases.map(\.rawValue).joined(separator: ", ")
        for (key, value) in mapping {
            let name = key.scalar?.string ?? ""
            let entryPath = Self.join(path, name)
            guard let entity = Entity(rawValue: name) else {
                report(key, entryPath, "unknown entity '\(name)' (expected one of: \(entities))")
                valid = false
                continue
            }
            if result[entity] != nil {
                report(key, entryPath, "entity '\(name)' appears twice")
                valid = false
                continue
            }
            var granted: Set<Action> = []
            let items: [Node]
            switch value {
            case .sequence(let sequence): items = Array(sequence)
            case .scalar where Self.isNull(value): items = []
            default:
                report(value, entryPath, "expected a list of actions, e.g. [list, view]")
                valid = false
                continue
            }
            for (index, item) in items.enumerated() {
                guard case .scalar(let scalar) = item, let action = Action(rawValue: scalar.string) else {
                    report(item, "\(entryPath)[\(index)]", "unknown action '\(item.scalar?.string ?? "?")' (expected one of: \(actions))")
                    valid = false
                    continue
                }
                granted.insert(action)
            }
            result[entity] = granted
        }
        return valid ? result : nil
    }

    // MARK: - Zones

    private mutating func zones(_ nodes: [Node]) -> (zones: [TenantSpec.ZoneSpec], codes: Set<String>) {
        var seen: [String: Int] = [:]
        let zones = zoneList(nodes, "zones", seen: &seen)
        return (zones, Set(seen.keys))
    }

    private mutating func zoneList(_ nodes: [Node], _ path: String, seen: inout [String: Int]) -> [TenantSpec.ZoneSpec] {
        var result: [TenantSpec.ZoneSpec] = []
        for (index, node) in nodes.enumerated() {
            let zonePath = "\(path)[\(index)]"
            guard let zoneFields = fields(node, zonePath, allowed: ["code", "name", "children"], what: "a zone") else { continue }
            var code = text(zoneFields, "code", in: node, zonePath)
            let codeNode = zoneFields["code"]?.value
            if let value = code {
                if !TenantSpec.matches(value, TenantSpec.zoneCodePattern) {
                    report(codeNode, "\(zonePath).code", "zone code '\(value)' must be 1-40 letters, digits, '.', '_' or '-', starting with a letter or digit")
                    code = nil
                } else if let first = seen[value] {
                    report(codeNode, "\(zonePath).code", "zone code '\(value)' is used twice (first at line \(first))")
                    code = nil
                } else {
                    seen[value] = codeNode?.mark?.line ?? 0
                }
            }
            let name = text(zoneFields, "name", in: node, zonePath)
            let children = zoneList(list(zoneFields["children"]?.value, "\(zonePath).children") ?? [], "\(zonePath).children", seen: &seen)
            if let code, let name {
                result.append(TenantSpec.ZoneSpec(code: code, name: name, children: children))
            }
        }
        return result
    }

    // MARK: - Assignment

    private mutating func assignment(_ node: Node, zones: Set<String>) -> TenantSpec.AssignmentSpec? {
        let path = "assignment"
        guard let section = fields(node, path, allowed: ["rules", "default_zone"], what: "the assignment rules") else { return nil }
        func zoneCode(_ entry: (key: Node, value: Node)?, in parent: Node, _ fieldPath: String, key: String, _ fields: [String: (key: Node, value: Node)]) -> String? {
            guard let code = text(fields, key, in: parent, fieldPath) else { return nil }
            guard zones.contains(code) else {
                report(entry?.value, Self.join(fieldPath, key), "unknown zone '\(code)' (not listed under zones)")
                return nil
            }
            return code
        }

        var rules: [TenantSpec.AssignmentSpec.RuleSpec] = []
        var seen: [ZoneAssignmentMatch: Int] = [:]
        for (index, ruleNode) in (list(section["rules"]?.value, "\(path).rules") ?? []).enumerated() {
            let rulePath = "\(path).rules[\(index)]"
            guard let ruleFields = fields(ruleNode, rulePath, allowed: ["postal_prefix", "province", "zone"], what: "a rule") else { continue }
            var match: ZoneAssignmentMatch?
            var matchNode: Node?
            switch (ruleFields["postal_prefix"], ruleFields["province"]) {
            case (nil, nil):
                report(ruleNode, rulePath, "a rule needs postal_prefix or province")
            case (_?, let province?):
                report(province.key, Self.join(rulePath, "province"), "a rule has postal_prefix or province, not both; write two rules")
            case (let prefix?, nil):
                matchNode = prefix.value
                guard let value = text(ruleFields, "postal_prefix", in: ruleNode, rulePath) else { break }
                if !value.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) || value.count > 5 {
                    report(prefix.value, Self.join(rulePath, "postal_prefix"), "postal prefix '\(value)' must be 1 to 5 digits, quoted: \"08\"")
                } else if !ZoneAssignmentMatch.isValidPostalPrefix(value) {
                    report(
                        prefix.value, Self.join(rulePath, "postal_prefix"),
                        "postal prefix '\(value)' matches no Spanish postal code (they start with a province number 01-52)"
                            + (ZoneAssignmentMatch.isValidPostalPrefix("0" + value) ? "; if a leading zero was lost, write \"0\(value)\"" : ""))
                } else {
                    match = .postalPrefix(value)
                }
            case (nil, let province?):
                matchNode = province.value
                guard let value = text(ruleFields, "province", in: ruleNode, rulePath) else { break }
                if let code = SpanishProvinces.code(for: value) {
                    match = .province(code)
                } else {
                    report(
                        province.value, Self.join(rulePath, "province"),
                        "unknown province '\(value)' (a Spanish province by name, such as Girona or Gerona, or by its code 01-52)")
                }
            }
            let zone = zoneCode(ruleFields["zone"], in: ruleNode, rulePath, key: "zone", ruleFields)
            guard let match else { continue }
            let line = matchNode?.mark?.line ?? 0
            if let first = seen[match] {
                report(matchNode, rulePath, "a second rule for \(match.label) (first at line \(first)); a prefix or province has one rule")
                continue
            }
            seen[match] = line
            if let zone { rules.append(.init(match: match, zone: zone)) }
        }

        var defaultZone: String?
        if let entry = section["default_zone"], !Self.isNull(entry.value) {
            defaultZone = zoneCode(entry, in: node, path, key: "default_zone", section)
        }
        return TenantSpec.AssignmentSpec(rules: rules, defaultZone: defaultZone)
    }

    // MARK: - Users

    private mutating func users(_ nodes: [Node], zones: Set<String>, roles: Set<String>) -> [TenantSpec.UserSpec] {
        var result: [TenantSpec.UserSpec] = []
        var emails: [String: Int] = [:]
        var zoneHolders: [String: (email: String, line: Int)] = [:]
        let knownRoles = roles.union(builtinKeys)
        for (index, node) in nodes.enumerated() {
            let path = "users[\(index)]"
            guard let userFields = fields(node, path, allowed: ["email", "name", "role", "zone"], what: "a user") else { continue }
            var email = text(userFields, "email", in: node, path).map(TenantSpec.normalizeEmail)
            let emailNode = userFields["email"]?.value
            if let value = email {
                if !TenantSpec.matches(value, TenantSpec.emailPattern) {
                    report(emailNode, "\(path).email", "'\(value)' is not an e-mail address")
                    email = nil
                } else if let first = emails[value] {
                    report(emailNode, "\(path).email", "e-mail \(value) is used twice (first at line \(first))")
                    email = nil
                } else {
                    emails[value] = emailNode?.mark?.line ?? 0
                }
            }
            let name = text(userFields, "name", in: node, path)
            var role = text(userFields, "role", in: node, path)
            if let value = role, !knownRoles.contains(value) {
                report(userFields["role"]?.value, "\(path).role", "unknown role '\(value)' (built-in: \(BuiltinRoles.all.map(\.key).joined(separator: ", ")); others must be listed under roles)")
                role = nil
            }
            var zone = text(userFields, "zone", in: node, path)
            let zoneNode = userFields["zone"]?.value
            if let value = zone {
                if !zones.contains(value) {
                    report(zoneNode, "\(path).zone", "unknown zone '\(value)' (not listed under zones)")
                    zone = nil
                } else if let holder = zoneHolders[value] {
                    report(zoneNode, "\(path).zone", "zone '\(value)' already has a user (\(holder.email), line \(holder.line)); a zone has one user")
                    zone = nil
                } else {
                    zoneHolders[value] = (email ?? "?", zoneNode?.mark?.line ?? 0)
                }
            }
            if let email, let name, let role, let zone {
                result.append(TenantSpec.UserSpec(email: email, name: name, role: role, zone: zone))
            }
        }
        return result
    }
}
