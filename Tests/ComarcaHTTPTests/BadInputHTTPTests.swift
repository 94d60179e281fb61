import ComarcaCore
import ComarcaHTTP
import ComarcaTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import PGClient
import Testing

/// Bad input is a clear 4xx problem+json, never a 500: cursors, query parameters, bodies.
@Suite("bad input over HTTP")
struct BadInputHTTPTests {
    /// A cursor as the API encodes one: base64url of a JSON array.
    static func cursor(_ json: String) -> String {
        Data(json.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    static let uuid = "8F2C0B7A-3C1D-4E5F-9A8B-7C6D5E4F3A2B"

    /// Cursors no list issues, whatever its key.
    static let malformedEverywhere: [String] = [
        "!!!", "%00", String(repeating: "A", count: 2000), cursor("{}"), cursor("[]"), cursor(#"[1,2]"#), cursor(#"[""]"#),
        cursor(#"["\u0000"]"#), cursor(#"["\u0000","\u0000"]"#), cursor(#"["",""]"#), cursor(#"["a","b","c"]"#),
        cursor(#"[null]"#), cursor(#""text""#),
    ]

    /// Cursors that are wrong for a (timestamp, uuid) key.
    static let malformedTimestampKeys: [String] = [
        cursor(#"["not-a-date","\#(uuid)"]"#), cursor(#"["0000-01-01 00:00:00+00","\#(uuid)"]"#),
        cursor(#"["2024-02-30 00:00:00+00","\#(uuid)"]"#), cursor(#"["2024-13-01 00:00:00+00","\#(uuid)"]"#),
        cursor(#"["294277-01-01 00:00:00+00","\#(uuid)"]"#), cursor(#"["99999999999999999999","\#(uuid)"]"#),
        cursor(#"["2024-01-01 25:00:00+00","\#(uuid)"]"#), cursor(#"["2024-01-01 00:00:00+99","\#(uuid)"]"#),
        cursor(#"["2024-01-01 00:00:00+00","not-a-uuid"]"#), cursor(#"["2024-01-01 00:00:00+00",""]"#),
        cursor(#"["2024-01-01 00:00:00+00"]"#),
    ]

    @Test("malformed cursors on every list answer 400 invalid-cursor problem+json, never 500")
    func malformedCursors() async throws {
        try await HTTPFixture.withApp { f, client in
            let admin = f.a.tokens["admin"]
            let record = f.a.records["N1"]!
            let routes: [(String, [String])] = [
                ("/v1/records", Self.malformedTimestampKeys),
                ("/v1/records?sort=created", Self.malformedTimestampKeys),
                ("/v1/records?sort=name", [Self.cursor(#"["Cliente","not-a-uuid"]"#), Self.cursor(#"["Cliente"]"#)]),
                ("/v1/records/\(record)/history", [Self.cursor(#"["99999999999999999999999"]"#), Self.cursor(#"["abc"]"#), Self.cursor(#"["-1"]"#)]),
                ("/v1/accounts", Self.malformedTimestampKeys),
                ("/v1/activities", Self.malformedTimestampKeys),
                ("/v1/imports", Self.malformedTimestampKeys),
                ("/v1/zones", []),
                ("/v1/users", []),
            ]
            var failures: [String] = []
            for (route, specific) in routes {
                for cursor in Self.malformedEverywhere + specific {
                    let separator = route.contains("?") ? "&" : "?"
                    let escaped = cursor.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? cursor
                    let uri = route + separator + "cursor=" + (cursor == "%00" ? cursor : escaped)
                    let response = try await client.send(.get, uri, token: admin)
                    let body = String(buffer: response.body)
                    if response.status != .badRequest || response.headers[.contentType] != "application/problem+json"
                        || !body.contains("urn:comarca:problem:invalid-cursor")
                    {
                        failures.append("\(route) cursor=\(cursor.prefix(60)): \(response.status.code) \(body.prefix(200))")
                    }
                }
            }
            #expect(failures.isEmpty, "\(failures.count) malformed cursors not refused:\n\(failures.joined(separator: "\n"))")
        }
    }

    @Test("the cursors the lists issue still page through every item exactly once")
    func issuedCursorsPage() async throws {
        try await HTTPFixture.withApp { f, client in
            let admin = f.a.tokens["admin"]
            let rep = f.a.tokens["n1"]
            for subject in ["Uno", "Dos", "Tres"] {
                let created = try await client.send(.post, "/v1/activities", token: rep,
                    json: #"{"kind":"call","subject":"\#(subject)","recordId":"\#(f.a.records["N1"]!)","dueAt":"2030-01-0\#(subject.count)T10:00:00Z"}"#)
                #expect(created.status == .created, "\(String(buffer: created.body))")
            }
            _ = try await client.send(.post, "/v1/activities", token: rep, json: #"{"kind":"task","subject":"Sin fecha","recordId":"\#(f.a.records["N1"]!)"}"#)
            let cases: [(String, String?)] = [
                ("/v1/records?limit=1", admin), ("/v1/records?limit=1&sort=name", admin), ("/v1/records?limit=1&sort=-created", admin),
                ("/v1/accounts?limit=1", admin), ("/v1/zones?limit=2", admin), ("/v1/users?limit=1", admin),
                ("/v1/activities?limit=1", rep),
            ]
            for (route, token) in cases {
                let all = try RecordsHTTPTests.json(try await client.send(.get, route.replacingOccurrences(of: #"limit=\d+"#, with: "limit=200", options: .regularExpression), token: token))
                let expected = try #require(all["items"] as? [[String: Any]]).compactMap { $0["id"] as? String }
                var seen: [String] = []
                var cursor: String?
                repeat {
                    let uri = route + (cursor.map { "&cursor=" + $0 } ?? "")
                    let response = try await client.send(.get, uri, token: token)
                    #expect(response.status == .ok, "\(uri): \(String(buffer: response.body))")
                    let page = try RecordsHTTPTests.json(response)
                    seen += try #require(page["items"] as? [[String: Any]]).compactMap { $0["id"] as? String }
                    cursor = page["nextCursor"] as? String
                } while cursor != nil && seen.count <= expected.count
                #expect(seen == expected, "\(route)")
                #expect(expected.count >= 2, "\(route) has too few items to page")
            }
        }
    }

    @Test("a repeated query parameter is a 400 problem naming it; includeInactive takes only true or false")
    func repeatedAndMalformedQueryParameters() async throws {
        try await HTTPFixture.withApp { f, client in
            let admin = f.a.tokens["admin"]
            for uri in ["/v1/users?includeInactive=null&includeInactive=null", "/v1/records?limit=1&limit=2", "/v1/zones?cursor=a&cursor=b"] {
                let response = try await client.send(.get, uri, token: admin)
                let body = String(buffer: response.body)
                #expect(response.status == .badRequest, "\(uri): \(body)")
                #expect(body.contains("urn:comarca:problem:invalid-query"), "\(uri): \(body)")
                let name = String(uri.split(separator: "?")[1].split(separator: "=")[0])
                #expect(body.contains("\"\(name)\""), "\(uri) does not name \(name): \(body)")
            }
            for value in ["null", "1", "yes", ""] {
                let response = try await client.send(.get, "/v1/users?includeInactive=\(value)", token: admin)
                #expect(response.status == .badRequest, "includeInactive=\(value): \(String(buffer: response.body))")
                #expect(String(buffer: response.body).contains("includeInactive"))
            }
            #expect(try await client.send(.get, "/v1/users?includeInactive=true", token: admin).status == .ok)
            #expect(try await client.send(.get, "/v1/users?includeInactive=false", token: admin).status == .ok)
            let archived = try await client.send(.get, "/v1/fields/records?includeArchived=null", token: admin)
            #expect(archived.status == .badRequest && String(buffer: archived.body).contains("includeArchived"))
            #expect(try await client.send(.get, "/v1/fields/records?includeArchived=true", token: admin).status == .ok)
        }
    }

    @Test("PATCH /v1/tenant rejects unknown fields like every other body and changes nothing")
    func tenantRejectsUnknownFields() async throws {
        try await HTTPFixture.withApp { f, client in
            let before = try f.snapshotOfA()
            let response = try await client.send(.patch, "/v1/tenant", token: f.a.tokens["admin"], json: #"{"name":"Otra","status":"suspended"}"#)
            #expect(response.status.code == 422, "\(String(buffer: response.body))")
            #expect(String(buffer: response.body).contains("status"))
            #expect(try f.snapshotOfA() == before)
            #expect(try await client.send(.patch, "/v1/tenant", token: f.a.tokens["admin"], json: #"{"name":"Empresa nueva"}"#).status == .ok)
        }
    }
}

extension BadInputHTTPTests {
    @Test("a wrong field is named in plain words with what it takes, and the submitted value is never echoed")
    func plainWordErrors() async throws {
        try await HTTPFixture.withApp { f, client in
            let admin = f.a.tokens["admin"]
            let record = f.a.records["N1"]!
            let cases: [(HTTPRequest.Method, String, String, String, String, String?)] = [
                (.post, "/v1/roles", #"{"key":"k1","name":"N","scope":"AAAQQQ","permissions":{}}"#, "AAAQQQ", "scope", "own_zone"),
                (.post, "/v1/records", #"{"firstName":123456789}"#, "123456789", "firstName", "text"),
                (.post, "/v1/zones", #"{"code":"X","name":"Y","parentId":"zzz-QQQ"}"#, "zzz-QQQ", "parentId", "UUID"),
                (.post, "/v1/activities", #"{"kind":"WRONGKIND","subject":"s","recordId":"\#(record)"}"#, "WRONGKIND", "kind", "meeting"),
                (.post, "/v1/activities", #"{"kind":"call","subject":"s","recordId":"\#(record)","dueAt":"ayer-QQQ"}"#, "ayer-QQQ", "dueAt", "RFC 3339"),
                (.post, "/v1/zones", #"{"name":"Y"}"#, "\"Y\"", "code", "required"),
                (.patch, "/v1/tenant", #"{"name":["LISTQQQ"]}"#, "LISTQQQ", "name", "text"),
            ]
            for (method, path, body, value, field, allowed) in cases {
                let response = try await client.send(method, path, token: admin, json: body)
                let text = String(buffer: response.body)
                #expect(response.status.code == 422, "\(path) \(body): \(text)")
                #expect(response.headers[.contentType] == "application/problem+json")
                #expect(!text.contains(value), "\(path) echoes the submitted value: \(text)")
                #expect(text.contains(field), "\(path) does not name \(field): \(text)")
                if let allowed { #expect(text.contains(allowed), "\(path) does not say what \(field) takes: \(text)") }
                #expect(!text.contains("Cannot initialize") && !text.contains("Coding key") && !text.contains("Type mismatch"), "raw decoder text: \(text)")
            }
        }
    }

    @Test("malformed JSON is 400 invalid-body; well-formed JSON with a wrong field is 422; openapi.json documents both on every body")
    func malformedVersusInvalid() async throws {
        try await HTTPFixture.withApp { f, client in
            let admin = f.a.tokens["admin"]
            for body in [#"{"name":"#, "nope", #"{"name":"x"}}"#, "\u{FEFF}{", ""] {
                let response = try await client.send(.patch, "/v1/tenant", token: admin, json: body)
                #expect(response.status == .badRequest, "\(body): \(String(buffer: response.body))")
                #expect(String(buffer: response.body).contains("urn:comarca:problem:invalid-body"))
            }
            let invalid = try await client.send(.patch, "/v1/tenant", token: admin, json: #"{"name":1}"#)
            #expect(invalid.status.code == 422)
        }
        let url = TestDatabase.repositoryRoot.appendingPathComponent("Sources/ComarcaHTTP/Resources/openapi.json")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        var missing: [String] = []
        for (path, operations) in paths {
            for (method, operation) in operations {
                guard let operation = operation as? [String: Any], operation["requestBody"] != nil, path != "/v1/imports" else { continue }
                let responses = operation["responses"] as? [String: Any] ?? [:]
                for status in ["400", "413", "422"] where responses[status] == nil { missing.append("\(method.uppercased()) \(path) \(status)") }
            }
        }
        #expect(missing.isEmpty, "undocumented: \(missing.sorted())")
    }

    @Test("JSON bodies are bounded: 413 past 1 MiB, and a 100k-deep nesting is refused at once")
    func boundedBodies() async throws {
        try await HTTPFixture.withApp { f, client in
            let admin = f.a.tokens["admin"]
            let huge = #"{"firstName":""# + String(repeating: "x", count: 2 << 20) + #""}"#
            let tooLarge = try await client.send(.post, "/v1/records", token: admin, json: huge)
            #expect(tooLarge.status.code == 413)
            #expect(String(buffer: tooLarge.body).contains("urn:comarca:problem:body-too-large"))
            for deep in [String(repeating: "[", count: 100_000), String(repeating: #"{"a":"#, count: 100_000) + "1" + String(repeating: "}", count: 100_000),
                         #"{"custom":"# + String(repeating: "[", count: 40) + String(repeating: "]", count: 40) + "}"] {
                let started = Date()
                let response = try await client.send(.post, "/v1/records", token: admin, json: deep)
                // Refused by the byte scan, before any parse: a hang (the old failure) took
                // minutes; the bound leaves room for a debug build on a loaded two-core machine.
                #expect(Date().timeIntervalSince(started) < 5)
                #expect(response.status == .badRequest, "\(String(buffer: response.body))")
                #expect(String(buffer: response.body).contains("urn:comarca:problem:invalid-body"))
            }
            // Brackets inside strings do not count.
            let quoted = try await client.send(.post, "/v1/records", token: admin, json: #"{"firstName":"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[","zoneId":"\#(f.a.zones["N1"]!)"}"#)
            #expect(quoted.status == .created, "\(String(buffer: quoted.body))")
        }
    }
}

extension BadInputHTTPTests {
    @Test("a known path with a method it does not take is 405 problem+json with Allow from the router; an unknown path stays 404")
    func methodNotAllowed() async throws {
        try await HTTPFixture.withApp { f, client in
            let record = f.a.records["N1"]!
            let cases: [(HTTPRequest.Method, String, String)] = [
                (.trace, "/healthz", "GET"), (.delete, "/v1/records", "GET, POST"), (.put, "/v1/records/\(record)", "DELETE, GET, PATCH"),
                (.options, "/v1/tenant", "GET, PATCH"), (HTTPRequest.Method("PROPFIND")!, "/v1/zones", "GET, POST"),
            ]
            for (method, path, allow) in cases {
                let response = try await client.send(method, path, token: f.a.tokens["admin"])
                #expect(response.status == .methodNotAllowed, "\(method) \(path): \(response.status)")
                #expect(response.headers[.allow] == allow, "\(method) \(path)")
                #expect(response.headers[.contentType] == "application/problem+json")
                #expect(String(buffer: response.body).contains("urn:comarca:problem:method-not-allowed"))
            }
            let unknown = try await client.send(.trace, "/nope")
            #expect(unknown.status == .notFound)
            #expect(String(buffer: unknown.body).contains("urn:comarca:problem:not-found"))
        }
    }
}

/// Requests NIO's own parser refuses, sent as raw bytes to a served instance.
@Suite("bad input on the wire")
struct BadInputWireTests {
    /// Sends `request` as it is and reads the whole answer (the server closes after an error).
    struct SocketFailure: Error, CustomStringConvertible { let description: String }

    /// One raw HTTP exchange, read until the server closes or 5 s pass; on its own thread, so the
    /// blocking reads never hold a thread of the cooperative pool the server needs.
    static func exchange(port: Int, _ request: [UInt8]) async throws -> (status: Int, headers: [String: String], body: String) {
        try await offThePool { try blockingExchange(port: port, request) }
    }

    static func blockingExchange(port: Int, _ request: [UInt8]) throws -> (status: Int, headers: [String: String], body: String) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw SocketFailure(description: "socket() failed") }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw SocketFailure(description: "connect() to port \(port) failed") }
        _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = recv(fd, &chunk, chunk.count, 0)
            if n <= 0 { break }
            received += chunk[0..<n]
        }
        let text = String(decoding: received, as: UTF8.self)
        let parts = text.components(separatedBy: "\r\n\r\n")
        let lines = parts[0].components(separatedBy: "\r\n")
        let status = Int(lines.first?.split(separator: " ").dropFirst().first ?? "") ?? 0
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            if let colon = line.firstIndex(of: ":") {
                headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
        }
        return (status, headers, parts.dropFirst().joined(separator: "\r\n\r\n"))
    }

    @Test("an unknown method is a 501 problem and a control character in If-Match a 400 problem, never an empty 400")
    func parserRefusalsAreProblems() async throws {
        try await TestDatabase.withMigrated { database in
            let pool = PGPool(configuration: database.appPoolConfiguration(maxConnections: 2))
            let app = buildApplication(
                configuration: HTTPConfiguration(host: "127.0.0.1", port: 0),
                dependencies: AppDependencies(database: Database(pool: pool), migrations: try MigrationSource(directory: TestDatabase.migrationsDirectory)),
                logger: Logger(label: "test"))
            try await app.test(.live) { client in
                let port = try #require(client.port)
                let unknown = try await Self.exchange(port: port, Array("FOO /healthz HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
                #expect(unknown.status == 501 || unknown.status == 405, "\(unknown)")
                #expect(unknown.headers["content-type"] == "application/problem+json", "\(unknown)")
                #expect(unknown.body.contains("urn:comarca:problem:"), "\(unknown)")
                var control = Array("PATCH /v1/records/8F2C0B7A-3C1D-4E5F-9A8B-7C6D5E4F3A2B HTTP/1.1\r\nHost: x\r\nIf-Match: \"3".utf8)
                control += [0x01] + Array("\"\r\nContent-Length: 2\r\n\r\n{}".utf8)
                let bad = try await Self.exchange(port: port, control)
                #expect(bad.status == 400, "\(bad)")
                #expect(bad.headers["content-type"] == "application/problem+json", "\(bad)")
                #expect(bad.body.contains("urn:comarca:problem:"), "\(bad)")
                let fine = try await Self.exchange(port: port, Array("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8))
                #expect(fine.status == 200)
            }
            await pool.close()
        }
    }
}

@Suite("error mapping: data exceptions")
struct DataExceptionMappingTests {
    @Test("a value PostgreSQL cannot read (22007, 22008, 22P02, 22003) is a 400 problem, not a 500", arguments: ["22007", "22008", "22P02", "22003"])
    func dataExceptionsAre400(code: String) {
        let mapped = ErrorMapping.problem(for: PGError(kind: .server, code: PGError.Code(rawValue: code), message: "date/time field value out of range"))
        #expect(mapped.statusCode == 400)
        #expect(mapped.type == "urn:comarca:problem:invalid-value")
        #expect(mapped.detail == nil)
    }

    @Test("timestamps as PostgreSQL prints them are cursor keys; out-of-range ones are not")
    func timestampShapes() throws {
        let page = try PageRequest(limit: 1, cursor: nil)
        _ = page
        for good in ["2026-12-05 11:57:20.123456+00", "2026-12-05 11:57:20+05:30", "2024-02-29 00:00:00-03:30:15", "2026-12-05T11:57:20.123Z", "infinity"] {
            let cursor = BadInputHTTPTests.cursor(#"["\#(good)","\#(BadInputHTTPTests.uuid)"]"#)
            #expect(try PageRequest(limit: 1, cursor: cursor).after([.timestamp, .uuid]) != nil, "\(good)")
        }
        for bad in ["2023-02-29 00:00:00+00", "2026-12-05 11:57:60+00", "2026-12-05 11:57:20.1234567+00", "2026-12-05", "2026-12-05 11:57:20+16"] {
            let cursor = BadInputHTTPTests.cursor(#"["\#(bad)","\#(BadInputHTTPTests.uuid)"]"#)
            #expect(throws: CoreError.self, "\(bad)") { try PageRequest(limit: 1, cursor: cursor).after([.timestamp, .uuid]) }
        }
    }
}
