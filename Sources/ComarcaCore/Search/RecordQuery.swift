public import Foundation
public import PGClient

/// Lists and searches records for a session: filters, sort, keyset pagination and a search term
/// that stays index-backed under row-level security (sql/0009: folded word tokens matched by
/// prefix with leakproof operators).
public enum RecordQuery {
    public enum Sort: String, Sendable, CaseIterable {
        case updated, created, name
    }

    public struct CustomFilter: Sendable, Equatable {
        public enum Operator: String, Sendable { case eq, gte, lte }
        public let key: String
        public let op: Operator
        public let value: String
        /// The field's declared type, which decides how values compare; set from the tenant's
        /// field specs when the statement is built, never guessed from the value's text.
        public var type: FieldType?
        public init(key: String, op: Operator, value: String, type: FieldType? = nil) {
            self.key = key
            self.op = op
            self.value = value
            self.type = type
        }
    }

    public struct Filter: Sendable {
        public var stages: [String] = []
        public var zoneIDs: [UUID] = []
        public var source: String?
        public var campaignID: UUID?
        public var ownerID: UUID?
        public var updatedSince: Date?
        public var custom: [CustomFilter] = []
        /// Free text: every word must prefix-match a word of the name, company, e-mail, phone or tax id.
        public var search: String?
        public var sort: Sort = .updated
        public var descending = true
        public init() {}
    }

    public struct Summary: Sendable, Codable, Equatable {
        public let id: UUID
        public let zoneId: UUID
        public let ownerId: UUID?
        public let accountId: UUID?
        public let stage: String
        public let disqualifiedReason: String?
        public let displayName: String
        public let firstName: String?
        public let lastName: String?
        public let companyName: String?
        public let email: String?
        public let phone: String?
        public let taxId: String?
        public let source: String?
        public let campaignId: UUID?
        public let externalId: String?
        public let custom: [String: FieldValue]
        public let version: Int
        public let createdAt: Date
        public let updatedAt: Date
        /// Which rule placed the record in its zone at creation (`RecordView.zoneRule`).
        public let zoneRule: String?
    }

    static let stages: Set<String> = ["target", "potential", "contact", "disqualified"]
    static let customKeyPattern = #"^[a-z][a-z0-9_]{0,62}$"#

    /// The words of a search, folded the way sql/0009 folds tokens; words under 2 characters
    /// are dropped (they would match half the tenant), at most 5 words.
    static func searchTerms(_ text: String) throws -> [String] {
        let words = text.split(whereSeparator: { $0.isWhitespace }).map(String.init).filter { $0.count >= 2 }
        guard words.count <= 5 else { throw CoreError.invalid("q", "at most 5 words") }
        guard words.allSatisfy({ $0.count <= 100 }) else { throw CoreError.invalid("q", "words of at most 100 characters") }
        return words
    }

    /// One page of records. A search is planned first (`searchPlan`) unless `search` says how;
    /// every plan gives the same page.
    public static func list(_ session: Session, filter: Filter, page: PageRequest, search: SearchPlan? = nil,
                            on connection: PGConnection) throws -> Page<Summary> {
        try session.require(.list, on: .records)
        guard let sql = try statement(session, filter: filter, page: page, search: search, on: connection) else {
            return Page(items: [], nextCursor: nil)
        }
        return try run(sql, page: page, on: connection)
    }

    /// The same list as `list`, with PostgreSQL writing the JSON of the page (`{"items": [...],
    /// "nextCursor": ...}`): for HTTP, where decoding rows into Swift values only to encode them
    /// again cost more than the query. Same statement, same filters, same cursor.
    public static func listJSON(_ session: Session, filter: Filter, page: PageRequest, search: SearchPlan? = nil,
                                on connection: PGConnection) throws -> String {
        try session.require(.list, on: .records)
        guard let inner = try statement(session, filter: filter, page: page, search: search, on: connection) else {
            return #"{"items":[],"nextCursor":null}"#
        }
        let sql = jsonStatement(around: inner, filter: filter, page: page)
        if sql.reusesPlan && connection.usePreparedStatements {
            // Latest-N lists plan the same whatever their values: plan once, not per request.
            try connection.setLocal(.genericPlans)
        }
        let (items, fetched, lastKey, lastID) = try connection.query(sql).decode((String, Int, String?, String?).self)[0]
        var cursor = "null"
        if fetched > page.limit, let lastKey, let lastID {
            cursor = "\"" + PageRequest.encode([lastKey, lastID]) + "\""
        }
        return #"{"items":"# + items + #","nextCursor":"# + cursor + "}"
    }

