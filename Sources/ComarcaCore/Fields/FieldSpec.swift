public import Foundation

/// The entities that have field specs.
public enum FieldEntity: String, Sendable, Hashable, CaseIterable, Codable, Comparable {
    case records, accounts, activities, opportunities

    public static func < (a: FieldEntity, b: FieldEntity) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }

    /// Entities whose table has a `custom` jsonb column (custom fields and `unique`).
    public var hasCustomFields: Bool { self == .records || self == .accounts }

    /// Table and key column: code constants, the only identifiers that reach SQL text.
    var table: String { rawValue }
    var idColumn: String {
        switch self {
        case .records: "record_id"
        case .accounts: "account_id"
        case .activities: "activity_id"
        case .opportunities: "opportunity_id"
        }
    }
}

public enum FieldType: String, Sendable, Hashable, CaseIterable, Codable {
    case text
    case longText = "long_text"
    case integer, decimal, money, date, datetime, boolean
    case singleChoice = "single_choice"
    case multipleChoice = "multiple_choice"
    case email, phone, url
    case taxID = "tax_id"
    case postalCode = "postal_code"
    case country
    case userRef = "user_ref"
    case zoneRef = "zone_ref"

    public var isChoice: Bool { self == .singleChoice || self == .multipleChoice }

    /// Types whose canonical value is one string (a built-in text column may take any of them).
    var isSingleString: Bool {
        switch self {
        case .integer, .boolean, .multipleChoice: false
        default: true
        }
    }

    /// Types whose values can be unique within a tenant.
    var canBeUnique: Bool {
        switch self {
        case .longText, .boolean, .multipleChoice: false
        default: true
        }
    }
}

/// The lifecycle stages a field can become required from, in order.
public enum FieldStage: String, Sendable, Hashable, CaseIterable, Codable, Comparable {
    case target, potential, contact

    public static func < (a: FieldStage, b: FieldStage) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// A text in Spanish and (optionally) English.
public struct FieldLabel: Sendable, Hashable, Codable {
    public var es: String
    public var en: String?

    public init(es: String, en: String? = nil) {
        self.es = es
        self.en = en
    }
}

public struct FieldOption: Sendable, Hashable, Codable {
    public var code: String
    public var label: FieldLabel

    public init(code: String, label: FieldLabel) {
        self.code = code
        self.label = label
    }

    public init(_ code: String, _ es: String, _ en: String? = nil) {
        self.init(code: code, label: FieldLabel(es: es, en: en))
    }
}

/// One field of an entity for one tenant: a built-in field (a column; only its settings can be
/// changed) or a custom field (a key of the `custom` jsonb). Stored as JSON in `field_specs`.
public struct FieldSpec: Sendable, Hashable, Codable {
    public var key: String
    public var label: FieldLabel
    public var type: FieldType
    public var required: Bool
    public var requiredFromStage: FieldStage?
    public var unique: Bool
    public var defaultValue: FieldValue?
    public var help: String?
    /// Other names for this field: import headers and old keys after a rename.
    public var aliases: [String]
    /// For single and multiple choice.
    public var options: [FieldOption]
    /// For money: ISO 4217 code, EUR when not given.
    public var currency: String?
    public var archived: Bool
    public var builtin: Bool

    public init(
        key: String, label: FieldLabel, type: FieldType, required: Bool = false, requiredFromStage: FieldStage? = nil,
        unique: Bool = false, defaultValue: FieldValue? = nil, help: String? = nil, aliases: [String] = [],
        options: [FieldOption] = [], currency: String? = nil, archived: Bool = false, builtin: Bool = false
    ) {
        self.key = key
        self.label = label
        self.type = type
        self.required = required
        self.requiredFromStage = requiredFromStage
        self.unique = unique
        self.defaultValue = defaultValue
        self.help = help
        self.aliases = aliases
        self.options = options
        self.currency = type == .money ? (currency ?? "EUR") : nil
        self.archived = archived
        self.builtin = builtin
    }

    enum CodingKeys: String, CodingKey {
        case key, label, type, required
        case requiredFromStage = "required_from_stage"
        case unique
        case defaultValue = "default"
        case help, aliases, options, currency, archived, builtin
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            key: try c.decode(String.self, forKey: .key),
            label: try c.decode(FieldLabel.self, forKey: .label),
            type: try c.decode(FieldType.self, forKey: .type),
            required: try c.decodeIfPresent(Bool.self, forKey: .required) ?? false,
            requiredFromStage: try c.decodeIfPresent(FieldStage.self, forKey: .requiredFromStage),
            unique: try c.decodeIfPresent(Bool.self, forKey: .unique) ?? false,
            defaultValue: try c.decodeIfPresent(FieldValue.self, forKey: .defaultValue),
            help: try c.decodeIfPresent(String.self, forKey: .help),
            aliases: try c.decodeIfPresent([String].self, forKey: .aliases) ?? [],
            options: try c.decodeIfPresent([FieldOption].self, forKey: .options) ?? [],
            currency: try c.decodeIfPresent(String.self, forKey: .currency),
            archived: try c.decodeIfPresent(Bool.self, forKey: .archived) ?? false,
            builtin: try c.decodeIfPresent(Bool.self, forKey: .builtin) ?? false)
    }

