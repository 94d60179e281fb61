public import Foundation
public import PGClient

/// Zone assignment by rule: which zone a new record goes to from its postal code or province, as
/// configured in the `assignment:` section of the tenant file (sql/0015). One set of rules serves
/// online creation (`RecordService.create`) and the importer.
///
/// Load the rules once with `ZoneAssignment.load(tenantID:on:)` inside the caller's scope, then
/// call `ZoneAssignmentRules.assign(postalCode:province:)` per record: it is pure and reads no
/// database.
public enum ZoneAssignment {
    /// `records.zone_rule` when the caller named the zone.
    public static let explicitRule = "explicit"
    /// `records.zone_rule` when an import's zone column named the zone.
    public static let zoneColumnRule = "zone_column"
    /// `records.zone_rule` when an import's owner column placed the record in that user's zone.
    public static let ownerRule = "owner"
    /// `records.zone_rule` when no rule applied (or the caller cannot write where one pointed): the
    /// creator's own zone.
    public static let creatorRule = "creator"

    /// The tenant's rules, read in the caller's transaction (every user of the tenant may read
    /// them). Empty when the tenant has none.
    public static func load(tenantID: UUID, on connection: PGConnection) throws -> ZoneAssignmentRules {
        let rows = try connection.query("""
            SELECT r.kind, r.value, r.zone_id, z.code
              FROM zone_assignment_rules r
              JOIN zones z ON z.tenant_id = r.tenant_id AND z.zone_id = r.zone_id
             WHERE r.tenant_id = \(tenantID)
             ORDER BY r.position, r.kind, r.value
            """).decode((String, String, UUID, String).self)
        return ZoneAssignmentRules(try rows.map { kind, value, zoneID, code in
            guard let match = ZoneAssignmentMatch(kind: kind, value: value) else {
                throw CoreError(.invalidInput, "zone assignment rule \(kind):\(value) is not understood")
            }
            return ZoneAssignmentRules.Rule(match: match, zoneID: zoneID, zoneCode: code)
        })
    }
}

/// What a rule matches. `description` is the text kept in `records.zone_rule` when it fires:
/// `postal_prefix:08`, `province:17`, `default`.
public enum ZoneAssignmentMatch: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// 1 to 5 digits that a postal code starts with (`isValidPostalPrefix`).
    case postalPrefix(String)
    /// A province by INE code, 1...52 (`SpanishProvinces`).
    case province(Int)
    /// Everything no other rule placed.
    case defaultZone

    /// Reads a stored rule (`kind`, `value` of sql/0015); nil when it is not one.
    public init?(kind: String, value: String) {
        switch kind {
        case "postal_prefix" where Self.isValidPostalPrefix(value): self = .postalPrefix(value)
        case "province":
            guard value.count == 2, let code = SpanishProvinces.digitsCode(value) else { return nil }
            self = .province(code)
        case "default" where value.isEmpty: self = .defaultZone
        default: return nil
        }
    }

    /// `postal_prefix`, `province` or `default` (sql/0015's kind).
    public var kind: String {
        switch self {
        case .postalPrefix: "postal_prefix"
        case .province: "province"
        case .defaultZone: "default"
        }
    }

    /// The prefix, the two-digit province code, or "" (sql/0015's value).
    public var value: String {
        switch self {
        case .postalPrefix(let prefix): prefix
        case .province(let code): code < 10 ? "0\(code)" : "\(code)"
        case .defaultZone: ""
        }
    }

    public var description: String {
        self == .defaultZone ? kind : "\(kind):\(value)"
    }

    /// The rule for people: `postal_prefix:08`, `province:17 (Girona)`, `default`.
    public var label: String {
        if case .province(let code) = self, let name = SpanishProvinces.name(of: code) { return "\(description) (\(name))" }
        return description
    }

    /// Postal prefixes, then provinces, then the default; each by value. The order `export` writes.
    public static func < (a: Self, b: Self) -> Bool {
        func rank(_ m: Self) -> Int {
            switch m {
            case .postalPrefix: 0
            case .province: 1
            case .defaultZone: 2
            }
        }
        return (rank(a), a.value) < (rank(b), b.value)
    }

    /// 1 to 5 digits that some postal code can start with: a postal code's first two digits are a
    /// province, 01-52, so "0".."5" and "01".."52" followed by up to 3 digits. "8" (an "08" that
    /// lost its leading zero) and "60" are not.
    public static func isValidPostalPrefix(_ text: String) -> Bool {
        let digits = Array(text.utf8)
        guard (1...5).contains(digits.count), digits.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return false }
        let first = Int(digits[0] - 48)
        if digits.count == 1 { return first <= 5 }
        return (1...52).contains(first * 10 + Int(digits[1] - 48))
    }
}

