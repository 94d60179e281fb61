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

    @Test("the search query reads the token index under RLS (no sequential scan of the tenant)")
    func searchUsesTheIndex() async throws {
        try await RecordFixture.with { f in
            _ = try Self.create(f, f.bio, RecordInput(firstName: "Plan", lastName: "Check"))
            var filter = RecordQuery.Filter()
            filter.search = "check"
            let statement = try #require(try RecordQuery.statement(f.bio, filter: filter, page: PageRequest(limit: 50, cursor: nil)))
            let plan = try f.run(f.bio) { tx in
                try tx.simpleQuery(unsafeSQL: "SET LOCAL enable_seqscan = off")
                return try tx.query(PGQuery(unsafeSQL: "EXPLAIN " + statement.sql, binds: statement.binds)).map { try $0.decode(String.self, at: 0) }.joined(separator: "\n")
            }
            // Either token index will do (by word, or by record then word); never a table scan.
            #expect(plan.contains("using record_search_tokens_pkey") || plan.contains("using record_search_tokens_record_idx"), "\(plan)")
            #expect(!plan.contains("Seq Scan on record_search_tokens"), "\(plan)")
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
        ranged.custom = [.init(key: "employees", op: .gte, value: "10")]
        #expect(try RecordQuery.statement(session, filter: ranged, page: page)?.reusesPlan == false)
    }
}
