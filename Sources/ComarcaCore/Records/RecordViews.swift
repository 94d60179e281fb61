public import Foundation

/// A record as callers see it (HTTP bodies, CLI output). `version` is the value for If-Match.
public struct RecordView: Sendable, Codable, Equatable {
    public let id: UUID
    public let zoneId: UUID
    /// How the record was placed in its zone when created: `explicit` (the caller named it),
    /// `zone_column` or `owner` (an import's zone or owner column), `postal_prefix:08`, `province:17`, `default` (the
    /// tenant's assignment rules), `creator` (the creator's own zone); nil for older records.
    public let zoneRule: String?
    public let ownerId: UUID?
    public let accountId: UUID?
    public let stage: Stage
    public let disqualifiedReason: String?
    public let firstName: String?
    public let lastName: String?
    public let companyName: String?
    public let email: String?
    public let phone: String?
    public let taxId: String?
    public let displayName: String
    public let source: String?
    public let campaignId: UUID?
    public let externalId: String?
    public let custom: [String: FieldValue]
    public let version: Int
    public let createdAt: Date
    public let updatedAt: Date
    public let convertedAt: Date?
    /// The earliest open activity with a due date, if any.
    public let nextFollowUp: FollowUp?

    public struct FollowUp: Sendable, Codable, Equatable {
        public let activityId: UUID
        public let kind: ActivityKind
        public let subject: String
        public let dueAt: Date
    }
}

/// What a caller gives to create a record. Every field is optional; at least one of a name, a
/// company, an email or a phone is needed for a display name. Values are normalised (email lower
/// case, phone E.164, tax id canonical) before they are stored or compared.
public struct RecordInput: Sendable, Codable, Equatable {
    public var firstName: String?
    public var lastName: String?
    public var companyName: String?
    public var email: String?
    public var phone: String?
    public var taxId: String?
    /// Where the record came from (web, e-commerce, event, outbound, mailing, referral, ads…);
    /// kept from creation onward.
    public var source: String?
    /// The campaign that brought it; kept from creation onward.
    public var campaignId: UUID?
    /// The id in the client's own system (imports, integrations).
    public var externalId: String?
    /// The zone to create it in. When absent, the tenant's zone assignment rules decide from the
    /// record's postal code and province (if the caller can write there); otherwise, and when the
    /// zone given is not visible to the caller, the caller's own zone.
    public var zoneId: UUID?
    /// The owner; the caller when absent.
    public var ownerId: UUID?

    public init(
        firstName: String? = nil, lastName: String? = nil, companyName: String? = nil, email: String? = nil,
        phone: String? = nil, taxId: String? = nil, source: String? = nil, campaignId: UUID? = nil,
        externalId: String? = nil, zoneId: UUID? = nil, ownerId: UUID? = nil
    ) {
        self.firstName = firstName
        self.lastName = lastName
        self.companyName = companyName
        self.email = email
        self.phone = phone
        self.taxId = taxId
        self.source = source
        self.campaignId = campaignId
        self.externalId = externalId
        self.zoneId = zoneId
        self.ownerId = ownerId
    }
}

/// A partial update of a record's own fields: nil leaves a field as it is, an empty (or blank)
/// string clears it. Stage, zone and owner change only through lifecycle moves and reassign;
/// source and campaign never change after creation.
public struct RecordChanges: Sendable, Codable, Equatable {
    public var firstName: String?
    public var lastName: String?
    public var companyName: String?
    public var email: String?
    public var phone: String?
    public var taxId: String?
    public var externalId: String?

    public init(
        firstName: String? = nil, lastName: String? = nil, companyName: String? = nil, email: String? = nil,
        phone: String? = nil, taxId: String? = nil, externalId: String? = nil
    ) {
        self.firstName = firstName
        self.lastName = lastName
        self.companyName = companyName
        self.email = email
        self.phone = phone
        self.taxId = taxId
        self.externalId = externalId
    }
}

