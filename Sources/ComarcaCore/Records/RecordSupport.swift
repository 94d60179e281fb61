import Foundation
import PGClient

/// Small helpers shared by the record, account and activity services.
enum RecordSupport {
    /// Trimmed text, nil when absent or blank.
    static func clean(_ text: String?) -> String? {
        guard let text else { return nil }
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return trimmed.isEmpty ? nil : trimmed
    }

    /// Trimmed text of at most `max` characters, nil when absent or blank.
    static func text(_ value: String?, field: String, max: Int = 200) throws -> String? {
        guard let value = clean(value) else { return nil }
        guard value.count <= max else { throw CoreError.invalid(field, "must be at most \(max) characters") }
        return value
    }

    static func email(_ value: String?) throws -> String? {
        try clean(value).map { try Normalize.email($0, field: "email") }
    }

    static func phone(_ value: String?) throws -> String? {
        try clean(value).map { try Normalize.phone($0, defaultCountry: "ES", field: "phone") }
    }

    static func taxID(_ value: String?, field: String = "taxId") throws -> String? {
        try clean(value).map { try Normalize.spanishTaxID($0, field: field) }
    }

    /// A source code: lower case letters, digits and dashes (web, e-commerce, event, referral…).
    static func source(_ value: String?) throws -> String? {
        guard let value = clean(value)?.lowercased() else { return nil }
        guard value.count <= 40, value.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else {
            throw CoreError.invalid("source", "must be a short code of letters, digits and dashes, like web or e-commerce")
        }
        return value
    }

    /// Runs every check and reports all field errors at once.
    static func collect(_ checks: [() throws -> Void]) throws {
        var errors: [CoreError.FieldError] = []
        for check in checks {
            do {
                try check()
            } catch let error as CoreError where error.code == .invalidInput {
                errors += error.fieldErrors.isEmpty ? [CoreError.FieldError(field: "", message: error.message)] : error.fieldErrors
            }
        }
        guard errors.isEmpty else {
            throw CoreError(.invalidInput, errors.map { "\($0.field): \($0.message)" }.joined(separator: "; "), fieldErrors: errors)
        }
    }

    /// Runs `body` under a savepoint: when it throws, its writes are undone even if the caller
    /// catches the error and goes on with the transaction (imports do, row by row).
    static func atomically<T>(_ connection: PGConnection, _ body: () throws -> T) throws -> T {
        try connection.simpleQuery(unsafeSQL: "SAVEPOINT comarca_write")
        do {
            let value = try body()
            try connection.simpleQuery(unsafeSQL: "RELEASE SAVEPOINT comarca_write")
            return value
        } catch {
            _ = try? connection.simpleQuery(unsafeSQL: "ROLLBACK TO SAVEPOINT comarca_write")
            throw error
        }
    }

    // MARK: - Field specs

    /// The one call site for the tenant's field specs, for every entity and path: the given
    /// built-in values (column keys such as `email`, `source`; "" clears) and custom values go
    /// through `FieldSpecSet.validate` together, so the tenant's settings for built-ins (required,
    /// required from a stage, choice options such as the source list) and its custom fields are
    /// checked alike. Returns both parts normalised; empty values come back as `.null`.
    static func validateFields(
        entity: FieldEntity, builtins: [String: String], custom: [String: FieldValue], stage: Stage?, partial: Bool,
        existing: [String: FieldValue]? = nil, session: Session, on connection: PGConnection
    ) throws -> (builtins: [String: FieldValue], custom: [String: FieldValue], uniqueKeys: Set<String>) {
        let specs = try FieldSpecs.load(tenantID: session.tenantID, entity: entity, on: connection)
        var values = builtins.mapValues { FieldValue.string($0) }
        var errors: [CoreError.FieldError] = []
        for (name, value) in custom {
            if let spec = specs.field(name), spec.builtin {
                errors.append(.init(field: "custom.\(name)", message: "is the built-in field \(spec.key); give it as such"))
            } else {
                values[name] = value
            }
        }
        guard errors.isEmpty else {
            throw CoreError(.invalidInput, errors.map { "\($0.field): \($0.message)" }.joined(separator: "; "), fieldErrors: errors)
        }
        let result = try specs.validate(values, stage: stage?.rawValue, partial: partial, existing: existing)
        let builtinKeys = specs.builtinKeys
        let uniqueKeys = Set(specs.active.filter(\.unique).map(\.key))
        return (result.filter { builtinKeys.contains($0.key) }, result.filter { !builtinKeys.contains($0.key) }, uniqueKeys)
    }

