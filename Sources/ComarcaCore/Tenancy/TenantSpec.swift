public import Foundation

/// One client company's set-up as configuration-as-code: the tenant, its own roles, its zone tree
/// and its users. Read from YAML with `TenantSpec.parse(_:fileName:)`, applied with
/// `TenantSetup.apply`, and written back with `TenantSetup.export`.
///
/// ```yaml
/// tenant: {slug: acme, name: "ACME Distribuciones, S.L."}
/// roles:
///   - {key: supervisor, name: Supervisor, scope: zone_subtree, permissions: {records: [list, view]}}
/// zones:
///   - code: HQ
///     name: Oficina central
///     children: [{code: NORTE, name: Región Norte}]
/// users:
///   - {email: ana@acme.es, name: Ana García, role: admin, zone: HQ}
/// assignment:
///   rules:
///     - {postal_prefix: "48", zone: NORTE}     # 1-5 digits; the longest matching prefix wins
///     - {province: Cantabria, zone: NORTE}     # a name in any common form, or the code 01-52
///   default_zone: HQ                           # optional; else the creator's own zone
/// ```
public struct TenantSpec: Sendable, Hashable {
    public var slug: String
    public var name: String
    /// Tenant-defined roles only; the built-ins (`BuiltinRoles.all`) always exist.
    public var roles: [RoleSpec]
    /// The roots of the zone tree.
    public var zones: [ZoneSpec]
    public var users: [UserSpec]
    /// Field specs per entity (`fields:`); nil when the file has no such section (fields are then
    /// left as they are). See `FieldSpecs`.
    public var fields: FieldsConfig?
    /// Zone assignment rules (`assignment:`); nil when the file has no such section (the stored
    /// rules are then left as they are). An empty section removes every rule.
    public var assignment: AssignmentSpec?

    public init(
        slug: String, name: String, roles: [RoleSpec] = [], zones: [ZoneSpec] = [], users: [UserSpec] = [],
        fields: FieldsConfig? = nil, assignment: AssignmentSpec? = nil
    ) {
        self.slug = slug
        self.name = name
        self.roles = roles
        self.zones = zones
        self.users = users
        self.fields = fields
        self.assignment = assignment
    }

    public struct RoleSpec: Sendable, Hashable {
        public var key: String
        public var name: String
        public var scope: RoleScope
        public var permissions: [Entity: Set<Action>]

        public init(key: String, name: String, scope: RoleScope, permissions: [Entity: Set<Action>]) {
            self.key = key
            self.name = name
            self.scope = scope
            self.permissions = permissions.filter { !$0.value.isEmpty }
        }

        public var definition: RoleDefinition {
            RoleDefinition(key: key, name: name, scope: scope, permissions: permissions, builtin: false)
        }
    }

    public struct ZoneSpec: Sendable, Hashable {
        public var code: String
        public var name: String
        public var children: [ZoneSpec]

        public init(code: String, name: String, children: [ZoneSpec] = []) {
            self.code = code
            self.name = name
            self.children = children
        }
    }

    public struct UserSpec: Sendable, Hashable {
        /// Stored lower-case and trimmed, as the database keeps it.
        public var email: String
        public var name: String
        public var role: String
        public var zone: String

        public init(email: String, name: String, role: String, zone: String) {
            self.email = TenantSpec.normalizeEmail(email)
            self.name = name
            self.role = role
            self.zone = zone
        }
    }

    /// Where new records go by postal code or province (see `ZoneAssignmentRules`).
    public struct AssignmentSpec: Sendable, Hashable {
        /// Postal-prefix and province rules; at most one per prefix and per province.
        public var rules: [RuleSpec]
        /// The zone for records no rule places; nil leaves them in their creator's zone.
        public var defaultZone: String?

        public init(rules: [RuleSpec] = [], defaultZone: String? = nil) {
            self.rules = rules
            self.defaultZone = defaultZone
        }

        public struct RuleSpec: Sendable, Hashable {
            /// `.postalPrefix` or `.province` (the default is `defaultZone`).
            public var match: ZoneAssignmentMatch
            /// A zone code of the file.
            public var zone: String

            public init(match: ZoneAssignmentMatch, zone: String) {
                self.match = match
                self.zone = zone
            }
        }

        /// Every rule with its zone code, the default last, in canonical order.
        public var matches: [(match: ZoneAssignmentMatch, zone: String)] {
            rules.sorted { $0.match < $1.match }.map { ($0.match, $0.zone) } + (defaultZone.map { [(.defaultZone, $0)] } ?? [])
        }
    }

