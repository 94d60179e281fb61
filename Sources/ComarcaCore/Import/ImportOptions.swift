public import Foundation

/// What a file's rows become.
public enum ImportEntity: String, Sendable, Hashable, Codable, CaseIterable {
    /// Records in stage `target` unless a stage column says otherwise.
    case records
    /// Records in stage `contact` (people already quoted or customers).
    case contacts
    case accounts
    case activities

    var fieldEntity: FieldEntity {
        switch self {
        case .records, .contacts: .records
        case .accounts: .accounts
        case .activities: .activities
        }
    }

    /// Permissions are those of the entity the rows become.
    var permissionEntity: Entity { Entity(rawValue: fieldEntity.rawValue)! }

    /// Where rows of this entity are written (import_rows.entity).
    var table: String { fieldEntity.rawValue }

    /// Import order inside a workbook: parents first.
    var dependencyRank: Int {
        switch self {
        case .accounts: 0
        case .records, .contacts: 1
        case .activities: 2
        }
    }

    /// The entity a sheet name suggests ("Cuentas", "Contactos", "Actividades"…), if any.
    public static func guess(sheetName: String) -> ImportEntity? {
        let name = Normalize.folded(sheetName)
        let table: [(ImportEntity, [String])] = [
            (.accounts, ["accounts", "account", "cuentas", "cuenta", "empresas", "empresa", "companies", "clientes empresa"]),
            (.contacts, ["contacts", "contactos", "contacto"]),
            (.records, ["records", "registros", "leads", "potenciales", "publico objetivo", "targets", "prospects"]),
            (.activities, ["activities", "actividades", "actividad", "tareas", "llamadas"]),
        ]
        return table.first { $0.1.contains(name) }?.0
    }
}

public enum ImportMode: String, Sendable, Hashable, Codable, CaseIterable {
    /// Only new rows; a row that matches an existing one is rejected as a duplicate.
    case create
    /// Only existing rows; a row without a match is rejected.
    case update
    /// Create or update.
    case upsert
}

/// The key that says "this row is that existing one".
public enum ImportMatchKey: String, Sendable, Hashable, Codable, CaseIterable {
    case externalID = "external_id"
    case taxID = "tax_id"
    case email
    /// Accounts only: the folded company name.
    case name
}

/// Day/month order of dates written as text.
public enum ImportDateOrder: String, Sendable, Hashable, Codable {
    case dayMonth = "dmy"
    case monthDay = "mdy"
}

/// Per-import locale. Dates written as text decide their order per column from the data; the
/// locale's order is used only when a column gives no evidence either way.
public struct ImportLocale: Sendable, Hashable, Codable {
    public var dateOrder: ImportDateOrder = .dayMonth
    /// "1.234,56" (Spanish) when true, "1,234.56" when false.
    public var decimalComma: Bool = true
    public var phoneCountry: String = "ES"
    /// Time zone of date-times written without one.
    public var timeZone: String = "Europe/Madrid"
    public var currency: String = "EUR"

    public init() {}

    enum CodingKeys: String, CodingKey {
        case dateOrder = "date_order", decimalComma = "decimal_comma", phoneCountry = "phone_country"
        case timeZone = "time_zone", currency
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        dateOrder = try c.decodeIfPresent(ImportDateOrder.self, forKey: .dateOrder) ?? .dayMonth
        decimalComma = try c.decodeIfPresent(Bool.self, forKey: .decimalComma) ?? true
        phoneCountry = try c.decodeIfPresent(String.self, forKey: .phoneCountry) ?? "ES"
        timeZone = try c.decodeIfPresent(String.self, forKey: .timeZone) ?? "Europe/Madrid"
        currency = try c.decodeIfPresent(String.self, forKey: .currency) ?? "EUR"
    }
}

/// How columns become fields, and what fills the gaps. Saved per tenant under a name, or given as
/// a YAML file (`--mapping`), or empty (headers matched by name, label and alias).
public struct ImportMapping: Sendable, Hashable, Codable {
    /// Header text (as in the file) → field key, or `skip` to leave the column out.
    public var columns: [String: String] = [:]
    /// Field key → value used when the row's cell is empty.
    public var defaults: [String: String] = [:]
    /// Field key → value for every row (a column for it is then an error).
    public var constants: [String: String] = [:]
    public var locale: ImportLocale = ImportLocale()
    public var mode: ImportMode?
    public var match: ImportMatchKey?
    /// Workbooks: sheet name → what the sheet becomes (its entity, else guessed from the sheet
    /// name; its own mode and match key, else the import's).
    public var sheets: [String: ImportSheetMapping] = [:]
    /// Header row number when detection should not guess.
    public var headerRow: Int?

