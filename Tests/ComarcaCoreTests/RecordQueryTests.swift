import ComarcaCore
import ComarcaTestSupport
import Foundation
import PGClient
import Testing

@Suite("record lists and search")
struct RecordQueryTests {
    static func create(_ f: RecordFixture, _ session: Session, _ input: RecordInput) throws -> RecordView {
        try f.run(session) { try RecordService.create(session, input, on: $0) }
    }

    static func search(_ f: RecordFixture, _ session: Session, _ q: String? = nil, configure: (inout RecordQuery.Filter) -> Void = { _ in },
                       limit: Int = 50, cursor: String? = nil) throws -> Page<RecordQuery.Summary> {
        var filter = RecordQuery.Filter()
        filter.search = q
        configure(&filter)
        return try f.run(session) { try RecordQuery.list(session, filter: filter, page: PageRequest(limit: limit, cursor: cursor), on: $0) }
    }

    @Test("search ignores case and accents both ways: Muñoz finds munoz and MUNOZ finds Muñoz")
    func accentInsensitive() async throws {
        try await RecordFixture.with { f in
            let munoz = try Self.create(f, f.bio, RecordInput(firstName: "Carmen", lastName: "Muñoz"))
            _ = try Self.create(f, f.bio, RecordInput(firstName: "Pedro", lastName: "Martínez"))
            for q in ["Muñoz", "munoz", "MUNOZ", "muñ", "carmen muñoz", "Carmen MUN"] {
                #expect(try Self.search(f, f.bio, q).items.map(\.id) == [munoz.id], "q=\(q)")
            }
            #expect(try Self.search(f, f.bio, "muñoz pedro").items.isEmpty, "every word must match")
        }
    }

    @Test("search finds by company, e-mail, e-mail domain, phone digits and tax id")
    func searchesEveryKey() async throws {
        try await RecordFixture.with { f in
            let r = try Self.create(f, f.bio, RecordInput(
                firstName: "Íñigo", companyName: "Conservas del Cantábrico", email: "Inigo.Ortiz@Conservas.es",
                phone: "+34 612 34 56 78", taxId: "B12345674"))
            for q in ["cantabrico", "conservas", "inigo.ortiz@conservas.es", "conservas.es", "612345678", "6123", "34612345678", "b12345674"] {
                #expect(try Self.search(f, f.bio, q).items.map(\.id) == [r.id], "q=\(q)")
            }
        }
    }

    @Test("rejects finding another zone's record: search and lists show only the caller's scope")
    func searchRespectsZones() async throws {
        try await RecordFixture.with { f in
            let inBio = try Self.create(f, f.bio, RecordInput(firstName: "Lorea", lastName: "Urrutia"))
            let inSvq = try Self.create(f, f.svq, RecordInput(firstName: "Lorea", lastName: "Urrutia"))
            #expect(try Self.search(f, f.bio, "lorea").items.map(\.id) == [inBio.id])
            #expect(try Self.search(f, f.svq, "lorea").items.map(\.id) == [inSvq.id])
            #expect(try Self.search(f, f.sdr, "lorea").items.isEmpty)
            #expect(Set(try Self.search(f, f.manager, "lorea").items.map(\.id)) == [inBio.id])
            #expect(Set(try Self.search(f, f.admin, "lorea").items.map(\.id)) == [inBio.id, inSvq.id])
            // Asking for a zone one cannot see gives nothing, not an error that confirms it exists.
            #expect(try Self.search(f, f.bio, nil) { $0.zoneIDs = [f.zones["S-SVQ"]!] }.items.isEmpty)
        }
    }

    @Test("a changed name is found by its new words and no longer by the old ones")
    func tokensFollowUpdates() async throws {
        try await RecordFixture.with { f in
            let r = try Self.create(f, f.bio, RecordInput(firstName: "Koldo", lastName: "Arana"))
            _ = try f.run(f.bio) { try RecordService.update(f.bio, id: r.id, RecordChanges(lastName: "Bengoetxea"), expectedVersion: nil, on: $0) }
            #expect(try Self.search(f, f.bio, "arana").items.isEmpty)
            #expect(try Self.search(f, f.bio, "bengoetxea").items.map(\.id) == [r.id])
        }
    }

