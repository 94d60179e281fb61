import ComarcaCore
import ComarcaHTTP
import ComarcaTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import PGClient
import Testing

@Suite("records over HTTP")
struct RecordsHTTPTests {
    static func json(_ response: TestResponse) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any])
    }

    @Test("a stale If-Match gets 412 and changes nothing; the current one succeeds with a new ETag")
    func optimisticConcurrency() async throws {
        try await HTTPFixture.withApp { f, client in
            let rep = f.a.tokens["n1"]
            let created = try await client.send(.post, "/v1/records", token: rep, json: #"{"firstName":"Ane","lastName":"Goikoetxea"}"#)
            #expect(created.status == .created)
            let id = try #require(try Self.json(created)["id"] as? String)
            let etag = try #require(created.headers[.eTag])
            let first = try await client.execute(uri: "/v1/records/\(id)", method: .patch,
                headers: [.authorization: "Bearer \(rep!)", .ifMatch: etag, .contentType: "application/json"],
                body: ByteBuffer(string: #"{"companyName":"Talleres Ane"}"#))
            #expect(first.status == .ok)
            #expect(first.headers[.eTag] != etag)
            let stale = try await client.execute(uri: "/v1/records/\(id)", method: .patch,
                headers: [.authorization: "Bearer \(rep!)", .ifMatch: etag, .contentType: "application/json"],
                body: ByteBuffer(string: #"{"companyName":"Otra"}"#))
            #expect(stale.status == .preconditionFailed)
            #expect(String(buffer: stale.body).contains("urn:comarca:problem:precondition-failed"))
            let now = try Self.json(try await client.send(.get, "/v1/records/\(id)", token: rep))
            #expect(now["companyName"] as? String == "Talleres Ane")
        }
    }

    @Test("a duplicate shows its match when visible, and only that one exists elsewhere when not")
    func duplicates() async throws {
        try await HTTPFixture.withApp { f, client in
            let first = try await client.send(.post, "/v1/records", token: f.a.tokens["n1"], json: #"{"firstName":"Maite","email":"maite@ejemplo.es"}"#)
            let id = try #require(try Self.json(first)["id"] as? String)
            let sameZone = try await client.send(.post, "/v1/records", token: f.a.tokens["n1"], json: #"{"firstName":"Otra","email":"MAITE@ejemplo.es"}"#)
            #expect(sameZone.status == .conflict)
            #expect(String(buffer: sameZone.body).lowercased().contains(id.lowercased()))
            let otherZone = try await client.send(.post, "/v1/records", token: f.a.tokens["s1"], json: #"{"firstName":"Otra","email":"maite@ejemplo.es"}"#)
            #expect(otherZone.status == .conflict)
            let text = String(buffer: otherZone.body).lowercased()
            #expect(!text.contains(id.lowercased()) && !text.contains("maite"), "the invisible match leaked: \(text)")
        }
    }

    @Test("search over HTTP ignores accents, and fields= returns only the chosen properties")
    func searchAndFields() async throws {
        try await HTTPFixture.withApp { f, client in
            _ = try await client.send(.post, "/v1/records", token: f.a.tokens["n1"], json: #"{"firstName":"Begoña","lastName":"Ibáñez"}"#)
            let found = try await client.send(.get, "/v1/records?q=ibanez%20bego&fields=displayName,stage", token: f.a.tokens["n1"])
            #expect(found.status == .ok)
            let items = try #require(try Self.json(found)["items"] as? [[String: Any]])
            #expect(items.count == 1)
            #expect(Set(items[0].keys) == ["id", "displayName", "stage"])
            #expect(items[0]["displayName"] as? String == "Begoña Ibáñez")
            let bad = try await client.send(.get, "/v1/records?sort=bogus&limit=x", token: f.a.tokens["n1"])
            #expect(bad.status.code == 422)
        }
    }

    @Test("a potential converts into a contact with a new account and an opportunity; the history tells the story")
    func conversion() async throws {
        try await HTTPFixture.withApp { f, client in
            let rep = f.a.tokens["n1"]
            let created = try await client.send(.post, "/v1/records", token: rep,
                json: #"{"firstName":"Xabier","companyName":"Bodegas Txakoli","email":"xabier@txakoli.es","source":"event"}"#)
            let id = try #require(try Self.json(created)["id"] as? String)
            #expect(try await client.send(.post, "/v1/records/\(id)/promote", token: rep).status == .ok)
            let converted = try await client.send(.post, "/v1/records/\(id)/convert", token: rep,
                json: #"{"account":{"create":{"name":"Bodegas Txakoli, S.L."}},"opportunity":{"name":"Primer pedido","amount":1500}}"#)
            #expect(converted.status == .ok, "\(String(buffer: converted.body))")
            let body = try Self.json(converted)
            #expect((body["record"] as? [String: Any])?["stage"] as? String == "contact")
            #expect((body["record"] as? [String: Any])?["source"] as? String == "event")
            #expect(body["accountCreated"] as? Bool == true)
            #expect((body["opportunity"] as? [String: Any])?["name"] as? String == "Primer pedido")
            let history = try Self.json(try await client.send(.get, "/v1/records/\(id)/history", token: rep))
            let stages = (history["items"] as? [[String: Any]])?.compactMap { $0["toStage"] as? String }
            #expect(stages == ["contact", "potential", "target"])
            let again = try await client.send(.post, "/v1/records/\(id)/convert", token: rep)
            #expect(again.status == .conflict)
        }
    }
}
