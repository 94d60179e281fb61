/// An error from PostgreSQL, libpq or this client.
///
/// `description` names the kind, SQLSTATE, constraint and table only: messages and details can
/// quote data values, so they appear only through `String(reflecting:)` (`debugDescription`).
public struct PGError: Error, Sendable {
    public enum Kind: String, Sendable {
        /// The server answered with an error (see `code`).
        case server
        /// The connection could not be made or was lost.
        case connection
        /// No connection could be had from the pool within its acquire timeout.
        case poolTimeout
        /// The pool was closed.
        case poolClosed
        /// A value could not be decoded into the requested Swift type.
        case decoding
        /// The caller used the API wrongly (bad setting name, binds on COPY, nested transaction).
        case invalidUsage
        /// libpq or the server did something this client did not expect.
        case unexpected
    }

    /// SQLSTATE, open so that any code the server sends can be matched.
    public struct Code: RawRepresentable, Hashable, Sendable, ExpressibleByStringLiteral, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public init(stringLiteral value: String) { self.rawValue = value }
        public var description: String { rawValue }
        /// The two-character class (`23` integrity, `08` connection, `42` syntax or access).
        public var errorClass: String { String(rawValue.prefix(2)) }

        public static let uniqueViolation: Code = "23505"
        public static let foreignKeyViolation: Code = "23503"
        public static let notNullViolation: Code = "23502"
        public static let checkViolation: Code = "23514"
        public static let exclusionViolation: Code = "23P01"
        public static let insufficientPrivilege: Code = "42501"
        public static let syntaxError: Code = "42601"
        public static let undefinedTable: Code = "42P01"
        public static let undefinedColumn: Code = "42703"
        public static let invalidTextRepresentation: Code = "22P02"
        public static let serializationFailure: Code = "40001"
        public static let deadlockDetected: Code = "40P01"
        public static let queryCanceled: Code = "57014"
        public static let adminShutdown: Code = "57P01"
        public static let raiseException: Code = "P0001"
        public static let connectionFailure: Code = "08006"
        public static let inFailedTransaction: Code = "25P02"
    }

    public var kind: Kind
    public var code: Code?
    public var message: String
    public var detail: String?
    public var hint: String?
    public var constraint: String?
    public var table: String?
    public var column: String?
    public var severity: String?

    public init(
        kind: Kind, code: Code? = nil, message: String, detail: String? = nil, hint: String? = nil,
        constraint: String? = nil, table: String? = nil, column: String? = nil, severity: String? = nil
    ) {
        self.kind = kind
        self.code = code
        self.message = message
        self.detail = detail
        self.hint = hint
        self.constraint = constraint
        self.table = table
        self.column = column
        self.severity = severity
    }

    /// True when the connection this error came from can no longer be used.
    public var isConnectionLoss: Bool {
        if kind == .connection { return true }
        guard let code else { return false }
        return code.errorClass == "08" || code == .adminShutdown || code.rawValue == "57P02" || code.rawValue == "57P03"
    }
}

extension PGError: CustomStringConvertible, CustomDebugStringConvertible {
    public var description: String {
        var parts = ["PGError(\(kind.rawValue)"]
        if let code { parts.append("sqlstate: \(code)") }
        if let constraint { parts.append("constraint: \(constraint)") }
        if let table { parts.append("table: \(table)") }
        return parts.joined(separator: ", ") + ")"
    }

    public var debugDescription: String {
        var text = description + " \(message)"
        if let detail { text += "\nDETAIL: \(detail)" }
        if let hint { text += "\nHINT: \(hint)" }
        if let column { text += "\nCOLUMN: \(column)" }
        return text
    }
}
