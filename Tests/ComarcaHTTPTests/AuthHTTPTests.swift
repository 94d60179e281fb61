import ComarcaCore
import ComarcaHTTP
import ComarcaTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import PGClient
import Testing

@Suite("sign-in over HTTP")
struct AuthHTTPTests {
    static let password = "correct horse battery"

    static func setPassword(_ f: HTTPFixture, email: String) throws {
        try AuthService().setPassword(tenantSlug: "alfa", email: email, password: password, on: try f.database.connectAsOwner())
    }

    static func login(_ client: any TestClientProtocol, email: String, password: String, tenant: String = "alfa") async throws -> TestResponse {
        let body = try JSONSerialization.data(withJSONObject: ["tenant": tenant, "email": email, "password": password])
        return try await client.send(.post, "/v1/auth/login", json: String(decoding: body, as: UTF8.self))
    }

    @Test("login returns a bearer token that works until logout revokes it")
    func loginAndLogout() async throws {
        try await HTTPFixture.withApp { f, client in
            try Self.setPassword(f, email: "n1@alfa.test")
            let response = try await Self.login(client, email: "N1@alfa.test ", password: Self.password)
            #expect(response.status == .ok)
            let object = try #require(try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any])
            let token = try #require(object["token"] as? String)
            #expect((object["user"] as? [String: Any])?["email"] as? String == "n1@alfa.test")
            #expect(object["expiresAt"] != nil)
            let me = try await client.send(.get, "/v1/me", token: token)
            #expect(me.status == .ok)
            #expect(try await client.send(.post, "/v1/auth/logout", token: token).status == .noContent)
            let after = try await client.send(.get, "/v1/me", token: token)
            #expect(after.status == .unauthorized)
            #expect(after.headers[.wwwAuthenticate] == "Bearer")
        }
    }

    /// Session rows of tenant alfa, counted as the operator.
    static func tokenRows(_ f: HTTPFixture) throws -> Int {
        try f.database.connectAsOwner().transaction(settings: AccessScope.operator_(tenantID: f.a.id).settings) { tx in
            try tx.query("SELECT count(*) FROM auth_tokens WHERE tenant_id = \(f.a.id) AND kind = 'session'").scalar(Int.self)
        }
    }

    @Test("a role that may not view users signs in and reads its own profile: signing in needs no directory right")
    func signInNeedsNoDirectoryRight() async throws {
        try await HTTPFixture.withApp { f, client in
            try Self.setPassword(f, email: "n1@alfa.test")
            // supervisor: records list and view, nothing on users.
            try f.database.connectAsOwner().transaction(settings: AccessScope.operator_(tenantID: f.a.id).settings) { tx in
                try tx.execute("""
                    UPDATE users SET role_id = (SELECT role_id FROM roles WHERE tenant_id = \(f.a.id) AND key = 'supervisor')
                     WHERE tenant_id = \(f.a.id) AND email = 'n1@alfa.test'
                    """)
            }
            let before = try Self.tokenRows(f)
            let response = try await Self.login(client, email: "n1@alfa.test", password: Self.password)
            #expect(response.status == .ok, "\(String(buffer: response.body))")
            let object = try #require(try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any])
            #expect((object["user"] as? [String: Any])?["role"] as? String == "supervisor")
            let token = try #require(object["token"] as? String)
            let me = try await client.send(.get, "/v1/me", token: token)
            #expect(me.status == .ok)
            #expect(String(buffer: me.body).contains("n1@alfa.test"))
            // Other users stay out of reach.
            #expect(try await client.send(.get, "/v1/users", token: token).status == .forbidden)
            #expect(try Self.tokenRows(f) == before + 1)
        }
    }

    @Test("a refused sign-in writes no session row")
    func refusedSignInWritesNothing() async throws {
        try await HTTPFixture.withApp { f, client in
            try Self.setPassword(f, email: "n1@alfa.test")
            let before = try Self.tokenRows(f)
            #expect(try await Self.login(client, email: "n1@alfa.test", password: "wrong password here").status == .unauthorized)
            #expect(try await Self.login(client, email: "nobody@alfa.test", password: Self.password).status == .unauthorized)
            #expect(try Self.tokenRows(f) == before)
        }
    }

    @Test("a wrong password, an unknown e-mail and an unknown tenant get the same 401")
    func failuresLookAlike() async throws {
        try await HTTPFixture.withApp { f, client in
            try Self.setPassword(f, email: "n1@alfa.test")
            var bodies: [String] = []
            for (email, tenant) in [("n1@alfa.test", "alfa"), ("nobody@alfa.test", "alfa"), ("n1@alfa.test", "gamma")] {
                let response = try await Self.login(client, email: email, password: "wrong password here", tenant: tenant)
                #expect(response.status == .unauthorized)
                bodies.append(String(buffer: response.body))
            }
            #expect(Set(bodies).count == 1, "the three failures must be indistinguishable: \(Set(bodies))")
        }
    }