    /// The statement `listJSON` sends for a list statement `inner` (benchmarks replay exactly it).
    public static func jsonStatement(around inner: PGQuery, filter: Filter, page: PageRequest) -> PGQuery {
        let direction = filter.descending ? "DESC" : "ASC"
        let order = "s.\(sortColumn(filter.sort).dropFirst(2)) \(direction), s.record_id \(direction)"
        var sql: PGQuery = """
            SELECT coalesce(json_agg(json_build_object(
                       'id', upper(s.record_id::text), 'zoneId', upper(s.zone_id::text),
                       'ownerId', upper(s.owner_user_id::text), 'accountId', upper(s.account_id::text),
                       'stage', s.stage, 'disqualifiedReason', s.disqualified_reason,
                       'displayName', s.display_name, 'firstName', s.first_name, 'lastName', s.last_name,
                       'companyName', s.company_name, 'email', s.email, 'phone', s.phone, 'taxId', s.tax_id,
                       'source', s.source, 'campaignId', upper(s.campaign_id::text), 'externalId', s.external_id,
                       'custom', s.custom::json, 'version', s.version,
                       'createdAt', to_char(s.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                       'updatedAt', to_char(s.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                       'zoneRule', s.zone_rule)
                     ORDER BY \(unsafeRaw: order)) FILTER (WHERE s.position <= \(page.limit)), '[]'::json)::text,
                   count(*),
                   (array_agg(s.sort_key ORDER BY \(unsafeRaw: order)))[\(page.limit)],
                   (array_agg(s.record_id::text ORDER BY \(unsafeRaw: order)))[\(page.limit)]
              FROM (SELECT q.*, row_number() OVER (ORDER BY \(unsafeRaw: order.replacingOccurrences(of: "s.", with: "q."))) AS position
                      FROM (
            """
        sql.append(inner)
        sql.append(") q) s")
        sql.reusesPlan = inner.reusesPlan
        return sql
    }

    /// The SELECT a list sends, with a search planned first from how many tokens its words match
    /// (`searchPlan`, one more statement in the caller's transaction) unless `search` is given.
    /// Nil when the page is empty without asking: no visible zone among the asked ones, or a
    /// word matching nothing.
    public static func statement(_ session: Session, filter: Filter, page: PageRequest, search: SearchPlan?,
                                 on connection: PGConnection) throws -> PGQuery? {
        try validate(filter)
        var filter = filter
        if !filter.custom.isEmpty {
            let specs = try FieldSpecs.load(tenantID: session.tenantID, entity: .records, on: connection)
            var problems: [CoreError.FieldError] = []
            for index in filter.custom.indices {
                let key = filter.custom[index].key
                if let spec = specs.fields.first(where: { $0.key == key && !$0.builtin }) {
                    filter.custom[index].type = spec.type
                } else {
                    problems.append(.init(field: "cf.\(key)", message: "is not a custom field of records"))
                }
            }
            if !problems.isEmpty { throw CoreError(.invalidInput, "unknown custom fields in the filter", fieldErrors: problems) }
        }
        let plan = try search ?? searchPlan(session, filter: filter, on: connection)
        return try statement(session, filter: filter, page: page, search: plan)
    }

    /// How this filter's search should run, from capped counts of the tokens each word matches in
    /// the caller's scope; nil without a search (or when the caller sees none of the asked zones).
    public static func searchPlan(_ session: Session, filter: Filter, limits: SearchPlan.Limits = .measured,
                                  on connection: PGConnection) throws -> SearchPlan? {
        guard let search = filter.search, case let words = try searchTerms(search), !words.isEmpty,
              let zones = scopeZones(session, filter: filter) else { return nil }
        return try SearchPlan.choose(session, words: words, zones: zones.isEmpty ? nil : zones, sort: filter.sort,
                                     limits: limits, on: connection)
    }