    @Test("keyset pages cover every record once, in order, for each sort")
    func keysetPagination() async throws {
        try await RecordFixture.with { f in
            var ids = Set<UUID>()
            for n in 0..<23 { ids.insert(try Self.create(f, f.bio, RecordInput(firstName: "Persona\(n)", lastName: "Apellido")).id) }
            for (sort, descending) in [(RecordQuery.Sort.updated, true), (.created, false), (.name, false), (.name, true)] {
                var seen: [RecordQuery.Summary] = []
                var cursor: String?
                repeat {
                    let page = try Self.search(f, f.bio, nil, configure: { $0.sort = sort; $0.descending = descending }, limit: 5, cursor: cursor)
                    seen += page.items
                    cursor = page.nextCursor
                } while cursor != nil
                #expect(seen.count == 23, "\(sort) \(descending)")
                #expect(Set(seen.map(\.id)) == ids)
                if sort == .name {
                    let names = seen.map(\.displayName)
                    #expect(names == (descending ? names.sorted(by: >) : names.sorted()) || Set(names).count < names.count)
                }
            }
        }
    }

    @Test("the JSON PostgreSQL writes for HTTP lists the same records, in the same order and pages, as the typed list")
    func jsonListMatchesTypedList() async throws {
        try await RecordFixture.with { f in
            for n in 0..<12 { _ = try Self.create(f, f.bio, RecordInput(firstName: "Jon\(n)", lastName: "Etxeberria", email: "jon\(n)@x.es")) }
            for (sort, descending, q) in [(RecordQuery.Sort.updated, true, nil), (.name, false, "etxeberria"), (.created, false, nil)] as [(RecordQuery.Sort, Bool, String?)] {
                var filter = RecordQuery.Filter()
                filter.sort = sort
                filter.descending = descending
                filter.search = q
                var typed: [UUID] = []
                var fromJSON: [UUID] = []
                var cursor: String?
                repeat {
                    let page = try PageRequest(limit: 5, cursor: cursor)
                    let result = try f.run(f.bio) { try RecordQuery.list(f.bio, filter: filter, page: page, on: $0) }
                    typed += result.items.map(\.id)
                    cursor = result.nextCursor
                } while cursor != nil
                repeat {
                    let page = try PageRequest(limit: 5, cursor: cursor)
                    let text = try f.run(f.bio) { try RecordQuery.listJSON(f.bio, filter: filter, page: page, on: $0) }
                    let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
                    let items = try #require(object["items"] as? [[String: Any]])
                    fromJSON += items.compactMap { ($0["id"] as? String).flatMap(UUID.init(uuidString:)) }
                    #expect(items.allSatisfy { ($0["updatedAt"] as? String)?.hasSuffix("Z") == true })
                    cursor = object["nextCursor"] as? String
                } while cursor != nil
                #expect(typed.count == 12, "\(sort)")
                #expect(fromJSON == typed, "\(sort) \(descending)")
            }
        }
    }

    @Test("filters by stage, source and updated-since combine")
    func filtersCombine() async throws {
        try await RecordFixture.with { f in
            let web = try Self.create(f, f.bio, RecordInput(firstName: "Web", email: "web@x.es", source: "web"))
            _ = try Self.create(f, f.bio, RecordInput(firstName: "Evento", source: "event"))
            _ = try f.run(f.bio) { try RecordService.promote(f.bio, id: web.id, on: $0) }
            #expect(try Self.search(f, f.bio, nil) { $0.stages = ["potential"] }.items.map(\.id) == [web.id])
            #expect(try Self.search(f, f.bio, nil) { $0.source = "web" }.items.map(\.id) == [web.id])
            #expect(try Self.search(f, f.bio, nil) { $0.source = "web"; $0.stages = ["target"] }.items.isEmpty)
            #expect(try Self.search(f, f.bio, nil) { $0.updatedSince = Date().addingTimeInterval(3600) }.items.isEmpty)
        }
    }