    /// Every zone in tree order (parents before children), with its parent's code.
    public var flattenedZones: [(zone: ZoneSpec, parent: String?)] {
        var result: [(zone: ZoneSpec, parent: String?)] = []
        func walk(_ zones: [ZoneSpec], parent: String?) {
            for zone in zones {
                result.append((zone, parent))
                walk(zone.children, parent: zone.code)
            }
        }
        walk(zones, parent: nil)
        return result
    }

    /// The same set-up in the order `export` writes it: roles by key, sibling zones by code, users
    /// in zone tree order, assignment rules by prefix then province code. Two specs that describe the same set-up have equal canonical forms.
    public var canonical: TenantSpec {
        func sortTree(_ zones: [ZoneSpec]) -> [ZoneSpec] {
            zones.sorted { $0.code < $1.code }.map { ZoneSpec(code: $0.code, name: $0.name, children: sortTree($0.children)) }
        }
        var spec = self
        spec.roles = roles.sorted { $0.key < $1.key }
        spec.zones = sortTree(zones)
        let order = Dictionary(spec.flattenedZones.enumerated().map { ($0.element.zone.code, $0.offset) }, uniquingKeysWith: { a, _ in a })
        spec.users = users.sorted { a, b in
            let (x, y) = (order[a.zone] ?? Int.max, order[b.zone] ?? Int.max)
            return x != y ? x < y : a.email < b.email
        }
        spec.assignment?.rules.sort { $0.match < $1.match }
        return spec
    }

    static func normalizeEmail(_ email: String) -> String { Normalize.emailKey(email) }

    // The same patterns as the CHECK constraints in sql/0002.
    static let slugPattern = "^[a-z0-9][a-z0-9-]{1,62}$"
    static let zoneCodePattern = "^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$"
    static let roleKeyPattern = "^[a-z][a-z0-9_]{0,39}$"
    static let emailPattern = "^[^@\\s]+@[^@\\s]+$"

    static func matches(_ value: String, _ pattern: String) -> Bool {
        value.range(of: pattern, options: .regularExpression) != nil
    }

    public static func isValidSlug(_ slug: String) -> Bool { matches(slug, slugPattern) }
}

/// One problem found in a tenant file, with its place: `acme.yaml:12:7: users[3].zone: …`.
public struct TenantSpecProblem: Sendable, Hashable, CustomStringConvertible {
    public let line: Int
    public let column: Int
    /// Where in the document: `users[3].zone`, `zones[0].children[1].code`.
    public let path: String
    public let message: String

    public init(line: Int, column: Int, path: String, message: String) {
        self.line = line
        self.column = column
        self.path = path
        self.message = message
    }

    public var description: String {
        path.isEmpty ? "\(line):\(column): \(message)" : "\(line):\(column): \(path): \(message)"
    }
}

extension TenantSpec {
    /// Parses and validates a tenant file. Every problem is reported at once: the error is
    /// `CoreError(.invalidInput, …)` with one line per problem, each prefixed by `fileName`.
    public static func parse(_ yaml: String, fileName: String = "tenant.yaml") throws -> TenantSpec {
        let (spec, problems) = TenantSpecParser.parse(yaml)
        guard let spec, problems.isEmpty else {
            throw invalidFile(fileName, problems)
        }
        return spec
    }

    /// Reads and parses a file; a missing file is `notFound`.
    public static func load(contentsOf url: URL) throws -> TenantSpec {
        let text: String
        do {
            text = try String(contentsOf: url, encoding: .utf8)
        } catch {
            throw CoreError(.notFound, "cannot read \(url.path): \(error.localizedDescription)")
        }
        return try parse(text, fileName: url.lastPathComponent)
    }

    /// The problems of a tenant file, in the order of the file; empty when it is valid.
    public static func problems(in yaml: String) -> [TenantSpecProblem] {
        TenantSpecParser.parse(yaml).problems
    }

    static func invalidFile(_ fileName: String, _ problems: [TenantSpecProblem]) -> CoreError {
        let count = problems.count == 1 ? "1 problem" : "\(problems.count) problems"
        return CoreError(
            .invalidInput,
            "\(fileName): \(count)\n" + problems.map { "\(fileName):\($0)" }.joined(separator: "\n"))
    }
}