    /// The zones a list is confined to: the asked ones the caller sees, or the visible ones;
    /// empty for the whole tenant; nil when the caller sees none of the asked zones.
    static func scopeZones(_ session: Session, filter: Filter) -> [UUID]? {
        var zones = filter.zoneIDs
        if let visible = session.visibleZoneIDs {
            zones = zones.isEmpty ? visible : zones.filter(visible.contains)
            if zones.isEmpty { return nil }
        }
        return zones
    }

    static func validate(_ filter: Filter) throws {
        var problems: [CoreError.FieldError] = []
        for stage in filter.stages where !stages.contains(stage) {
            problems.append(.init(field: "stage", message: "one of target, potential, contact, disqualified"))
        }
        for custom in filter.custom where custom.key.range(of: customKeyPattern, options: .regularExpression) == nil {
            problems.append(.init(field: "custom.\(custom.key)", message: "not a field key"))
        }
        guard problems.isEmpty else { throw CoreError(.invalidInput, "invalid filter", fieldErrors: problems) }
    }

    /// The one SELECT a list sends (nil when the page is empty without asking). Public so the
    /// benchmark can hand pgbench exactly what the service sends, and so tests can run every
    /// search strategy; without `search` a search term is left to the planner (`plannerChoice`).
    public static func statement(_ session: Session, filter: Filter, page: PageRequest, search: SearchPlan? = nil) throws -> PGQuery? {
        try validate(filter)
        guard let zones = scopeZones(session, filter: filter) else { return nil }
        var plan = search
        if plan == nil, let text = filter.search { plan = SearchPlan(strategy: .plannerChoice, words: try searchTerms(text)) }
        if plan?.words.isEmpty == true { plan = nil }
        if plan?.matchesNothing == true { return nil }
        let tokenZones = zones.isEmpty ? nil : zones

        var sql: PGQuery = ""
        if let plan, let arrays = plan.sortedArrayWords {
            // Each built once (MATERIALIZED), read as a sorted array: search_ids_N for word N.
            for (index, word) in arrays.enumerated() {
                sql.append(index == 0 ? "WITH " : ", ")
                sql.append("search_ids_\(unsafeRaw: String(word)) AS MATERIALIZED (SELECT array_agg(t.record_id ORDER BY t.record_id) AS ids FROM record_search_tokens t WHERE ")
                sql.append(SearchPlan.tokenScope("t", session: session, zones: tokenZones))
                sql.append(" AND ")
                sql.append(SearchPlan.tokenRange("t", plan.words[word]))
                sql.append(")")
            }
            sql.append(" ")
        }
        sql.append("""
            SELECT r.record_id, r.zone_id, r.owner_user_id, r.account_id, r.stage, r.disqualified_reason,
                   r.display_name, r.first_name, r.last_name, r.company_name, r.email, r.phone, r.tax_id,
                   r.source, r.campaign_id, r.external_id, r.custom::text, r.version, r.created_at, r.updated_at,
                   \(unsafeRaw: sortColumn(filter.sort))::text AS sort_key, r.zone_rule
              FROM records r
             WHERE r.tenant_id = \(session.tenantID)
            """)
        // The policy filters by zone anyway; saying it here too lets a rep's "latest in my zone"
        // read the (tenant, zone, updated_at) index in order (DESIGN.md, pitfalls).
        if zones.count == 1 {
            sql.append(" AND r.zone_id = \(zones[0])")
        } else if !zones.isEmpty {
            sql.append(" AND r.zone_id = ANY(\(zones))")
        }
        if !filter.stages.isEmpty { sql.append(" AND r.stage = ANY(\(filter.stages))") }
        if let source = filter.source { sql.append(" AND r.source = \(source)") }
        if let campaign = filter.campaignID { sql.append(" AND r.campaign_id = \(campaign)") }
        if let owner = filter.ownerID { sql.append(" AND r.owner_user_id = \(owner)") }
        if let since = filter.updatedSince { sql.append(" AND r.updated_at >= \(since)") }
        for custom in filter.custom { sql.append(try condition(custom)) }
        if let plan { sql.append(searchCondition(session, plan: plan, zones: tokenZones)) }

        // Keyset: (sort key, record_id), both in the same direction. The cursor carries the key as
        // PostgreSQL printed it, so it reads back exactly (no rounding of timestamps).
        let column = sortColumn(filter.sort)
        let direction = filter.descending ? "DESC" : "ASC"
        let comparison = filter.descending ? "<" : ">"
        if let after = try page.after([filter.sort == .name ? .text : .timestamp, .uuid]) {
            if filter.sort == .name {
                sql.append(" AND (r.display_name, r.record_id) \(unsafeRaw: comparison) (\(after.text(0)), \(after.uuid(1)))")
            } else {
                sql.append(" AND (\(unsafeRaw: column), r.record_id) \(unsafeRaw: comparison) (\(after.timestamp(0))::timestamptz, \(after.uuid(1)))")
            }
        }
        sql.append(" ORDER BY \(unsafeRaw: column) \(unsafeRaw: direction), r.record_id \(unsafeRaw: direction) LIMIT \(page.limit + 1)")
        // How many records a search word or a custom-field range matches decides the plan (ids
        // then sort, or an ordered scan): a generic cached plan guessed wrong by 100x (measured).
        sql.reusesPlan = filter.search == nil && filter.custom.isEmpty
        return sql
    }