/// The zone a record goes to and the rule that decided it.
public struct ZoneAssignmentDecision: Sendable, Hashable {
    public let zoneID: UUID
    public let zoneCode: String
    /// `postal_prefix:08`, `province:17` or `default`: the value for `records.zone_rule`.
    public let rule: String

    public init(zoneID: UUID, zoneCode: String, rule: String) {
        self.zoneID = zoneID
        self.zoneCode = zoneCode
        self.rule = rule
    }
}

/// A tenant's zone assignment rules, ready to decide: a pure value, cheap to call once per row
/// (no database, no allocation for the usual 5-digit postal code or province spelling).
public struct ZoneAssignmentRules: Sendable, Hashable {
    public struct Rule: Sendable, Hashable {
        public let match: ZoneAssignmentMatch
        public let zoneID: UUID
        public let zoneCode: String

        public init(match: ZoneAssignmentMatch, zoneID: UUID, zoneCode: String) {
            self.match = match
            self.zoneID = zoneID
            self.zoneCode = zoneCode
        }
    }

    /// The rules in the order given (`load`: their stored order).
    public let rules: [Rule]
    /// Postal prefixes by `length * 100_000 + numeric value` ("08" → 200_008).
    private let prefixes: [Int: ZoneAssignmentDecision]
    /// The prefix lengths that have rules, longest first.
    private let prefixLengths: [Int]
    /// Index = province code (0 unused).
    private let provinces: [ZoneAssignmentDecision?]
    private let fallback: ZoneAssignmentDecision?

    /// Rules for the same match: the last one given wins (stored rules have one per match).
    public init(_ rules: [Rule]) {
        self.rules = rules
        var prefixes: [Int: ZoneAssignmentDecision] = [:]
        var lengths = Set<Int>()
        var provinces = [ZoneAssignmentDecision?](repeating: nil, count: 53)
        var fallback: ZoneAssignmentDecision?
        for rule in rules {
            let decision = ZoneAssignmentDecision(zoneID: rule.zoneID, zoneCode: rule.zoneCode, rule: rule.match.description)
            switch rule.match {
            case .postalPrefix(let prefix):
                guard ZoneAssignmentMatch.isValidPostalPrefix(prefix) else { continue }
                prefixes[prefix.count * 100_000 + Int(prefix)!] = decision
                lengths.insert(prefix.count)
            case .province(let code):
                guard (1...52).contains(code) else { continue }
                provinces[code] = decision
            case .defaultZone:
                fallback = decision
            }
        }
        self.prefixes = prefixes
        self.prefixLengths = lengths.sorted(by: >)
        self.provinces = provinces
        self.fallback = fallback
    }

    /// No rules at all: every record stays in its creator's zone.
    public static let none = ZoneAssignmentRules([])

    public var isEmpty: Bool { rules.isEmpty }

    /// The zone for a record with this postal code and province, and the rule that chose it; nil
    /// when no rule applies (the caller keeps the creator's zone, rule `creator`).
    ///
    /// In order: the longest postal prefix rule that the postal code starts with; then a province
    /// rule for the province the postal code implies (its first two digits); then a province rule
    /// for `province` (a name in any common form, or a code); then the default.
    ///
    /// `postalCode` is read as `Normalize.postalCode` leaves it (5 digits, surrounding spaces
    /// ignored); 4 digits are read with their lost leading zero; anything else is no postal code.
    public func assign(postalCode: String?, province: String?) -> ZoneAssignmentDecision? {
        if let postalCode, let digits = Self.postalDigits(postalCode) {
            for length in prefixLengths {
                if let decision = prefixes[length * 100_000 + digits.prefix(length)] { return decision }
            }
            if let decision = provinces[digits.province] { return decision }
        }
        if let province, let code = SpanishProvinces.code(for: province), let decision = provinces[code] {
            return decision
        }
        return fallback
    }

    /// A postal code's five digits as a number, with its province; nil when it is not one.
    struct PostalDigits {
        let number: Int

        /// The number formed by the first `length` digits.
        @inline(__always)
        func prefix(_ length: Int) -> Int {
            switch length {
            case 1: number / 10_000
            case 2: number / 1_000
            case 3: number / 100
            case 4: number / 10
            default: number
            }
        }

        var province: Int { number / 1_000 }
    }

    @inline(__always)
    static func postalDigits(_ text: String) -> PostalDigits? {
        var number = 0
        var count = 0
        var ended = false
        for byte in text.utf8 {
            if byte == 32 || byte == 9 {
                if count > 0 { ended = true }
                continue
            }
            guard !ended, byte >= 48, byte <= 57, count < 5 else { return nil }
            number = number * 10 + Int(byte - 48)
            count += 1
        }
        // A 4-digit code lost its leading zero in a spreadsheet: the number is the same.
        guard count == 5 || count == 4 else { return nil }
        let digits = PostalDigits(number: number)
        return (1...52).contains(digits.province) ? digits : nil
    }
}
