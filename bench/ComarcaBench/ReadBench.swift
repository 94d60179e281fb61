import ComarcaCore
import Foundation
import PGClient

/// `comarca-bench reads TOKEN [iterations]`: for the token's user, one client, sequential calls:
///  - the records list (latest 50) through RecordQuery under RLS, and the identical SQL run by a
///    superuser (policies bypassed, the app's explicit tenant/zone filters kept) — the RLS overhead;
///  - searches for words that occur in the data set, then by kind of term (SearchBench);
///  - conversions (potential → contact with a new account and an opportunity).
/// Prints p50/p95/p99 in milliseconds and the ratios.
enum ReadBench {
    static func percentiles(_ samples: [Double]) -> String {
        let sorted = samples.sorted()
        func p(_ q: Double) -> Double { sorted[min(sorted.count - 1, Int(Double(sorted.count) * q))] }
        return String(format: "p50 %.3f ms  p95 %.3f ms  p99 %.3f ms  (n=%d)", p(0.5), p(0.95), p(0.99), sorted.count)
    }

    static func median(_ samples: [Double]) -> Double { samples.sorted()[samples.count / 2] }

    static func time(_ body: () throws -> Void) rethrows -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1_000_000
    }

    static func run(token: String, iterations: Int, appURL: String, superuserURL: String) throws {
        let app = try PGConnection.connect(appURL)
        let session = try AuthService().authenticate(token: token, on: app)
        let page = try PageRequest(limit: 50, cursor: nil)
        print("bench: user \(session.userID) role \(session.role.key), visible zones: \(session.visibleZoneIDs.map { "\($0.count)" } ?? "whole tenant")")

        // 1. Latest 50 under RLS vs the same SQL with policies bypassed: the service's own list call
        // (RecordQuery.listJSON: statement, JSON wrapper, plan settings) on both connections.
        _ = try require(try RecordQuery.statement(session, filter: RecordQuery.Filter(), page: page), "the user sees no zone")
        func list(_ connection: PGConnection) throws {
            _ = try connection.transaction(settings: session.accessScope.settings) {
                try RecordQuery.listJSON(session, filter: RecordQuery.Filter(), page: page, on: $0)
            }
        }
        var withRLS: [Double] = []
        var withoutRLS: [Double] = []
        let superuser = try PGConnection.connect(superuserURL)
        for _ in 0..<5 {  // warm both
            try list(app)
            try list(superuser)
        }
        for _ in 0..<iterations {
            withRLS.append(try time { try list(app) })
            // Same round trips and settings: only the policies differ.
            withoutRLS.append(try time { try list(superuser) })
        }
        print("list, RLS (app role)       : \(percentiles(withRLS))")
        print("list, no RLS (superuser)   : \(percentiles(withoutRLS))")
        print(String(format: "ratio RLS / no RLS (median): %.2f", median(withRLS) / median(withoutRLS)))

        // 2. Searches for words of the data set (names, surnames, e-mail prefixes, phone digits).
        let words = try app.transaction(settings: session.accessScope.settings) { tx in
            try tx.query("""
                SELECT token FROM record_search_tokens TABLESAMPLE SYSTEM (1)
                 WHERE tenant_id = \(session.tenantID) LIMIT 200
                """).map { try $0.decode(String.self, at: 0) }
        }
        var searches: [Double] = []
        var hits = 0
        for index in 0..<iterations {
            guard !words.isEmpty else { break }
            var filter = RecordQuery.Filter()
            let word = words[index % words.count]
            filter.search = String(word.prefix(max(3, word.count - 1)))
            searches.append(try time {
                hits += try app.transaction(settings: session.accessScope.settings) {
                    try RecordQuery.list(session, filter: filter, page: page, on: $0).items.count
                }
            })
        }
        if !searches.isEmpty {
            print("search (prefix of a word)  : \(percentiles(searches)), \(hits / max(1, searches.count)) hits/query")
        }
        print("search by kind of term (strategy chosen per call):")
        try SearchBench.run(session: session, iterations: max(20, iterations / 5), on: app)

        // 3. Conversions: fresh potentials in the user's zone, each converted with a new account.
        let conversions = min(iterations, 200)
        let stamp = UInt32.random(in: 0...UInt32.max)
        var ids: [UUID] = []
        for n in 0..<conversions {
            let record = try app.transaction(settings: session.accessScope.settings) { tx in
                try RecordService.create(session, RecordInput(
                    firstName: "Bench\(stamp)", lastName: "Convert\(n)", companyName: "Empresa Bench \(stamp) \(n)",
                    email: "bench.\(stamp).\(n)@bench.example"), on: tx)
            }
            _ = try app.transaction(settings: session.accessScope.settings) { try RecordService.promote(session, id: record.id, on: $0) }
            ids.append(record.id)
        }
        var converts: [Double] = []
        for id in ids {
            converts.append(try time {
                _ = try app.transaction(settings: session.accessScope.settings) {
                    try RecordService.convert(session, id: id, account: .match, opportunity: OpportunityInput(name: "Bench", amount: 100), on: $0)
                }
            })
        }
        if !converts.isEmpty { print("convert (new account + opp): \(percentiles(converts))") }
    }
}

/// A clear failure for the benchmark's own preconditions.
func require<T>(_ value: T?, _ message: String = "benchmark precondition failed") throws -> T {
    guard let value else { throw CoreError(.notFound, message) }
    return value
}