    /// One `cf.KEY[.gte|.lte]=value` as SQL, comparing as the field's declared type: numbers as
    /// numbers, dates as dates, instants as instants, anything else as its text (equality only).
    /// Stored values are canonical (FieldSpecSet.normalize), so only those of the right shape take
    /// part, and the filter's own value must be one of that type or the request is refused.
    static func condition(_ custom: CustomFilter) throws -> PGQuery {
        let field = "cf.\(custom.key)" + (custom.op == .eq ? "" : ".\(custom.op.rawValue)")
        let comparison = custom.op == .eq ? "=" : custom.op == .gte ? ">=" : "<="
        let stored: PGQuery = "(r.custom ->> \(custom.key))"
        switch custom.type {
        case .integer?, .decimal?, .money?:
            guard let number = PlainNumber(custom.value), custom.type != .integer || number.scale == 0 else {
                throw CoreError.invalid(field, custom.type == .integer
                    ? "must be a whole number written with digits, e.g. 250"
                    : "must be a number, e.g. 1250.50 or 1250,50")
            }
            return " AND (CASE WHEN " + stored + " ~ '^-?[0-9]+(\\.[0-9]+)?$' THEN " + stored + "::numeric END) \(unsafeRaw: comparison) \(number.text)::numeric"
        case .date?:
            guard CalendarDate(custom.value) != nil else { throw CoreError.invalid(field, "must be a date as YYYY-MM-DD, e.g. 2025-12-01") }
            return " AND (CASE WHEN " + stored + " ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' THEN " + stored + "::date END) \(unsafeRaw: comparison) \(custom.value)::date"
        case .datetime?:
            let instant = try Timestamps.parse(custom.value, field: field)
            return " AND (CASE WHEN " + stored + " ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}T' THEN " + stored + "::timestamptz END) \(unsafeRaw: comparison) \(instant)"
        default:
            guard custom.op == .eq else {
                throw CoreError.invalid(field, "ranges work on integer, decimal, money, date and datetime fields; this one is \(custom.type?.rawValue ?? "not typed")")
            }
            return " AND " + stored + " = \(custom.value)"
        }
    }

