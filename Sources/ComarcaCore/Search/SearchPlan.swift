public import Foundation
public import PGClient

/// How a list with a search term finds its page. No one plan is fast for both a rare word and a
/// word a tenth of the tenant shares, and PostgreSQL cannot tell them apart (its estimate of a
/// prefix range in one tenant was off by up to 25x), so the search counts first: a capped,
/// index-only count of the tokens each word matches in the caller's scope, then one of these.
/// Every strategy returns exactly the same rows in the same order (RecordQueryTests checks it);
/// they differ only in cost. Measured on a 1M-record tenant (bench/README.md).
public enum SearchStrategy: String, Sendable, CaseIterable {
    /// Few matches: the driving word's record ids from the token index (the other words checked
    /// per id), those records by primary key, then sorted. Costs ~6-15 µs per matching id.
    case idsThenSort
    /// Thousands of matches: the driving word's ids become one sorted array (built once); the
    /// records are read in the page's order from its index and kept when a binary search finds
    /// their id in the array, until the page is full. ~0.8 µs per id to build, ~0.5-3 µs per
    /// record walked (51 × scope / matches of them).
    case sortedIDWalk
    /// Several words, none past the sorted-array limit: the driving word's ids are kept when
    /// the other words' sorted id arrays hold them too (binary searches), then read by primary
    /// key and sorted. Two common words seldom share many records, and walking in order for the
    /// few they share can pass most of the tenant first. Also for a rare word with a commoner
    /// one when building the commoner one's array costs less than a probe per rare id.
    case intersectedIDs
    /// Many matches: the records are read in the page's order and each is asked, in the
    /// (tenant, record, token) index, whether one of its tokens matches. ~6-10 µs per record
    /// walked, which is few when the word is common.
    case probeWalk
    /// The form searches had before: one IN (token range) per word, the planner choosing join
    /// and order from its own estimates. Kept for sorts no index gives in order (created, name)
    /// with many matches, and as the reference the tests compare the others with.
    case plannerChoice
}

/// A search's strategy and its words, the one that drives the strategy first.
public struct SearchPlan: Sendable, Equatable {
    public var strategy: SearchStrategy
    /// The words as typed (folded in SQL), rarest first.
    public var words: [String]
    /// Tokens each word matched in scope when the plan was made, capped just past the
    /// sorted-id limit; empty for a plan built by hand.
    public var matches: [Int]

    public init(strategy: SearchStrategy, words: [String], matches: [Int] = []) {
        self.strategy = strategy
        self.words = words
        self.matches = matches
    }

    /// Some word matches no token the caller can see: the page is empty.
    public var matchesNothing: Bool { matches.contains(0) }

    /// The words (by index) whose ids the statement builds as sorted arrays, nil for none.
    var sortedArrayWords: [Int]? {
        switch strategy {
        case .sortedIDWalk: return [0]
        case .intersectedIDs where words.count > 1: return Array(words.indices.dropFirst())
        default: return nil
        }
    }

    /// Where one strategy starts to cost more than the next, in matching tokens.
    public struct Limits: Sendable, Equatable {
        /// Up to this many, ids-then-sort is cheaper than walking the whole tenant in order.
        public var fewMatches: Int
        /// The same for a rep or manager, per visible zone: walking a zone costs less.
        public var fewMatchesPerZone: Int
        /// Up to this many, a sorted id array is cheaper than a probe per record walked.
        public var sortedIDs: Int
        /// The same per visible zone: in a zone a common word is found within a few probes.
        public var sortedIDsPerZone: Int

        public init(fewMatches: Int, fewMatchesPerZone: Int, sortedIDs: Int, sortedIDsPerZone: Int) {
            self.fewMatches = fewMatches
            self.fewMatchesPerZone = fewMatchesPerZone
            self.sortedIDs = sortedIDs
            self.sortedIDsPerZone = sortedIDsPerZone
        }

        /// The limits for a scope: the whole tenant (nil) or these zones.
        func scaled(toZones zones: [UUID]?) -> (few: Int, sortedIDs: Int) {
            guard let count = zones?.count else { return (fewMatches, sortedIDs) }
            return (min(fewMatches, fewMatchesPerZone * max(1, count)), min(sortedIDs, sortedIDsPerZone * max(1, count)))
        }

        /// From the 1M-record tenant (EXPLAIN ANALYZE, warm, admin): 1.1k ids then sort 7-15 ms;
        /// 11k matches as a sorted array 10 ms vs 51 ms probing vs 93 ms ids-then-sort; 111k
        /// matches 65 ms as an array vs 20 ms probing. A rep's zone of 21k records: 1k matches
        /// 12 ms ids-then-sort vs 4 ms as an array; 21k matches 28 ms as an array vs ~5 probing.
        public static let measured = Limits(fewMatches: 1500, fewMatchesPerZone: 500, sortedIDs: 30_000, sortedIDsPerZone: 4000)
    }