    /// Checks the fields required from `stage` on against a row's stored values (a lifecycle move).
    static func requireStageFields(
        entity: FieldEntity, existing: [String: FieldValue], stage: Stage, session: Session, on connection: PGConnection
    ) throws {
        let specs = try FieldSpecs.load(tenantID: session.tenantID, entity: entity, on: connection)
        _ = try specs.validate([:], stage: stage.rawValue, partial: true, existing: existing)
    }

    /// Built-in column values and custom values in one dictionary, as `validate` reads `existing`.
    static func existingValues(builtins: [String: String?], custom: [String: FieldValue]) -> [String: FieldValue] {
        var values = custom
        for (key, value) in builtins { values[key] = value.map(FieldValue.string) ?? .null }
        return values
    }

    /// A unique field's claim (sql/0007) refused: a conflict naming the field only, never the
    /// value or the row that holds it. PostgreSQL leaves the key out of the error under RLS, so
    /// the field is the unique one among `written` (the row's values by field key); with several,
    /// all of them are named.
    static func uniqueFieldConflict(_ error: PGError, uniqueKeys: Set<String>, written: [String: FieldValue]) -> CoreError? {
        guard error.code == .uniqueViolation, error.constraint == "record_unique_values_value_key" else { return nil }
        let fields = uniqueKeys.filter { !(written[$0]?.isEmpty ?? true) }.sorted()
        let names = fields.isEmpty ? ["custom"] : fields
        let message = "already used by another row of the company (the field is unique)"
        return CoreError(
            .conflict, names.count == 1 ? "\(names[0]): this value is \(message)" : "one of \(names.joined(separator: ", ")) holds a value \(message)",
            fieldErrors: names.map { .init(field: $0, message: message) })
    }

    static func customJSON(_ values: [String: FieldValue]) -> String {
        FieldValue.jsonObject(values.filter { !$0.value.isEmpty })
    }

    static func custom(fromJSON text: String) throws -> [String: FieldValue] {
        try JSONDecoder().decode([String: FieldValue].self, from: Data(text.utf8))
    }

    // MARK: - JSON detail

    static func detailJSON(_ detail: RecordEventView.Detail) -> String {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys]
        guard let data = try? encoder.encode(detail) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

    static func detail(fromJSON text: String) -> RecordEventView.Detail {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return (try? decoder.decode(RecordEventView.Detail.self, from: Data(text.utf8))) ?? RecordEventView.Detail()
    }

    // MARK: - Errors

    /// Maps a write refused by a policy (42501: an invisible reference) to not-found, and passes
    /// everything else through.
    static func mapWriteError(_ error: any Error, notFound: String) -> any Error {
        if let pg = error as? PGError, pg.code == .insufficientPrivilege {
            return CoreError(.notFound, notFound)
        }
        return error
    }

    /// A zone the session can see (and that exists in the tenant).
    static func zoneIsVisible(_ zoneID: UUID, session: Session, on connection: PGConnection) throws -> Bool {
        if let visible = session.visibleZoneIDs, !visible.contains(zoneID) { return false }
        return try connection.query("""
            SELECT count(*) FROM zones WHERE tenant_id = \(session.tenantID) AND zone_id = \(zoneID)
            """).scalar(Int.self) == 1
    }

    /// An owner for a row of `zoneID`: an active user the caller may assign to and who can see
    /// that zone (`comarca.owner_fits`, the rule the database's trigger enforces), else
    /// `invalidInput` on `field`. A user of another company reads like a random id.
    static func requireOwnerFits(_ userID: UUID, zoneID: UUID, field: String, session: Session, on connection: PGConnection) throws {
        let fits = try connection.query("SELECT comarca.owner_fits(\(userID), \(zoneID))").scalar(Bool.self)
        guard fits else {
            throw CoreError.invalid(field, "must be an active user you may assign to, whose zone covers this one")
        }
    }

    /// A write the owner trigger (`<table>_owner_in_scope`) or the owner's foreign key
    /// (`<table>_owner_fkey`: no such user in the tenant, left to the key by sql/0024) refused, as
    /// the field error the pre-check gives, for paths where the zone is only known to the database.
    static func mapOwnerError(_ error: any Error, field: String = "ownerId") -> any Error {
        if let pg = error as? PGError,
           (pg.code == .checkViolation && pg.constraint?.hasSuffix("_owner_in_scope") == true)
            || (pg.code == .foreignKeyViolation && pg.constraint?.hasSuffix("_owner_fkey") == true) {
            return CoreError.invalid(field, "must be an active user you may assign to, whose zone covers this one")
        }
        return error
    }
}