    @Test("bad filters are one invalid-input error naming each field")
    func badFilters() async throws {
        try await RecordFixture.with { f in
            let error = #expect(throws: CoreError.self) {
                _ = try Self.search(f, f.bio, nil) { $0.stages = ["won"]; $0.custom = [.init(key: "x'; drop", op: .eq, value: "1")] }
            }
            #expect(error?.code == .invalidInput)
            #expect(Set(error?.fieldErrors.map(\.field) ?? []) == ["stage", "custom.x'; drop"])
            #expect(throws: CoreError.self) { _ = try Self.search(f, f.bio, "uno dos tres cuatro cinco seis") }
        }
    }

    /// 3000 records over four zones (N-BIO 3/7, N-SDR 2/7, S-SVQ 1/7, HQ 1/7) written in one
    /// statement under the admin's settings, so that words match from a handful to a third of
    /// the tenant: "garcia" 1000 records, "munoz" 20, "maria" 375, "conservas.es" 1000, "p12"
    /// 111. updated_at repeats every 1000 records, so the record_id tie-break is exercised.
    static func seed(_ f: RecordFixture) throws {
        let z = f.zones
        let zones = [z["N-BIO"]!, z["N-BIO"]!, z["N-BIO"]!, z["N-SDR"]!, z["N-SDR"]!, z["S-SVQ"]!, z["HQ"]!]
        try f.run(f.admin) { tx in
            try tx.query("""
                INSERT INTO records (tenant_id, zone_id, stage, first_name, last_name, email, phone, display_name,
                                     updated_at, created_at)
                SELECT \(f.tenantID), (\(zones))[1 + n % 7], (ARRAY['target','potential','contact'])[1 + n % 3], w.first, w.last,
                       'p' || n || '@' || (ARRAY['conservas.es','acme.com','gmail.com'])[1 + n % 3],
                       '+34 6' || lpad((n * 7919 % 100000000)::text, 8, '0'), w.first || ' ' || w.last,
                       now() - (n % 1000) * interval '1 minute', now() - n * interval '1 second'
                  FROM generate_series(1, 3000) AS n
                 CROSS JOIN LATERAL (SELECT (ARRAY['María','José','Ana','Íñigo','Lucía','Carmen','Javier','Marta'])[1 + n % 8] AS first,
                                            CASE WHEN n % 3 = 0 THEN 'García' WHEN n % 97 = 0 THEN 'Muñoz'
                                                 ELSE (ARRAY['López','Pérez','Sánchez','Gómez','Martín'])[1 + n % 5] END AS last) w
                """)
        }
        try f.owner.simpleQuery(unsafeSQL: "VACUUM ANALYZE records, record_search_tokens")
    }

    static func pages(_ f: RecordFixture, _ session: Session, _ filter: RecordQuery.Filter, search: SearchPlan?,
                      limit: Int, maxPages: Int) throws -> (ids: [UUID], complete: Bool) {
        var ids: [UUID] = []
        var cursor: String?
        for _ in 0..<maxPages {
            let page = try f.run(session) {
                try RecordQuery.list(session, filter: filter, page: PageRequest(limit: limit, cursor: cursor), search: search, on: $0)
            }
            ids += page.items.map(\.id)
            cursor = page.nextCursor
            if cursor == nil { return (ids, true) }
        }
        return (ids, false)
    }

    @Test("every search strategy returns exactly the rows, order and pages of the planner's own plan, for rare and common words")
    func strategiesAgree() async throws {
        try await RecordFixture.with { f in
            try Self.seed(f)
            let svq = f.zones["S-SVQ"]!
            let callers: [(String, Session, [UUID])] = [("admin", f.admin, []), ("admin in S-SVQ", f.admin, [svq]),
                                                        ("manager", f.manager, []), ("rep", f.bio, [])]
            let sorts: [(RecordQuery.Sort, Bool)] = [(.updated, true), (.updated, false), (.created, false), (.name, true)]
            let terms = ["garcia", "ga", "Muñoz", "maria garcia", "conservas.es", "p12", "61", "ana lopez", "zzz"]
            var compared = 0
            for (who, session, zones) in callers {
                for q in terms {
                    for (sort, descending) in sorts {
                        var filter = RecordQuery.Filter()
                        filter.search = q
                        filter.zoneIDs = zones
                        filter.sort = sort
                        filter.descending = descending
                        let words = q.split(separator: " ").map(String.init)
                        let reference = try Self.pages(f, session, filter, search: SearchPlan(strategy: .plannerChoice, words: words),
                                                       limit: 7, maxPages: 4)
                        for strategy in SearchStrategy.allCases where strategy != .plannerChoice {
                            // Each word may drive: the rare one first and the common one first.
                            for order in Set([words, words.reversed()]) {
                                let got = try Self.pages(f, session, filter, search: SearchPlan(strategy: strategy, words: order),
                                                         limit: 7, maxPages: 4)
                                #expect(got.ids == reference.ids && got.complete == reference.complete,
                                        "\(who) q=\(q) \(sort) desc=\(descending) \(strategy) \(order)")
                                compared += 1
                            }
                        }
                        // And what a caller gets, planned per call.
                        let chosen = try Self.pages(f, session, filter, search: nil, limit: 7, maxPages: 4)
                        #expect(chosen.ids == reference.ids && chosen.complete == reference.complete, "\(who) q=\(q) chosen")
                        if q == "zzz" { #expect(reference.ids.isEmpty) }
                        if q == "garcia" { #expect(reference.ids.count == 28, "\(who) garcia fills 4 pages") }
                    }
                }
            }
            #expect(compared > 500)
        }
    }

    @Test("a common word read to its last page is the same thousand records by every strategy, each once")
    func strategiesAgreeToTheLastPage() async throws {
        try await RecordFixture.with { f in
            try Self.seed(f)
            var filter = RecordQuery.Filter()
            filter.search = "GARCÍA"
            let expected = try f.run(f.admin) { tx in
                try tx.query("SELECT record_id FROM records WHERE tenant_id = \(f.tenantID) AND last_name = 'García' ORDER BY updated_at DESC, record_id DESC")
                    .map { try $0.decode(UUID.self, at: 0) }
            }
            #expect(expected.count == 1000)
            for strategy in SearchStrategy.allCases {
                let plan = SearchPlan(strategy: strategy, words: ["GARCÍA"])
                let got = try Self.pages(f, f.admin, filter, search: plan, limit: 200, maxPages: 10)
                #expect(got.complete && got.ids == expected, "\(strategy)")
                // The JSON PostgreSQL writes for HTTP wraps the same statement (a WITH one included).
                let text = try f.run(f.admin) { try RecordQuery.listJSON(f.admin, filter: filter, page: PageRequest(limit: 30, cursor: nil), search: plan, on: $0) }
                let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
                let items = try #require(object["items"] as? [[String: Any]])
                #expect(items.compactMap { ($0["id"] as? String).flatMap(UUID.init(uuidString:)) } == Array(expected.prefix(30)), "\(strategy) JSON")
                #expect(object["nextCursor"] is String, "\(strategy) JSON")
            }
            let asRep = try Self.pages(f, f.bio, filter, search: SearchPlan(strategy: .sortedIDWalk, words: ["garcia"]), limit: 200, maxPages: 10)
            let bio = try f.run(f.bio) { tx in
                try tx.query("SELECT count(*) FROM records WHERE tenant_id = \(f.tenantID) AND last_name = 'García'").scalar(Int.self)
            }
            #expect(asRep.complete && asRep.ids.count == bio && bio > 0 && bio < 1000)
        }
    }

    @Test("the strategy follows the counts: few matches by id, some thousands by sorted ids, many by probes")
    func strategyFollowsCounts() async throws {
        try await RecordFixture.with { f in
            try Self.seed(f)
            func plan(_ session: Session, _ q: String, sort: RecordQuery.Sort = .updated, limits: SearchPlan.Limits) throws -> SearchPlan? {
                var filter = RecordQuery.Filter()
                filter.search = q
                filter.sort = sort
                return try f.run(session) { try RecordQuery.searchPlan(session, filter: filter, limits: limits, on: $0) }
            }
            let small = SearchPlan.Limits(fewMatches: 50, fewMatchesPerZone: 20, sortedIDs: 400, sortedIDsPerZone: 100)
            #expect(try plan(f.admin, "muñoz", limits: small)?.strategy == .idsThenSort)
            #expect(try plan(f.admin, "maria", limits: small)?.strategy == .sortedIDWalk)
            #expect(try plan(f.admin, "garcia", limits: small)?.strategy == .probeWalk)
            #expect(try plan(f.admin, "garcia", sort: .name, limits: small)?.strategy == .plannerChoice)
            #expect(try plan(f.admin, "maria", sort: .name, limits: small)?.strategy == .idsThenSort)
            // The rarest word drives, whatever the order typed.
            let both = try #require(try plan(f.admin, "garcia maria", limits: small))
            #expect(both.strategy == .sortedIDWalk && both.words == ["maria", "garcia"] && both.matches == [375, 401])
            // Two words of hundreds each: their ids are intersected first (111 "p12" records, one
            // token each: the whole e-mail; sql/0018 dropped the local part's own token).
            let two = try #require(try plan(f.admin, "maria p12", limits: small))
            #expect(two.strategy == .intersectedIDs && two.words == ["p12", "maria"] && two.matches == [111, 375], "\(two)")
            // A rare word with a common one: the rare one's ids, the other probed per id ("muñoz" 20 × 10 < 375).
            let rare = try #require(try plan(f.admin, "maria muñoz", limits: small))
            #expect(rare.strategy == .idsThenSort && rare.words == ["muñoz", "maria"], "\(rare)")
            // A rep counts only their zone's tokens (N-BIO holds about 3/7 of the 20 Muñoz records).
            let rep = try #require(try plan(f.bio, "muñoz", limits: small))
            #expect(rep.strategy == .idsThenSort && rep.matches[0] < 20 && rep.matches[0] > 0)
            // In one zone a common word is probed sooner: "maria" (375 in the tenant) by sorted ids
            // for the admin, by probes for the rep of N-BIO (about 160 there, over 100).
            let repMaria = try #require(try plan(f.bio, "maria", limits: small))
            #expect(repMaria.strategy == .probeWalk && repMaria.matches[0] == 101, "\(repMaria)")
            // No visible token: nothing to run.
            #expect(try plan(f.admin, "zzz", limits: small)?.matchesNothing == true)
            // The measured limits: a 3000-record tenant is always "few".
            #expect(try plan(f.admin, "garcia", limits: .measured)?.strategy == .idsThenSort)
            #expect(try plan(f.admin, "a", limits: .measured) == nil, "one-letter words are dropped: a plain list")
        }
    }

    /// EXPLAIN of the statement a strategy sends, under the session's settings (RLS applies).
    /// Sequential scans off: with 3000 rows a table scan could be cheaper, and the point is that
    /// an index CAN serve each condition under the policies. Sorts off for the walks: they must
    /// be able to read the records in order.
    static func explain(_ f: RecordFixture, _ session: Session, _ q: String, _ strategy: SearchStrategy, zones: [UUID] = []) throws -> String {
        var filter = RecordQuery.Filter()
        filter.search = q
        filter.zoneIDs = zones
        let statement = try #require(try RecordQuery.statement(session, filter: filter, page: PageRequest(limit: 50, cursor: nil),
                                                               search: SearchPlan(strategy: strategy, words: q.split(separator: " ").map(String.init))))
        return try f.run(session) { tx in
            try tx.simpleQuery(unsafeSQL: "SET LOCAL enable_seqscan = off")
            if strategy == .sortedIDWalk || strategy == .probeWalk { try tx.simpleQuery(unsafeSQL: "SET LOCAL enable_sort = off") }
            return try tx.query(PGQuery(unsafeSQL: "EXPLAIN " + statement.sql, binds: statement.binds)).map { try $0.decode(String.self, at: 0) }
                .joined(separator: "\n")
        }
    }

    @Test("each search strategy reads the token and record indexes under RLS, never a table scan")
    func searchUsesTheIndex() async throws {
        try await RecordFixture.with { f in
            try Self.seed(f)
            for (who, session, ordered) in [("admin", f.admin, "records_tenant_updated_idx"), ("rep", f.bio, "records_zone_updated_idx")] {
                for q in ["garcia", "maria garcia"] {
                    // The word's range is an index condition on the zone-led key (index-only or bitmap).
                    func readsTokenRanges(_ plan: String) -> Bool {
                        plan.contains("record_search_tokens_pkey") && plan.split(separator: "\n").contains {
                            ($0.contains("Index Cond") || $0.contains("Recheck Cond")) && $0.contains("zone_id = ANY") && $0.contains("token >=")
                        }
                    }
                    let ids = try Self.explain(f, session, q, .idsThenSort)
                    #expect(readsTokenRanges(ids) && ids.contains("using records_pkey"), "\(who) \(ids)")

                    let sorted = try Self.explain(f, session, q, .sortedIDWalk)
                    #expect(readsTokenRanges(sorted) && sorted.contains("width_bucket"), "\(who) \(sorted)")
                    #expect(sorted.contains("using \(ordered)") && !sorted.contains("Sort Key"), "\(who) \(sorted)")

                    let intersected = try Self.explain(f, session, q, .intersectedIDs)
                    #expect(readsTokenRanges(intersected) && intersected.contains("using records_pkey"), "\(who) \(intersected)")
                    #expect(!q.contains(" ") || intersected.contains("width_bucket"), "\(who) \(intersected)")

                    let probes = try Self.explain(f, session, q, .probeWalk)
                    #expect(probes.contains("Index Only Scan using record_search_tokens_record_idx"), "\(who) \(probes)")
                    #expect(probes.contains("using \(ordered)") && !probes.contains("Sort Key"), "\(who) \(probes)")
                    // A probe per record, not a hash of every matching token of the tenant.
                    #expect(!probes.contains("hashed SubPlan") && !probes.contains("Hash"), "\(who) \(probes)")

                    let planner = try Self.explain(f, session, q, .plannerChoice)
                    // The planner may read the word's range or probe (record, token) per record walked.
                    let probesTokens = planner.split(separator: "\n").contains {
                        $0.contains("Index Cond") && $0.contains("record_id = r.record_id") && $0.contains("token >=")
                    }
                    #expect(readsTokenRanges(planner) || probesTokens, "\(who) \(planner)")
                    for plan in [ids, sorted, intersected, probes, planner] {
                        #expect(!plan.contains("Seq Scan"), "\(who) \(plan)")
                    }
                }
            }
            // The admin's count and ids read one range per zone of the tenant (the zone-led key).
            let zoneLed = try Self.explain(f, f.admin, "garcia", .idsThenSort)
            #expect(zoneLed.contains("zone_id = ANY"), "\(zoneLed)")
        }
    }

    @Test("rejects finding another zone's record by any strategy: tokens and records of other zones stay invisible")
    func strategiesRespectZones() async throws {
        try await RecordFixture.with { f in
            try Self.seed(f)
            let secret = try Self.create(f, f.svq, RecordInput(firstName: "Zuriñe", lastName: "Garcíaolaeta", email: "zurine@secreto.es"))
            for strategy in SearchStrategy.allCases {
                for q in ["zuriñe", "garciaolaeta", "secreto.es", "garcia zur"] {
                    var filter = RecordQuery.Filter()
                    filter.search = q
                    let plan = SearchPlan(strategy: strategy, words: q.split(separator: " ").map(String.init))
                    for session in [f.bio, f.sdr, f.manager] {
                        let page = try f.run(session) { try RecordQuery.list(session, filter: filter, page: PageRequest(limit: 50, cursor: nil), search: plan, on: $0) }
                        #expect(!page.items.contains { $0.id == secret.id }, "\(strategy) \(q)")
                        #expect(page.items.allSatisfy { $0.zoneId != f.zones["S-SVQ"] }, "\(strategy) \(q)")
                    }
                    // Asking for the zone explicitly changes nothing for a rep of another zone.
                    filter.zoneIDs = [f.zones["S-SVQ"]!]
                    #expect(try f.run(f.bio) { try RecordQuery.list(f.bio, filter: filter, page: PageRequest(limit: 50, cursor: nil), search: plan, on: $0) }.items.isEmpty)
                    filter.zoneIDs = []
                    let own = try f.run(f.svq) { try RecordQuery.list(f.svq, filter: filter, page: PageRequest(limit: 50, cursor: nil), search: plan, on: $0) }
                    #expect(own.items.contains { $0.id == secret.id }, "\(strategy) \(q)")
                }
            }
            // The counts a plan is made from are the caller's own: the secret's word counts 0 for a rep of another zone.
            var filter = RecordQuery.Filter()
            filter.search = "zuriñe"
            #expect(try f.run(f.bio) { try RecordQuery.searchPlan(f.bio, filter: filter, on: $0) }?.matches == [0])
            // (two tokens: the name, which the e-mail's local part repeats, and the whole e-mail)
            #expect(try f.run(f.admin) { try RecordQuery.searchPlan(f.admin, filter: filter, on: $0) }?.matches == [2])
        }
    }
}