    @Test("after repeated failures login answers 429 with Retry-After, even for the right password")
    func loginIsRateLimited() async throws {
        try await HTTPFixture.withApp { f, client in
            try Self.setPassword(f, email: "s1@alfa.test")
            for _ in 0..<5 { _ = try await Self.login(client, email: "s1@alfa.test", password: "wrong password here") }
            let blocked = try await Self.login(client, email: "s1@alfa.test", password: Self.password)
            #expect(blocked.status == .tooManyRequests)
            let retryAfter = try #require(blocked.headers[.retryAfter].flatMap(Int.init))
            #expect(retryAfter > 0)
            #expect(String(buffer: blocked.body).contains("urn:comarca:problem:rate-limited"))
        }
    }

    @Test("an admin creates an API token with a narrower role; the token acts with that role and can be revoked")
    func apiTokens() async throws {
        try await HTTPFixture.withApp { f, client in
            let created = try await client.send(.post, "/v1/tokens", token: f.a.tokens["admin"], json: #"{"name":"web form","role":"viewer","expiresInDays":30}"#)
            #expect(created.status == .created)
            let object = try #require(try JSONSerialization.jsonObject(with: Data(buffer: created.body)) as? [String: Any])
            let token = try #require(object["token"] as? String)
            let id = try #require(object["id"] as? String)
            let access = try await client.send(.get, "/v1/me/access", token: token)
            #expect(String(buffer: access.body).contains("\"role\":\"viewer\""))
            let write = try await client.send(.post, "/v1/zones", token: token, json: #"{"code":"ZZ","name":"x"}"#)
            #expect(write.status == .forbidden)
            let listed = try await client.send(.get, "/v1/tokens", token: f.a.tokens["admin"])
            #expect(String(buffer: listed.body).contains(id))
            #expect(!String(buffer: listed.body).contains(token), "a token's secret is shown once, never listed")
            #expect(try await client.send(.delete, "/v1/tokens/\(id)", token: f.a.tokens["admin"]).status == .noContent)
            #expect(try await client.send(.get, "/v1/me", token: token).status == .unauthorized)
        }
    }

    @Test("an invite sets a password once; the invite cannot be reused")
    func inviteAcceptance() async throws {
        try await HTTPFixture.withApp { f, client in
            let invite = try AuthService().createInvite(tenantSlug: "alfa", email: "norte@alfa.test", on: try f.database.connectAsOwner())
            let body = #"{"token":"\#(invite.token)","password":"a brand new passphrase"}"#
            #expect(try await client.send(.post, "/v1/auth/accept-invite", json: body).status == .noContent)
            #expect(try await client.send(.post, "/v1/auth/accept-invite", json: body).status == .unauthorized)
            #expect(try await Self.login(client, email: "norte@alfa.test", password: "a brand new passphrase").status == .ok)
            let short = try await client.send(.post, "/v1/auth/accept-invite",
                json: #"{"token":"\#(try AuthService().createInvite(tenantSlug: "alfa", email: "s1@alfa.test", on: try f.database.connectAsOwner()).token)","password":"short"}"#)
            #expect(short.status.code == 422)
        }
    }

    @Test("a body over the 1 MiB limit is refused with a 413 problem before it is parsed")
    func oversizedBodyIsRefused() async throws {
        try await HTTPFixture.withApp { f, client in
            let huge = #"{"name":""# + String(repeating: "x", count: 2 << 20) + #""}"#
            let response = try await client.send(.patch, "/v1/tenant", token: f.a.tokens["admin"], json: huge)
            #expect(response.status.code == 413)
            #expect(String(buffer: response.body).contains("urn:comarca:problem:body-too-large"))
        }
    }

    @Test("a change of role applies to the very next request")
    func roleChangeAppliesAtOnce() async throws {
        try await HTTPFixture.withApp { f, client in
            let rep = f.a.tokens["n1"]
            #expect(try await client.send(.get, "/v1/roles", token: rep).status == .forbidden)
            let promote = try await client.send(.patch, "/v1/users/\(f.a.users["n1"]!)", token: f.a.tokens["admin"], json: #"{"role":"admin"}"#)
            #expect(promote.status == .ok)
            #expect(try await client.send(.get, "/v1/roles", token: rep).status == .ok)
        }
    }
}
