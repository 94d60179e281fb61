import Foundation

/// A record's lifecycle stage.
public enum Stage: String, Sendable, Hashable, Codable, CaseIterable, CustomStringConvertible {
    /// Público objetivo: little data, no contact yet.
    case target
    /// Cliente potencial: contacted, real interest.
    case potential
    /// Contacto: quoted or customer (reached only by conversion).
    case contact
    /// Out of the funnel, with a reason; can be reopened to `target`.
    case disqualified

    public var description: String { rawValue }

    /// Stages a record is still being worked in (and can be disqualified from).
    public var isOpen: Bool { self == .target || self == .potential }
}

/// The one state machine of records. Every path (HTTP, CLI, import) moves records through
/// `RecordService`, which asks this type whether a move is allowed and what the new stage
/// requires, and writes the event in the same transaction.
public enum Lifecycle {
    /// The named moves; each is one service call.
    public enum Move: String, Sendable, Hashable, Codable, CaseIterable {
        case promote, convert, disqualify, reopen
    }

    /// Every allowed move, as `from → to`. Anything not listed is refused.
    ///
    /// | from         | to           | move       |
    /// | ------------ | ------------ | ---------- |
    /// | target       | potential    | promote    |
    /// | potential    | contact      | convert    |
    /// | target       | disqualified | disqualify |
    /// | potential    | disqualified | disqualify |
    /// | disqualified | target       | reopen     |
    public static let moves: [Stage: [Stage: Move]] = [
        .target: [.potential: .promote, .disqualified: .disqualify],
        .potential: [.contact: .convert, .disqualified: .disqualify],
        .contact: [:],
        .disqualified: [.target: .reopen],
    ]

    /// The move from `from` to `to`, or nil when the table does not allow it.
    public static func move(from: Stage, to: Stage) -> Move? {
        moves[from]?[to]
    }

    /// The move from `from` to `to`; a refused move is a `conflict` naming both stages.
    public static func check(from: Stage, to: Stage) throws -> Move {
        guard let move = move(from: from, to: to) else {
            throw CoreError(.conflict, "a record cannot move from \(from) to \(to)")
        }
        return move
    }

    /// The built-in fields a record must have to be in `stage` (custom fields with a
    /// required-from-stage rule are checked by the tenant's field specs as well).
    public struct Requirements: Sendable {
        public var hasEmail: Bool
        public var hasPhone: Bool
        public var hasAccount: Bool

        public init(hasEmail: Bool, hasPhone: Bool, hasAccount: Bool) {
            self.hasEmail = hasEmail
            self.hasPhone = hasPhone
            self.hasAccount = hasAccount
        }
    }

    /// What is missing for `stage`, as field errors (empty when the record qualifies).
    /// Stages are cumulative: a contact must also be reachable.
    public static func missingFields(for stage: Stage, _ record: Requirements) -> [CoreError.FieldError] {
        var errors: [CoreError.FieldError] = []
        if stage == .potential || stage == .contact, !record.hasEmail, !record.hasPhone {
            errors.append(.init(field: "email", message: "a \(stage) needs a way to reach them: an email or a phone"))
        }
        if stage == .contact, !record.hasAccount {
            errors.append(.init(field: "accountId", message: "a contact needs an account"))
        }
        return errors
    }

    /// Throws `invalidInput` listing what `stage` still needs.
    public static func requireFields(for stage: Stage, _ record: Requirements) throws {
        let missing = missingFields(for: stage, record)
        guard missing.isEmpty else {
            throw CoreError(
                .invalidInput, "the record cannot be \(stage) yet: " + missing.map(\.message).joined(separator: "; "),
                fieldErrors: missing)
        }
    }

    /// The reasons a tenant that has configured none may disqualify with.
    public static let defaultDisqualifyReasons: [DisqualifyReason] = [
        DisqualifyReason(code: "not-interested", label: "Not interested", active: true),
        DisqualifyReason(code: "private-person", label: "Private person (we sell to businesses)", active: true),
        DisqualifyReason(code: "region-not-served", label: "Region not served", active: true),
        DisqualifyReason(code: "unreachable", label: "Cannot be reached", active: true),
        DisqualifyReason(code: "duplicate", label: "Duplicate of another record", active: true),
        DisqualifyReason(code: "competitor", label: "Works with a competitor", active: true),
    ]
}

/// A reason a record may be disqualified with (tenant configuration).
public struct DisqualifyReason: Sendable, Hashable, Codable {
    public let code: String
    public let label: String
    public let active: Bool

    public init(code: String, label: String, active: Bool) {
        self.code = code
        self.label = label
        self.active = active
    }
}