@Suite("record query plans")
struct RecordQueryPlanTests {
    @Test("searches and custom-field ranges are planned per call; plain lists reuse their plan")
    func planReuseDependsOnTheFilter() throws {
        let session = Session(
            tenantID: UUID(), tenantSlug: "t", userID: UUID(), zoneID: UUID(), role: BuiltinRoles.admin,
            visibleZoneIDs: nil, tokenID: nil)
        let page = try PageRequest(limit: 10, cursor: nil)
        var plain = RecordQuery.Filter()
        plain.stages = ["target"]
        #expect(try RecordQuery.statement(session, filter: plain, page: page)?.reusesPlan == true)
        var search = RecordQuery.Filter()
        search.search = "garcia"
        #expect(try RecordQuery.statement(session, filter: search, page: page)?.reusesPlan == false)
        var ranged = RecordQuery.Filter()
        ranged.custom = [.init(key: "employees", op: .gte, value: "10", type: .integer)]
        #expect(try RecordQuery.statement(session, filter: ranged, page: page)?.reusesPlan == false)
    }
}

@Suite("custom-field filters compare by the field's declared type")
struct CustomFieldRangeTests {
    static let fields = """
        fields:
          records:
            - {key: fecha_alta, label: {es: Fecha de alta}, type: date}
            - {key: ultima_visita, label: {es: Última visita}, type: datetime}
            - {key: empleados, label: {es: Empleados}, type: integer}
            - {key: margen, label: {es: Margen}, type: decimal}
            - {key: facturacion, label: {es: Facturación}, type: money}
            - {key: notas, label: {es: Notas}, type: text}
        """

