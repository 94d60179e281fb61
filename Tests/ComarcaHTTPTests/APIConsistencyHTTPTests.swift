import ComarcaCore
import ComarcaHTTP
import ComarcaTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import PGClient
import Testing

/// The API reads the way clients write it and names things one way: forms' `+`, NUL refused,
/// timestamps in range, one name per concept, and every entity that exists can be read back.
@Suite("API consistency")
struct APIConsistencyHTTPTests {
    static func json(_ response: TestResponse) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any], "\(String(buffer: response.body))")
    }

    static func items(_ response: TestResponse) throws -> [[String: Any]] {
        try #require(try json(response)["items"] as? [[String: Any]], "\(String(buffer: response.body))")
    }

    static func ids(_ response: TestResponse) throws -> Set<String> {
        Set(try items(response).compactMap { ($0["id"] as? String)?.uppercased() })
    }

    @Test("a query string decodes + as a space, as forms and URLSearchParams send it, and %2B as a plus")
    func plusIsASpace() async throws {
        try await HTTPFixture.withApp { f, client in
            let admin = f.a.tokens["admin"]
            let created = try await client.send(.post, "/v1/records", token: admin,
                json: #"{"firstName":"Iñigo","lastName":"Gómez","zoneId":"\#(f.a.zones["N1"]!)"}"#)
            let id = try #require(try Self.json(created)["id"] as? String)
            let plus = try await client.send(.get, "/v1/records?q=inigo+gomez", token: admin)
            #expect(plus.status == .ok)
            #expect(try Self.ids(plus) == [id.uppercased()])
            let percent = try await client.send(.get, "/v1/records?q=inigo%20gomez", token: admin)
            #expect(try Self.ids(percent) == [id.uppercased()])
            // A literal plus is a plus: no record is called "inigo+gomez".
            let literal = try await client.send(.get, "/v1/records?q=inigo%2Bgomez", token: admin)
            #expect(literal.status == .ok)
            #expect(try Self.ids(literal).isEmpty)
        }
    }

    @Test("text holding NUL is refused naming the field, in a body and in a query, and nothing is stored")
    func nulIsRefused() async throws {
        try await HTTPFixture.withApp { f, client in
            let admin = f.a.tokens["admin"]
            let before = try f.snapshotOfA()
            let body = try await client.send(.post, "/v1/records", token: admin,
                json: #"{"firstName":"Ana\u0000DROP","lastName":"Ruiz","zoneId":"\#(f.a.zones["N1"]!)"}"#)
            #expect(body.status.code == 422, "\(String(buffer: body.body))")
            #expect(body.headers[.contentType] == "application/problem+json")
            let errors = try #require(try Self.json(body)["errors"] as? [[String: Any]])
            #expect(errors.compactMap { $0["field"] as? String } == ["firstName"])
            let custom = try await client.send(.patch, "/v1/records/\(f.a.records["N1"]!)", token: admin,
                json: #"{"custom":{"notas":["ok","a\u0000b"]}}"#)
            #expect(custom.status.code == 422)
            #expect((try Self.json(custom)["errors"] as? [[String: Any]])?.first?["field"] as? String == "custom.notas[1]")
            #expect(try f.snapshotOfA() == before)
            // An escaped backslash before u0000 is text, not NUL.
            let escaped = try await client.send(.post, "/v1/records", token: admin,
                json: #"{"firstName":"Ana\\u0000","zoneId":"\#(f.a.zones["N1"]!)"}"#)
            #expect(escaped.status == .created, "\(String(buffer: escaped.body))")
            #expect(try Self.json(escaped)["firstName"] as? String == #"Ana\u0000"#)

            let query = try await client.send(.get, "/v1/records?q=ana%00x", token: admin)
            #expect(query.status == .badRequest)
            #expect(String(buffer: query.body).contains("urn:comarca:problem:invalid-query"))
        }
    }

    @Test("timestamps in filters outside years 0001–9999 are a 422 naming the parameter, never a database error",
          arguments: ["0000-01-01T00:00:00Z", "10000-01-01T00:00:00Z", "-0001-01-01T00:00:00Z", "2024-02-30T00:00:00Z", "2024-01-01", "yesterday"])
    func timestampsInRange(value: String) async throws {
        try await HTTPFixture.withApp { f, client in
            let admin = f.a.tokens["admin"]
            let escaped = value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? value
            for route in ["/v1/records?updatedSince=", "/v1/opportunities?updatedSince=", "/v1/activities?dueFrom=", "/v1/activities?dueTo="] {
                let response = try await client.send(.get, route + escaped, token: admin)
                #expect(response.status.code == 422, "\(route)\(value): \(String(buffer: response.body))")
                let field = String(route.split(separator: "?")[1].dropLast())
                #expect((try Self.json(response)["errors"] as? [[String: Any]])?.first?["field"] as? String == field)
            }
            #expect(try await client.send(.get, "/v1/records?updatedSince=0001-01-01T00:00:00Z", token: admin).status == .ok)
        }
    }

    @Test("a record's list item and its single view call every shared field by the same name")
    func oneNamePerConcept() async throws {
        try await HTTPFixture.withApp { f, client in
            let admin = f.a.tokens["admin"]
            let created = try await client.send(.post, "/v1/records", token: admin, json: """
                {"firstName":"Begoña","lastName":"Ibáñez","companyName":"Conservas Ibáñez","email":"bego@conservas.es",
                 "phone":"944 123 456","taxId":"B95123451","source":"web","externalId":"ERP-7","ownerId":"\(f.a.users["n1"]!)",
                 "zoneId":"\(f.a.zones["N1"]!)"}
                """)
            let id = try #require(try Self.json(created)["id"] as? String, "\(String(buffer: created.body))")
            let list = try Self.items(try await client.send(.get, "/v1/records?zoneId=\(f.a.zones["N1"]!)", token: admin))
            let item = try #require(list.first { ($0["id"] as? String)?.uppercased() == id.uppercased() })
            let single = try Self.json(try await client.send(.get, "/v1/records/\(id)", token: admin))
            // The single view leaves nulls out; every key the list fills must be there by that name.
            let filled = Set(item.filter { !($0.value is NSNull) }.keys)
            #expect(filled.subtracting(single.keys).isEmpty, "list items name \(filled.subtracting(single.keys).sorted()) differently")
            #expect(item["ownerId"] as? String == single["ownerId"] as? String)
            // And the document says the same: every list field is a field of the record.
            let document = try Self.json(try await client.send(.get, "/openapi.json"))
            let schemas = try #require((document["components"] as? [String: Any])?["schemas"] as? [String: Any])
            let summary = Set(((schemas["RecordSummary"] as? [String: Any])?["properties"] as? [String: Any] ?? [:]).keys)
            let record = Set(((schemas["Record"] as? [String: Any])?["properties"] as? [String: Any] ?? [:]).keys)
            #expect(!summary.isEmpty && summary.subtracting(record).isEmpty, "RecordSummary has \(summary.subtracting(record).sorted()) that Record lacks")
        }
    }

    @Test("GET /v1/me/access lists rights only on entities the API serves")
    func accessListsServedEntities() async throws {
        try await HTTPFixture.withApp { f, client in
            let access = try Self.json(try await client.send(.get, "/v1/me/access", token: f.a.tokens["admin"]))
            let entities = Set((try #require(access["permissions"] as? [String: Any])).keys)
            #expect(entities.isDisjoint(with: ["quotes", "campaigns", "reports"]), "\(entities.sorted())")
            #expect(entities.isSuperset(of: ["records", "accounts", "activities", "opportunities", "imports"]))
        }
    }

    @Test("an opportunity made by a conversion reads back alone and in the filtered list, in keyset pages")
    func opportunitiesReadBack() async throws {
        try await HTTPFixture.withApp { f, client in
            let rep = f.a.tokens["n1"]
            let created = try await client.send(.post, "/v1/records", token: rep, json: #"{"firstName":"Xabier","companyName":"Txakoli","email":"xabier@txakoli.es"}"#)
            let record = try #require(try Self.json(created)["id"] as? String)
            #expect(try await client.send(.post, "/v1/records/\(record)/promote", token: rep).status == .ok)
            let converted = try await client.send(.post, "/v1/records/\(record)/convert", token: rep,
                json: #"{"account":{"create":{"name":"Txakoli, S.L."}},"opportunity":{"name":"Primer pedido","amount":1500.25}}"#)
            let opportunity = try #require((try Self.json(converted)["opportunity"] as? [String: Any])?["id"] as? String)

            let one = try await client.send(.get, "/v1/opportunities/\(opportunity)", token: rep)
            #expect(one.status == .ok)
            #expect(one.headers[.eTag] != nil)
            let view = try Self.json(one)
            #expect(view["name"] as? String == "Primer pedido")
            #expect(view["amount"] as? Double == 1500.25)
            #expect(view["status"] as? String == "open")
            #expect((view["recordId"] as? String)?.uppercased() == record.uppercased())
            #expect((view["ownerId"] as? String)?.uppercased() == f.a.users["n1"]!.uuidString)

            // The N1 rep's list: the fixture's N1 opportunity and the new one; never S1's.
            let mine = try Self.ids(try await client.send(.get, "/v1/opportunities", token: rep))
            #expect(mine == [opportunity.uppercased(), f.a.opportunities["N1"]!.uuidString])
            let byRecord = try Self.ids(try await client.send(.get, "/v1/opportunities?recordId=\(record)", token: rep))
            #expect(byRecord == [opportunity.uppercased()])
            #expect(try Self.ids(try await client.send(.get, "/v1/opportunities?status=won", token: rep)).isEmpty)
            let badStatus = try await client.send(.get, "/v1/opportunities?status=ganada", token: rep)
            #expect(badStatus.status.code == 422)
            #expect(String(buffer: badStatus.body).contains("open, won, lost"))
            #expect(try await client.send(.get, "/v1/opportunities/\(f.a.opportunities["S1"]!)", token: rep).status == .notFound)

            // The admin pages through the whole tenant one at a time, newest change first.
            var seen: [String] = []
            var cursor: String?
            repeat {
                let page = try Self.json(try await client.send(.get, "/v1/opportunities?limit=1" + (cursor.map { "&cursor=\($0)" } ?? ""), token: f.a.tokens["admin"]))
                seen += (page["items"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
                cursor = page["nextCursor"] as? String
            } while cursor != nil && seen.count < 10
            #expect(seen.count == 4)
            #expect(Set(seen).count == 4)
            #expect(seen.first?.uppercased() == opportunity.uppercased())
        }
    }

    @Test("a manager lists the team's activities with filters, while a rep's default stays their own, overdue first")
    func teamActivities() async throws {
        try await HTTPFixture.withApp { f, client in
            let admin = f.a.tokens["admin"], manager = f.a.tokens["norte"], rep = f.a.tokens["n1"]
            // Hand the fixture's N1 and N2 activities to the N1 rep and the manager, then add one
            // for the rep due next week and one done.
            let owner = try f.database.connectAsOwner()
            try owner.transaction(settings: AccessScope.operator_(tenantID: f.a.id).settings) { tx in
                try tx.execute("UPDATE activities SET owner_user_id = \(f.a.users["n1"]!) WHERE activity_id = \(f.a.activities["N1"]!)")
                try tx.execute("UPDATE activities SET owner_user_id = \(f.a.users["norte"]!) WHERE activity_id = \(f.a.activities["N2"]!)")
            }
            let nextWeek = CivilTime.rfc3339(Date().addingTimeInterval(7 * 86_400))
            let later = try Self.json(try await client.send(.post, "/v1/activities", token: rep,
                json: #"{"kind":"meeting","subject":"Visita","recordId":"\#(f.a.records["N1"]!)","dueAt":"\#(nextWeek)"}"#))
            let laterID = try #require(later["id"] as? String).uppercased()
            let doneView = try Self.json(try await client.send(.post, "/v1/activities", token: rep,
                json: #"{"kind":"note","subject":"Hecho","recordId":"\#(f.a.records["N1"]!)","done":true}"#))
            let doneID = try #require(doneView["id"] as? String).uppercased()
            let n1 = f.a.activities["N1"]!.uuidString, n2 = f.a.activities["N2"]!.uuidString, s1 = f.a.activities["S1"]!.uuidString

            // The rep: their own open ones, the overdue one first.
            let repDefault = try Self.items(try await client.send(.get, "/v1/activities", token: rep))
            #expect(repDefault.compactMap { ($0["id"] as? String)?.uppercased() } == [n1, laterID])
            #expect(repDefault.first?["overdue"] as? Bool == true)
            // The manager: the whole NORTE subtree by default, never S1's.
            let team = try Self.ids(try await client.send(.get, "/v1/activities", token: manager))
            #expect(team == [n1, n2, laterID])
            #expect(try Self.ids(try await client.send(.get, "/v1/activities?mine=true", token: manager)) == [n2])
            #expect(try Self.ids(try await client.send(.get, "/v1/activities?ownerId=\(f.a.users["n1"]!)", token: manager)) == [n1, laterID])
            #expect(try Self.ids(try await client.send(.get, "/v1/activities?zoneId=\(f.a.zones["N2"]!)", token: manager)) == [n2])
            #expect(try Self.ids(try await client.send(.get, "/v1/activities?kind=meeting", token: manager)) == [laterID])
            let from = CivilTime.rfc3339(Date().addingTimeInterval(86_400)).addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            #expect(try Self.ids(try await client.send(.get, "/v1/activities?dueFrom=\(from)", token: manager)) == [laterID])
            #expect(try Self.ids(try await client.send(.get, "/v1/activities?dueTo=\(from)", token: manager)) == [n1, n2])
            #expect(try Self.ids(try await client.send(.get, "/v1/activities?done=true", token: manager)) == [doneID])
            #expect(try await client.send(.get, "/v1/activities?zoneId=\(f.a.zones["S1"]!)", token: manager).status == .notFound)
            #expect(try await client.send(.get, "/v1/activities?kind=visita", token: manager).status.code == 422)
            #expect(try await client.send(.get, "/v1/activities?dueFrom=\(from)&dueTo=\(from)", token: manager).status.code == 422)
            // The admin sees the tenant's open activities; the rep asking for everyone still sees only N1.
            #expect(try Self.ids(try await client.send(.get, "/v1/activities", token: admin)) == [n1, n2, s1, laterID])
            #expect(try Self.ids(try await client.send(.get, "/v1/activities?mine=false", token: rep)) == [n1, laterID])
        }
    }
}
