/// A domain error with a stable code. HTTP and CLI map codes to status and exit text in one place
/// each; the message is for people and never includes another tenant's data.
public struct CoreError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: RawRepresentable, Hashable, Sendable, ExpressibleByStringLiteral, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public init(stringLiteral value: String) { self.rawValue = value }
        public var description: String { rawValue }

        public static let migrationsNotFound: Code = "migrations-not-found"
        public static let migrationInvalid: Code = "migration-invalid"
        public static let migrationChanged: Code = "migration-changed"
        public static let migrationMissing: Code = "migration-missing"
        public static let migrationFailed: Code = "migration-failed"
        public static let migrationsPending: Code = "migrations-pending"
        public static let unsafeDatabaseRole: Code = "unsafe-database-role"
        public static let notFound: Code = "not-found"
        public static let invalidInput: Code = "invalid-input"
        public static let forbidden: Code = "forbidden"
        public static let unauthenticated: Code = "unauthenticated"
        public static let conflict: Code = "conflict"
        public static let rateLimited: Code = "rate-limited"
        public static let preconditionFailed: Code = "precondition-failed"
    }

    public let code: Code
    public let message: String
    /// For `rateLimited` (and anything else worth retrying): seconds until a retry can succeed.
    public let retryAfterSeconds: Int?
    /// For `invalidInput`: each field at fault and what is wrong with it (never its value).
    public let fieldErrors: [FieldError]

    public struct FieldError: Sendable, Equatable {
        public let field: String
        public let message: String
        public init(field: String, message: String) {
            self.field = field
            self.message = message
        }
    }

    public init(_ code: Code, _ message: String, retryAfterSeconds: Int? = nil, fieldErrors: [FieldError] = []) {
        self.code = code
        self.message = message
        self.retryAfterSeconds = retryAfterSeconds
        self.fieldErrors = fieldErrors
    }

    /// An `invalidInput` error for one field.
    public static func invalid(_ field: String, _ message: String) -> CoreError {
        CoreError(.invalidInput, "\(field): \(message)", fieldErrors: [FieldError(field: field, message: message)])
    }

    public var description: String { "\(code): \(message)" }
}