    static func ids(_ f: RecordFixture, _ custom: [RecordQuery.CustomFilter]) throws -> Set<UUID> {
        Set(try RecordQueryTests.search(f, f.bio, nil) { $0.custom = custom }.items.map(\.id))
    }

    @Test("date, datetime, integer, decimal and money ranges select by value, not by text, and eq compares the same way")
    func rangesByType() async throws {
        try await RecordFixture.with(fields: Self.fields) { f in
            func make(_ name: String, _ custom: [String: FieldValue]) throws -> UUID {
                try f.run(f.bio) { try RecordService.create(f.bio, RecordInput(firstName: name), custom: custom, on: $0) }.id
            }
            let early = try make("Temprano", ["fecha_alta": .string("2025-11-30"), "ultima_visita": .string("2025-12-01T08:00:00+01:00"),
                                                "empleados": .string("9"), "margen": .string("9,5"), "facturacion": .string("999,99")])
            let late = try make("Tardío", ["fecha_alta": .string("2025-12-01"), "ultima_visita": .string("2025-12-01T09:00:00Z"),
                                             "empleados": .string("10"), "margen": .string("10.25"), "facturacion": .string("1.000,00")])
            _ = try make("Sin datos", [:])
            // The filter the probe used: a date is a date, not the number 2025.
            #expect(try Self.ids(f, [.init(key: "fecha_alta", op: .gte, value: "2025-12-01")]) == [late])
            #expect(try Self.ids(f, [.init(key: "fecha_alta", op: .lte, value: "2025-11-30")]) == [early])
            #expect(try Self.ids(f, [.init(key: "fecha_alta", op: .eq, value: "2025-12-01")]) == [late])
            // 08:00+01:00 is 07:00Z, before 08:30Z.
            #expect(try Self.ids(f, [.init(key: "ultima_visita", op: .gte, value: "2025-12-01T08:30:00Z")]) == [late])
            #expect(try Self.ids(f, [.init(key: "ultima_visita", op: .lte, value: "2025-12-01T07:00:00Z")]) == [early])
            // As text "9" > "10"; as integers 10 >= 10 and 9 is not.
            #expect(try Self.ids(f, [.init(key: "empleados", op: .gte, value: "10")]) == [late])
            #expect(try Self.ids(f, [.init(key: "empleados", op: .lte, value: "9")]) == [early])
            #expect(try Self.ids(f, [.init(key: "margen", op: .gte, value: "10")]) == [late])
            #expect(try Self.ids(f, [.init(key: "margen", op: .eq, value: "9.50")]) == [early])
            #expect(try Self.ids(f, [.init(key: "facturacion", op: .gte, value: "1000")]) == [late])
            #expect(try Self.ids(f, [.init(key: "facturacion", op: .lte, value: "999,99")]) == [early])
            #expect(try Self.ids(f, [.init(key: "facturacion", op: .gte, value: "500"), .init(key: "facturacion", op: .lte, value: "1500")]) == [early, late])
        }
    }