    public init() {}

    static let skip = "skip"

    enum CodingKeys: String, CodingKey {
        case columns, defaults, constants, locale, mode, match, sheets
        case headerRow = "header_row"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        columns = try c.decodeIfPresent([String: String].self, forKey: .columns) ?? [:]
        defaults = try c.decodeIfPresent([String: String].self, forKey: .defaults) ?? [:]
        constants = try c.decodeIfPresent([String: String].self, forKey: .constants) ?? [:]
        locale = try c.decodeIfPresent(ImportLocale.self, forKey: .locale) ?? ImportLocale()
        mode = try c.decodeIfPresent(ImportMode.self, forKey: .mode)
        match = try c.decodeIfPresent(ImportMatchKey.self, forKey: .match)
        sheets = try c.decodeIfPresent([String: ImportSheetMapping].self, forKey: .sheets) ?? [:]
        headerRow = try c.decodeIfPresent(Int.self, forKey: .headerRow)
    }

    var jsonText: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: (try? encoder.encode(self)) ?? Data("{}".utf8), as: UTF8.self)
    }

    static func fromJSON(_ text: String) throws -> ImportMapping {
        try JSONDecoder().decode(ImportMapping.self, from: Data(text.utf8))
    }
}

/// What one sheet of a workbook becomes. A workbook whose sheets need different match keys
/// (accounts by tax id, contacts by e-mail) upserts in one import:
/// `sheets: {Cuentas: {entity: accounts, mode: upsert, match: tax_id}, Contactos: {entity: contacts, mode: upsert, match: email}}`.
/// A bare entity (`Cuentas: accounts`) is the short form. A sheet's own mode and match win over
/// the import's (`--mode`, `--match`, the mapping's `mode` and `match`).
public struct ImportSheetMapping: Sendable, Hashable, Codable {
    /// Nil: guessed from the sheet's name.
    public var entity: ImportEntity?
    public var mode: ImportMode?
    public var match: ImportMatchKey?

    public init(entity: ImportEntity? = nil, mode: ImportMode? = nil, match: ImportMatchKey? = nil) {
        self.entity = entity
        self.mode = mode
        self.match = match
    }

    enum CodingKeys: String, CodingKey {
        case entity, mode, match
    }

    public init(from decoder: any Decoder) throws {
        if let single = try? decoder.singleValueContainer(), let entity = try? single.decode(ImportEntity.self) {
            self.init(entity: entity)
            return
        }
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            entity: try c.decodeIfPresent(ImportEntity.self, forKey: .entity), mode: try c.decodeIfPresent(ImportMode.self, forKey: .mode),
            match: try c.decodeIfPresent(ImportMatchKey.self, forKey: .match))
    }

    /// The short form when only the entity is given (as mappings were saved before).
    public func encode(to encoder: any Encoder) throws {
        if let entity, mode == nil, match == nil {
            var single = encoder.singleValueContainer()
            try single.encode(entity)
            return
        }
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(entity, forKey: .entity)
        try c.encodeIfPresent(mode, forKey: .mode)
        try c.encodeIfPresent(match, forKey: .match)
    }
}

/// Everything one import is asked to do.
public struct ImportRequest: Sendable, Hashable {
    public var entity: ImportEntity?
    public var fileURL: URL
    /// The name the user knows the file by (uploads are spooled under another name).
    public var fileName: String
    public var sheet: String?
    public var mapping: ImportMapping
    public var mode: ImportMode
    public var match: ImportMatchKey?
    public var dryRun: Bool
    public var allOrNothing: Bool
    /// Create a missing account named in a record row instead of rejecting the row.
    public var createMissingParents: Bool
    /// Whether the file may be deleted when the job is over (service uploads) or belongs to the user (CLI).
    public var ownsFile: Bool

    public init(
        entity: ImportEntity?, fileURL: URL, fileName: String? = nil, sheet: String? = nil, mapping: ImportMapping = ImportMapping(),
        mode: ImportMode? = nil, match: ImportMatchKey? = nil, dryRun: Bool = false, allOrNothing: Bool = false,
        createMissingParents: Bool = false, ownsFile: Bool = false
    ) {
        self.entity = entity
        self.fileURL = fileURL
        self.fileName = fileName ?? fileURL.lastPathComponent
        self.sheet = sheet
        self.mapping = mapping
        self.mode = mode ?? mapping.mode ?? .create
        self.match = match ?? mapping.match
        self.dryRun = dryRun
        self.allOrNothing = allOrNothing
        self.createMissingParents = createMissingParents
        self.ownsFile = ownsFile
    }
}