    /// The search's part of the WHERE clause (tokens share the records' zone policy, so none of
    /// these can reach a record the caller cannot see; the policies on both tables still apply).
    static func searchCondition(_ session: Session, plan: SearchPlan, zones: [UUID]?) -> PGQuery {
        let words = plan.words
        var sql: PGQuery = ""
        switch plan.strategy {
        case .idsThenSort:
            // The driving word's ids, the other words checked on the id before any record is read.
            sql.append(" AND r.record_id = ANY(ARRAY(SELECT t.record_id FROM record_search_tokens t WHERE ")
            sql.append(SearchPlan.tokenScope("t", session: session, zones: zones))
            sql.append(" AND ")
            sql.append(SearchPlan.tokenRange("t", words[0]))
            for word in words.dropFirst() {
                sql.append(" AND ")
                sql.append(SearchPlan.probe(word, recordID: "t.record_id", session: session))
            }
            sql.append("))")
        case .intersectedIDs:
            // The driving word's ids kept when every other word's sorted array holds them too:
            // two common words rarely share many records ("nombre70 apellido67": 11k and 11k ids,
            // 122 in common, which a walk in date order found only after 700k records).
            sql.append(" AND r.record_id = ANY(ARRAY(SELECT t.record_id FROM record_search_tokens t WHERE ")
            sql.append(SearchPlan.tokenScope("t", session: session, zones: zones))
            sql.append(" AND ")
            sql.append(SearchPlan.tokenRange("t", words[0]))
            for index in words.indices.dropFirst() {
                sql.append(" AND ")
                sql.append(SearchPlan.holds(word: index, recordID: "t.record_id"))
            }
            sql.append("))")
        case .sortedIDWalk:
            // A CASE, not a bare comparison, so that PostgreSQL does not take it for a rare match
            // and sort the whole scope instead of reading the ordered index.
            sql.append(" AND CASE WHEN ")
            sql.append(SearchPlan.holds(word: 0, recordID: "r.record_id"))
            sql.append(" THEN ")
            if words.count == 1 {
                sql.append("true")
            } else {
                for (index, word) in words.dropFirst().enumerated() {
                    if index > 0 { sql.append(" AND ") }
                    sql.append(SearchPlan.probe(word, recordID: "r.record_id", session: session))
                }
            }
            sql.append(" ELSE false END")
        case .probeWalk:
            for word in words {
                sql.append(" AND ")
                sql.append(SearchPlan.probe(word, recordID: "r.record_id", session: session))
            }
        case .plannerChoice:
            for word in words {
                // The zone-led key (sql/0014) needs the zones to read a word's range.
                sql.append(" AND r.record_id IN (SELECT t.record_id FROM record_search_tokens t WHERE ")
                sql.append(SearchPlan.tokenScope("t", session: session, zones: zones))
                sql.append(" AND ")
                sql.append(SearchPlan.tokenRange("t", word))
                sql.append(")")
            }
        }
        return sql
    }

    static func run(_ sql: PGQuery, page: PageRequest, on connection: PGConnection) throws -> Page<Summary> {
        let rows = try connection.query(sql)
        var keys: [UUID: String] = [:]
        let decoder = JSONDecoder()
        let summaries = try rows.map { row -> Summary in
            let customText = try row.decode(String.self, at: 16)
            let custom = customText == "{}" ? [:] : try decoder.decode([String: FieldValue].self, from: Data(customText.utf8))
            let id: UUID = try row.decode(at: 0)
            keys[id] = try row.decode(String.self, at: 20)
            return Summary(
                id: id, zoneId: try row.decode(at: 1), ownerId: try row.decode(at: 2),
                accountId: try row.decode(at: 3), stage: try row.decode(at: 4), disqualifiedReason: try row.decode(at: 5),
                displayName: try row.decode(at: 6), firstName: try row.decode(at: 7), lastName: try row.decode(at: 8),
                companyName: try row.decode(at: 9), email: try row.decode(at: 10), phone: try row.decode(at: 11),
                taxId: try row.decode(at: 12), source: try row.decode(at: 13), campaignId: try row.decode(at: 14),
                externalId: try row.decode(at: 15), custom: custom, version: try row.decode(at: 17),
                createdAt: try row.decode(at: 18), updatedAt: try row.decode(at: 19), zoneRule: try row.decode(at: 21))
        }
        return page.page(from: summaries) { [keys[$0.id] ?? "", $0.id.uuidString] }
    }

    static func sortColumn(_ sort: Sort) -> String {
        switch sort {
        case .updated: return "r.updated_at"
        case .created: return "r.created_at"
        case .name: return "r.display_name"
        }
    }
}