    @Test("a value of the wrong type, a range on a text field and an unknown field are refused naming the parameter")
    func wrongValuesAreRefused() async throws {
        try await RecordFixture.with(fields: Self.fields) { f in
            let cases: [(RecordQuery.CustomFilter, String)] = [
                (.init(key: "fecha_alta", op: .gte, value: "01/12/2025"), "cf.fecha_alta.gte"),
                (.init(key: "fecha_alta", op: .gte, value: "2025-02-30"), "cf.fecha_alta.gte"),
                (.init(key: "ultima_visita", op: .lte, value: "2025-12-01"), "cf.ultima_visita.lte"),
                (.init(key: "empleados", op: .gte, value: "10.5"), "cf.empleados.gte"),
                (.init(key: "margen", op: .gte, value: "1e3"), "cf.margen.gte"),
                (.init(key: "notas", op: .gte, value: "a"), "cf.notas.gte"),
                (.init(key: "no_existe", op: .eq, value: "1"), "cf.no_existe"),
            ]
            for (filter, field) in cases {
                let error = try f.error(f.bio) { tx in
                    _ = try RecordQuery.list(f.bio, filter: { var q = RecordQuery.Filter(); q.custom = [filter]; return q }(),
                                             page: PageRequest(limit: 10, cursor: nil), on: tx)
                }
                #expect(error.code == .invalidInput, "\(filter)")
                #expect(error.fieldErrors.map(\.field) == [field], "\(filter): \(error)")
            }
        }
    }
}