    /// The label in `language` (`es` or `en`), falling back to Spanish.
    public func label(_ language: String) -> String {
        language == "en" ? (label.en ?? label.es) : label.es
    }

    /// The spec without `archived`, for comparing two versions of a field.
    var comparable: FieldSpec {
        var copy = self
        copy.archived = false
        return copy
    }

    // The same pattern as field_specs_key_format in sql/0007.
    static let keyPattern = "^[a-z][a-z0-9_]{0,62}$"
    static func isValidKey(_ key: String) -> Bool { key.range(of: keyPattern, options: .regularExpression) != nil }
}

/// A field as it appears in a fields file: the spec plus what it takes to get there from the stored
/// one (`renamed_from`, `remap` of choice values). Neither is stored.
public struct FieldSpecEntry: Sendable, Hashable {
    public var spec: FieldSpec
    public var renamedFrom: String?
    /// Old choice code → new code, for values whose option is gone.
    public var remap: [String: String]

    public init(_ spec: FieldSpec, renamedFrom: String? = nil, remap: [String: String] = [:]) {
        self.spec = spec
        self.renamedFrom = renamedFrom
        self.remap = remap
    }
}

/// The fields section of a tenant file: per entity, the configured fields in order. An entity that
/// is absent is left as it is; a custom field absent from a listed entity is archived.
public typealias FieldsConfig = [FieldEntity: [FieldSpecEntry]]

/// The built-in fields of each entity, with their defaults. Their keys are column names.
public enum BuiltinFields {
    public static func all(_ entity: FieldEntity) -> [FieldSpec] {
        switch entity {
        case .records: records
        case .accounts: accounts
        case .activities: activities
        case .opportunities: opportunities
        }
    }

    public static func spec(_ entity: FieldEntity, _ key: String) -> FieldSpec? {
        all(entity).first { $0.key == key }
    }

    /// Column names a custom key may not take (they would be read as the column).
    static func reservedKeys(_ entity: FieldEntity) -> Set<String> {
        Set(all(entity).map(\.key)).union([
            "tenant_id", entity.idColumn, "zone_id", "owner_user_id", "account_id", "record_id", "stage",
            "disqualified_reason", "external_id", "custom", "version", "created_at", "updated_at", "created_by", "id",
            "zone", "owner",
        ])
    }

    private static func field(
        _ key: String, _ es: String, _ en: String, _ type: FieldType, required: Bool = false, options: [FieldOption] = []
    ) -> FieldSpec {
        FieldSpec(key: key, label: FieldLabel(es: es, en: en), type: type, required: required, options: options, builtin: true)
    }

    static let sources: [FieldOption] = [
        FieldOption("web", "Web", "Web"), FieldOption("ecommerce", "Comercio electrónico", "E-commerce"),
        FieldOption("event", "Evento", "Event"), FieldOption("outbound", "Prospección", "Outbound"),
        FieldOption("mailing", "Mailing", "Mailing"), FieldOption("referral", "Recomendación", "Referral"),
        FieldOption("ads", "Publicidad", "Ads"), FieldOption("phone", "Teléfono", "Phone"),
        FieldOption("import", "Importación", "Import"), FieldOption("other", "Otro", "Other"),
    ]

    static let records: [FieldSpec] = [
        field("first_name", "Nombre", "First name", .text),
        field("last_name", "Apellidos", "Last name", .text),
        field("company_name", "Empresa", "Company", .text),
        field("display_name", "Nombre para mostrar", "Display name", .text),
        field("email", "Correo electrónico", "Email", .email),
        field("phone", "Teléfono", "Phone", .phone),
        field("tax_id", "NIF/CIF", "Tax id", .taxID),
        field("source", "Origen", "Source", .singleChoice, options: sources),
        field("campaign_id", "Campaña", "Campaign", .text),
    ]

    static let accounts: [FieldSpec] = [
        field("name", "Razón social", "Name", .text, required: true),
        field("tax_id", "CIF", "Tax id", .taxID),
        field("sector", "Sector", "Sector", .text),
        field("size", "Tamaño", "Size", .text),
        field("province", "Provincia", "Province", .text),
    ]

    static let activities: [FieldSpec] = [
        field("subject", "Asunto", "Subject", .text, required: true),
        field("kind", "Tipo", "Kind", .singleChoice, required: true, options: [
            FieldOption("call", "Llamada", "Call"), FieldOption("meeting", "Reunión", "Meeting"),
            FieldOption("email", "Correo", "Email"), FieldOption("task", "Tarea", "Task"), FieldOption("note", "Nota", "Note"),
        ]),
        field("body", "Descripción", "Description", .longText),
        field("due_at", "Vencimiento", "Due", .datetime),
        field("done_at", "Hecha", "Done", .datetime),
        field("outcome", "Resultado", "Outcome", .text),
        field("owner_user_id", "Responsable", "Owner", .userRef),
    ]

    static let opportunities: [FieldSpec] = [
        field("name", "Nombre", "Name", .text, required: true),
        field("amount", "Importe", "Amount", .money),
        field("expected_close", "Cierre previsto", "Expected close", .date),
        field("owner_user_id", "Responsable", "Owner", .userRef),
    ]
}
