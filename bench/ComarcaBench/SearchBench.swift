import ComarcaCore
import Foundation
import PGClient

/// `comarca-bench searches TOKEN [iterations] [strategy]` (also the last part of `reads`): searches by kind of
/// term, each a whole service transaction (BEGIN + settings, the strategy's count, the page,
/// COMMIT), for the token's user. The terms come from records the user sees, picked at random:
/// the sampled token prefix `reads` always measured, a rare word (a first name of bench/generate.sql is nearly unique), a surname (~1k records of
/// 1M), a surname's prefix (~11k), a 3-letter and a 2-letter prefix (every record), the e-mail,
/// its domain (every record), the phone's 9 digits and a 6-digit prefix, a full name, and two
/// prefixes. Prints p50/p95/p99 per kind, the strategy each kind got, and all kinds together.
enum SearchBench {
    struct Sample: Sendable {
        let first: String, last: String, email: String, phone: String
        /// A token of the user's scope, as `reads` samples them (TABLESAMPLE of the token table).
        let token: String
    }

    struct Kind: Sendable {
        let name: String
        let term: @Sendable (Sample) -> String
        init(name: String, term: @escaping @Sendable (String, String, String, String) -> String) {
            self.name = name
            self.term = { term($0.first, $0.last, $0.email, $0.phone) }
        }
        init(name: String, sample: @escaping @Sendable (Sample) -> String) {
            self.name = name
            self.term = sample
        }
    }

    static let kinds: [Kind] = [
        // The term `reads` has measured since the search landed: a sampled token minus its last character.
        Kind(name: "sampled token prefix") { (sample: Sample) in String(sample.token.prefix(max(3, sample.token.count - 1))) },
        Kind(name: "rare word") { first, _, _, _ in first },
        Kind(name: "surname") { _, last, _, _ in last },
        Kind(name: "surname prefix") { _, last, _, _ in String(last.dropLast()) },
        Kind(name: "3-letter prefix") { _, last, _, _ in String(last.prefix(3)) },
        Kind(name: "2-letter prefix") { first, _, _, _ in String(first.prefix(2)) },
        Kind(name: "e-mail") { _, _, email, _ in email },
        Kind(name: "e-mail domain") { _, _, email, _ in String(email.split(separator: "@").last ?? "") },
        Kind(name: "phone (9 digits)") { _, _, _, phone in String(phone.filter(\.isNumber).suffix(9)) },
        Kind(name: "phone prefix (6)") { _, _, _, phone in String(phone.filter(\.isNumber).suffix(9).prefix(6)) },
        Kind(name: "two words (name)") { first, last, _, _ in first + " " + last },
        Kind(name: "two prefixes") { first, last, _, _ in String(first.dropLast(2)) + " " + String(last.dropLast()) },
    ]

    /// `strategy`: run every search with that strategy instead of planning it (`plannerChoice` is
    /// the statement searches sent before sql/0014, for before/after figures).
    static func run(session: Session, iterations: Int, strategy: SearchStrategy? = nil, on app: PGConnection) throws {
        let settings = session.accessScope.settings
        let page = try PageRequest(limit: 50, cursor: nil)
        let (records, tokens) = try app.transaction(settings: settings) { tx in
            (try tx.query("""
                SELECT first_name, last_name, email, phone FROM records
                 WHERE tenant_id = \(session.tenantID) AND first_name IS NOT NULL AND last_name IS NOT NULL
                   AND email IS NOT NULL AND phone IS NOT NULL AND first_name LIKE 'Nombre%'
                 ORDER BY random() LIMIT 100
                """).decode((String, String, String, String).self),
             try tx.query("""
                SELECT token FROM record_search_tokens TABLESAMPLE SYSTEM (1)
                 WHERE tenant_id = \(session.tenantID) LIMIT 200
                """).map { try $0.decode(String.self, at: 0) })
        }
        guard !records.isEmpty, !tokens.isEmpty else { return print("search by kind: no sample records") }
        let samples = records.enumerated().map { index, r in
            Sample(first: r.0, last: r.1, email: r.2, phone: r.3, token: tokens[(index * 7) % tokens.count])
        }
        var all: [Double] = []
        for kind in kinds {
            var times: [Double] = []
            var hits = 0
            var strategies: [String: Int] = [:]
            for index in 0..<iterations {
                let sample = samples[index % samples.count]
                var filter = RecordQuery.Filter()
                let term = kind.term(sample)
                filter.search = term
                var forced: SearchPlan?
                let used: String
                if let strategy {
                    forced = SearchPlan(strategy: strategy, words: term.split(separator: " ").map(String.init).filter { $0.count >= 2 })
                    used = strategy.rawValue
                } else {
                    let plan = try app.transaction(settings: settings) { try RecordQuery.searchPlan(session, filter: filter, on: $0) }
                    used = plan.map { $0.matchesNothing ? "none" : "\($0.strategy.rawValue)" } ?? "list"
                    if let plan, ProcessInfo.processInfo.environment["BENCH_VERBOSE"] != nil { print("    \(term): \(plan.matches)") }
                }
                strategies[used, default: 0] += 1
                let took = try ReadBench.time {
                    hits += try app.transaction(settings: settings) {
                        try RecordQuery.list(session, filter: filter, page: page, search: forced, on: $0).items.count
                    }
                }
                times.append(took)
                if took > 40 { print(String(format: "    slow: %@ %.1f ms (%@)", term, took, used)) }
            }
            all += times
            let used = strategies.sorted { $0.value > $1.value }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            print("  \(kind.name.padding(toLength: 18, withPad: " ", startingAt: 0)): \(ReadBench.percentiles(times)), "
                  + "\(hits / max(1, times.count)) hits/query [\(used)]")
        }
        print("search, all kinds above   : \(ReadBench.percentiles(all))")
    }
}
