/// What applying a tenant file would do, in the order `TenantSetup.apply` does it. Empty when the
/// database already matches the file. `errors` are reasons the file cannot be applied as it is
/// (a zone to remove that records still use); `notes` are things worth knowing that change nothing.
public struct TenantPlan: Sendable, Hashable {
    public enum Change: Sendable, Hashable, CustomStringConvertible {
        case createTenant(slug: String, name: String)
        case renameTenant(from: String, to: String)
        /// A built-in role missing from the tenant, or a tenant-defined role new in the file.
        case createRole(RoleDefinition)
        /// `fields` names what differs: name, scope, permissions.
        case updateRole(RoleDefinition, fields: [String])
        case removeRole(key: String)
        case createZone(code: String, name: String, parent: String?)
        case renameZone(code: String, from: String, to: String)
        case moveZone(code: String, from: String?, to: String?)
        case removeZone(code: String)
        case createUser(TenantSpec.UserSpec)
        case renameUser(email: String, from: String, to: String)
        case changeUserRole(email: String, from: String, to: String)
        case moveUser(email: String, from: String, to: String)
        case reactivateUser(email: String, zone: String)
        case deactivateUser(email: String, zone: String?)
        /// A change of the `fields` section (FieldSpecs).
        case field(FieldSpecPlan.Change)
        /// Zone assignment rules (`assignment:`); the default zone is the rule `.defaultZone`.
        case addAssignmentRule(ZoneAssignmentMatch, zone: String)
        case changeAssignmentRule(ZoneAssignmentMatch, from: String, to: String)
        case removeAssignmentRule(ZoneAssignmentMatch, zone: String)

        public var description: String {
            switch self {
            case .createTenant(let slug, let name):
                return "+ tenant \(slug) (\(name))"
            case .renameTenant(let from, let to):
                return "~ tenant name: \(quoted(from)) → \(quoted(to))"
            case .createRole(let role):
                return "+ role \(role.key) (\(role.name))\(role.builtin ? " built-in" : ""), scope \(role.scope.rawValue)"
            case .updateRole(let role, let fields):
                return "~ role \(role.key): \(fields.joined(separator: ", "))"
            case .removeRole(let key):
                return "- role \(key) removed"
            case .createZone(let code, let name, let parent):
                return "+ zone \(code) (\(name))" + (parent.map { " under \($0)" } ?? " at the top")
            case .renameZone(let code, let from, let to):
                return "~ zone \(code): name \(quoted(from)) → \(quoted(to))"
            case .moveZone(let code, let from, let to):
                return "~ zone \(code): parent \(from ?? "(top)") → \(to ?? "(top)")"
            case .removeZone(let code):
                return "- zone \(code) removed"
            case .createUser(let user):
                return "+ user \(user.email) (\(user.name)): \(user.role) in \(user.zone)"
            case .renameUser(let email, let from, let to):
                return "~ user \(email): name \(quoted(from)) → \(quoted(to))"
            case .changeUserRole(let email, let from, let to):
                return "~ user \(email): role \(from) → \(to)"
            case .moveUser(let email, let from, let to):
                return "~ user \(email): zone \(from) → \(to)"
            case .reactivateUser(let email, let zone):
                return "~ user \(email): reactivated in zone \(zone)"
            case .deactivateUser(let email, let zone):
                return "- user \(email) deactivated" + (zone.map { " (frees zone \($0))" } ?? "")
            case .field(let change):
                return change.description
            case .addAssignmentRule(let match, let zone):
                return "+ assignment rule \(match.label) → \(zone)"
            case .changeAssignmentRule(let match, let from, let to):
                return "~ assignment rule \(match.label): zone \(from) → \(to)"
            case .removeAssignmentRule(let match, let zone):
                return "- assignment rule \(match.label) (→ \(zone)) removed"
            }
        }

        private func quoted(_ text: String) -> String { "\"\(text)\"" }
    }

    public var slug: String
    public var changes: [Change]
    public var errors: [String]
    public var notes: [String]

    public init(slug: String, changes: [Change] = [], errors: [String] = [], notes: [String] = []) {
        self.slug = slug
        self.changes = changes
        self.errors = errors
        self.notes = notes
    }

    /// Nothing to change (notes do not count).
    public var isEmpty: Bool { changes.isEmpty }

    /// The plan as readable lines: changes, then errors (`! …`), then notes (`# …`).
    public var lines: [String] {
        changes.map(\.description) + errors.map { "! \($0)" } + notes.map { "# \($0)" }
    }
}