/// One entry of a record's history.
public struct RecordEventView: Sendable, Codable, Equatable {
    public let id: Int
    public let recordId: UUID
    public let zoneId: UUID
    /// `created`, `stage` (a lifecycle move) or `reassigned`.
    public let kind: String
    public let fromStage: Stage?
    public let toStage: Stage
    public let reason: String?
    public let actorId: UUID?
    public let occurredAt: Date
    public let detail: Detail

    /// Lineage and context of an event; only the fields that apply are set.
    public struct Detail: Sendable, Codable, Equatable {
        public var move: String?
        public var note: String?
        public var accountId: UUID?
        public var accountCreated: Bool?
        public var opportunityId: UUID?
        public var fromZoneId: UUID?
        public var toZoneId: UUID?
        public var fromOwnerId: UUID?
        public var toOwnerId: UUID?

        public init(
            move: String? = nil, note: String? = nil, accountId: UUID? = nil, accountCreated: Bool? = nil,
            opportunityId: UUID? = nil, fromZoneId: UUID? = nil, toZoneId: UUID? = nil,
            fromOwnerId: UUID? = nil, toOwnerId: UUID? = nil
        ) {
            self.move = move
            self.note = note
            self.accountId = accountId
            self.accountCreated = accountCreated
            self.opportunityId = opportunityId
            self.fromZoneId = fromZoneId
            self.toZoneId = toZoneId
            self.fromOwnerId = fromOwnerId
            self.toOwnerId = toOwnerId
        }
    }
}

/// How a conversion finds the contact's account.
public enum AccountChoice: Sendable, Equatable {
    /// An existing account the caller can see.
    case link(UUID)
    /// A new account in the record's zone.
    case create(name: String, taxID: String?)
    /// By the record's tax id (CIF) first, then by its company name folded; none found creates one
    /// from the record's company name and tax id; several found is a `conflict` listing them.
    case match
}

/// The optional opportunity a conversion opens.
public struct OpportunityInput: Sendable, Codable, Equatable {
    public var name: String
    public var amount: Decimal?
    public var expectedClose: CalendarDate?

    public init(name: String, amount: Decimal? = nil, expectedClose: CalendarDate? = nil) {
        self.name = name
        self.amount = amount
        self.expectedClose = expectedClose
    }
}

/// What a conversion did.
public struct ConversionResult: Sendable, Codable, Equatable {
    public let record: RecordView
    public let account: AccountView
    public let accountCreated: Bool
    public let opportunity: OpportunityView?
}

/// An opportunity (no pipeline yet: `stage` is `new` until pipelines exist).
public struct OpportunityView: Sendable, Codable, Equatable {
    public let id: UUID
    public let zoneId: UUID
    public let accountId: UUID?
    public let recordId: UUID?
    public let ownerId: UUID?
    public let name: String
    public let amount: Decimal?
    public let currency: String
    public let stage: String
    public let expectedClose: CalendarDate?
    /// `open`, `won` or `lost`.
    public let status: String
    public let wonAt: Date?
    public let lostAt: Date?
    public let lostReason: String?
    public let source: String?
    public let campaignId: UUID?
    public let version: Int
    public let createdAt: Date
    public let updatedAt: Date
}

/// A calendar date (`YYYY-MM-DD`) in views and inputs, coded as that string in JSON.
public struct CalendarDate: Sendable, Codable, Equatable, Hashable, Comparable, CustomStringConvertible {
    public let year: Int
    public let month: Int
    public let day: Int

    public init(year: Int, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    /// Parses `YYYY-MM-DD`; nil when it is not a real date.
    public init?(_ text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
            let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]), (1...12).contains(m), d >= 1
        else { return nil }
        let days = [31, (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        guard d <= days[m - 1] else { return nil }
        self.init(year: y, month: m, day: d)
    }

    public var description: String {
        String(format: "%04d-%02d-%02d", year, month, day)
    }

    public static func < (a: Self, b: Self) -> Bool { (a.year, a.month, a.day) < (b.year, b.month, b.day) }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let value = Self(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "expected a date YYYY-MM-DD"))
        }
        self = value
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
