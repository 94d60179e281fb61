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
        case .checkViolation?, .notNullViolation?, .invalidTextRepresentation?:
            return Problem(code: "invalid-input", title: "Invalid input", status: .unprocessableContent)
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
