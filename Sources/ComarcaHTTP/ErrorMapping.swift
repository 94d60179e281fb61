public import ComarcaCore
public import PGClient
import HTTPTypes

/// The one table from domain and database errors to HTTP problems. Nothing else in the HTTP
/// module decides a status code for an error; no SQL, message detail or stack reaches a client.
public enum ErrorMapping {
    public static func problem(for error: any Error) -> Problem {
        switch error {
        case let problem as Problem:
            return problem
        case let error as CoreError:
            return problem(for: error)
        case let error as PGError:
            return problem(for: error)
        default:
            return Problem(code: "internal", title: "Internal error", status: .internalServerError)
        }
    }

    static func problem(for error: CoreError) -> Problem {
        switch error.code {
        case .notFound:
            return Problem(code: error.code.rawValue, title: "Not found", status: .notFound)
        case .unauthenticated:
            return Problem(code: error.code.rawValue, title: "Sign in required", status: .unauthorized, detail: error.message)
        case .forbidden:
            return Problem(code: error.code.rawValue, title: "Not allowed for your role", status: .forbidden, detail: error.message)
        case .conflict:
            return Problem(
                code: error.code.rawValue, title: "Conflict", status: .conflict, detail: error.message,
                errors: error.fieldErrors.isEmpty ? nil : error.fieldErrors.map { Problem.FieldError(field: $0.field, message: $0.message) })
        case .preconditionFailed:
            return Problem(code: error.code.rawValue, title: "The resource changed since you read it", status: .preconditionFailed, detail: error.message)
        case .rateLimited:
            return Problem(code: error.code.rawValue, title: "Too many attempts", status: .tooManyRequests, detail: error.message, retryAfter: error.retryAfterSeconds ?? 60)
        case .invalidInput:
            return Problem(
                code: error.code.rawValue, title: "Invalid input", status: .unprocessableContent, detail: error.message,
                errors: error.fieldErrors.isEmpty ? nil : error.fieldErrors.map { Problem.FieldError(field: $0.field, message: $0.message) })
        // A cursor the API did not issue cannot be read at all: 400, like malformed JSON.
        case .invalidCursor:
            return Problem(code: error.code.rawValue, title: "Invalid cursor", status: .badRequest, detail: error.message)
        case .migrationsPending, .migrationChanged, .migrationMissing:
            return Problem(code: "not-ready", title: "Service not ready", status: .serviceUnavailable, detail: error.message, retryAfter: 5)
        default:
            return Problem(code: "internal", title: "Internal error", status: .internalServerError)
        }
    }

    /// An upload the import cannot take (no file part, a malformed body, an unknown entity, an
    /// unreadable mapping, a legacy .xls…): the request itself is wrong, so 400 rather than 422.
    static func uploadProblem(for error: CoreError) -> Problem {
        guard error.code == .invalidInput else { return problem(for: error) }
        return Problem(
            code: "invalid-upload", title: "The upload cannot be imported", status: .badRequest, detail: error.message,
            errors: error.fieldErrors.isEmpty ? nil : error.fieldErrors.map { Problem.FieldError(field: $0.field, message: $0.message) })
    }

    static func problem(for error: PGError) -> Problem {
        if error.kind == .poolTimeout || error.kind == .poolClosed || error.isConnectionLoss {
            return Problem(code: "database-unavailable", title: "Database unavailable", status: .serviceUnavailable, retryAfter: 2)
        }
        switch error.code {
        case .uniqueViolation?, .exclusionViolation?:
            return Problem(code: "conflict", title: "Conflicts with an existing record", status: .conflict)
        case .foreignKeyViolation?:
            return Problem(code: "reference-conflict", title: "Refers to a missing record or is still referenced", status: .conflict)
        case .checkViolation?, .notNullViolation?:
            return Problem(code: "invalid-input", title: "Invalid input", status: .unprocessableContent)
        // A value PostgreSQL cannot read (a date out of range, a malformed number or id): the
        // request was validated too little, but it is still the caller's input, not a 500.
        case .invalidTextRepresentation?, .invalidDatetimeFormat?, .datetimeFieldOverflow?, .numericValueOutOfRange?:
            return Problem(code: "invalid-value", title: "A value in the request cannot be read", status: .badRequest)
        // A row-level security refusal: whatever was targeted does not exist for this caller.
        case .insufficientPrivilege?:
            return Problem(code: "not-found", title: "Not found", status: .notFound)
        case .serializationFailure?, .deadlockDetected?:
            return Problem(code: "retry", title: "Concurrent update, retry", status: .serviceUnavailable, retryAfter: 1)
        case .queryCanceled?:
            return Problem(code: "timeout", title: "The request took too long", status: .serviceUnavailable, retryAfter: 2)
        default:
            return Problem(code: "internal", title: "Internal error", status: .internalServerError)
        }
    }
}

extension PGError.Code {
    static let invalidDatetimeFormat: PGError.Code = "22007"
    static let datetimeFieldOverflow: PGError.Code = "22008"
    static let numericValueOutOfRange: PGError.Code = "22003"
}