    /// Chooses the strategy for `words` from how many tokens each matches in `zones` (nil: the
    /// whole tenant). One statement, index-only, each count stopping past the sorted-id limit.
    static func choose(_ session: Session, words: [String], zones: [UUID]?, sort: RecordQuery.Sort,
                       limits: Limits, on connection: PGConnection) throws -> SearchPlan {
        let (few, sortedIDs) = limits.scaled(toZones: zones)
        var sql: PGQuery = "SELECT "
        for (index, word) in words.enumerated() {
            if index > 0 { sql.append(", ") }
            sql.append("(SELECT count(*) FROM (SELECT 1 FROM record_search_tokens t WHERE ")
            sql.append(tokenScope("t", session: session, zones: zones))
            sql.append(" AND ")
            sql.append(tokenRange("t", word))
            sql.append(" LIMIT \(sortedIDs + 1)) c)")
        }
        // An index-only range count plans the same for every word: keep the prepared plan.
        let row = try connection.query(sql)[0]
        let counts = try words.indices.map { try row.decode(Int.self, at: $0) }
        let ranked = zip(words, counts).enumerated()
            .sorted { ($0.element.1, $0.offset) < ($1.element.1, $1.offset) }
            .map(\.element)
        let fewest = ranked[0].1
        // The other words as sorted arrays (~0.8 µs a token to build) rather than a probe per
        // driving id (~9 µs): when none is past the array limit and building costs less.
        let others = ranked.dropFirst().map(\.1)
        let intersect = !others.isEmpty && others.allSatisfy { $0 <= sortedIDs }
            && (fewest > few || others.reduce(0, +) < 10 * fewest)
        let strategy: SearchStrategy
        if intersect {
            strategy = .intersectedIDs
        } else if fewest <= few {
            strategy = .idsThenSort
        } else if sort != .updated {
            // No index reads these sorts in order: every match is sorted anyway.
            strategy = fewest <= sortedIDs ? .idsThenSort : .plannerChoice
        } else if fewest <= sortedIDs {
            strategy = .sortedIDWalk
        } else {
            strategy = .probeWalk
        }
        return SearchPlan(strategy: strategy, words: ranked.map(\.0), matches: ranked.map(\.1))
    }

    /// The tokens of the caller's scope, by the zone-led primary key (sql/0014): the asked or
    /// visible zones, or every zone of the tenant. The policies filter the same way anyway.
    static func tokenScope(_ alias: String, session: Session, zones: [UUID]?) -> PGQuery {
        var sql: PGQuery = "\(unsafeRaw: alias).tenant_id = \(session.tenantID) AND \(unsafeRaw: alias).zone_id = ANY("
        if let zones {
            sql.append("\(zones))")
        } else {
            sql.append("ARRAY(SELECT z.zone_id FROM zones z WHERE z.tenant_id = \(session.tenantID)))")
        }
        return sql
    }

    /// The tokens `word` is a prefix of: a byte-order range with leakproof operators, so the
    /// index is usable under RLS (sql/0009).
    static func tokenRange(_ alias: String, _ word: String) -> PGQuery {
        "\(unsafeRaw: alias).token >= comarca.fold(\(word)) AND \(unsafeRaw: alias).token < comarca.fold(\(word)) || chr(1114111)"
    }

    /// Whether the sorted array of word `word` (search_ids_N) holds `recordID`:
    /// ids[width_bucket(id, ids)] is the greatest element <= id (a binary search; NULL below the
    /// first), equal to id exactly when the array holds it.
    static func holds(word: Int, recordID: String) -> PGQuery {
        let array = "(SELECT ids FROM search_ids_\(word))"
        return "\(unsafeRaw: array)[width_bucket(\(unsafeRaw: recordID), \(unsafeRaw: array))] = \(unsafeRaw: recordID)"
    }

    /// Whether the record `recordID` (an SQL expression) has a token matching `word`: one
    /// index-only probe of (tenant, record, token). OFFSET 0 keeps it a per-row probe: without it
    /// PostgreSQL may turn it into a hash of every matching token (111k tokens, 42 ms).
    static func probe(_ word: String, recordID: String, session: Session) -> PGQuery {
        var sql: PGQuery = """
            EXISTS (SELECT 1 FROM record_search_tokens p
                     WHERE p.tenant_id = \(session.tenantID) AND p.record_id = \(unsafeRaw: recordID) AND
            """
        sql.append(" ")
        sql.append(tokenRange("p", word))
        sql.append(" OFFSET 0)")
        return sql
    }
}
