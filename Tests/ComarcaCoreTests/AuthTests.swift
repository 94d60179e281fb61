import ComarcaCore
import ComarcaTestSupport
import Foundation
import PGClient
import Testing

/// Sign-in, tokens and sessions against the real database, through the application role.
@Suite("auth: sign-in, tokens, sessions", .serialized)
struct AuthTests {
    static let password = "correct horse battery staple"
    static let auth = AuthService()

    // MARK: - Sign-in

    @Test("login returns a token that authenticates as the same user, with the session's token id")
    func loginAndAuthenticate() async throws {
        try await Self.withTenants { app, owner, t in
            let result = try Self.auth.login(tenantSlug: "tenant-a", email: "  R1@Tenant-A.example ", password: Self.password, clientAddress: "10.0.0.1", on: app)
            #expect(result.token.hasPrefix("cmk_"))
            #expect(result.token.count == 68)
            #expect(result.session.userID == t.a.users["R1"])
            #expect(result.session.tenantSlug == "tenant-a")
            #expect(result.session.role.key == "rep")
            #expect(result.expiresAt > Date().addingTimeInterval(11 * 3600) && result.expiresAt < Date().addingTimeInterval(13 * 3600))

            let session = try Self.auth.authenticate(token: result.token, on: app)
            #expect(session.userID == t.a.users["R1"])
            #expect(session.tenantID == t.a.tenantID)
            #expect(session.tokenID == result.session.tokenID)
            #expect(session.tokenID != nil)
            #expect(app.transactionState == .idle)
        }
    }

    @Test("wrong password, unknown e-mail, unknown tenant, deactivated user and no password all fail with the same error")
    func failuresAreIndistinguishable() async throws {
        try await Self.withTenants { app, owner, t in
            try owner.transaction(settings: AccessScope.operator_(tenantID: t.a.tenantID).settings) { tx in
                try tx.execute("UPDATE users SET deactivated_at = now(), zone_id = NULL WHERE tenant_id = \(t.a.tenantID) AND user_id = \(t.a.users["R2"]!)")
                try tx.execute("DELETE FROM user_credentials WHERE tenant_id = \(t.a.tenantID) AND user_id = \(t.a.users["R3"]!)")
            }
            let attempts: [(String, String, String, String)] = [
                ("wrong password", "tenant-a", "r1@tenant-a.example", "not the right password"),
                ("unknown e-mail", "tenant-a", "nobody@tenant-a.example", Self.password),
                ("unknown tenant", "tenant-zz", "r1@tenant-a.example", Self.password),
                ("deactivated user", "tenant-a", "r2@tenant-a.example", Self.password),
                ("user without a password", "tenant-a", "r3@tenant-a.example", Self.password),
                ("other tenant's user", "tenant-b", "r1@tenant-a.example", Self.password),
            ]
            var errors: [CoreError] = []
            var durations: [(String, Duration)] = []
            for (index, (what, slug, email, password)) in attempts.enumerated() {
                let start = ContinuousClock.now
                let error = #expect(throws: CoreError.self, "\(what)") {
                    try Self.auth.login(tenantSlug: slug, email: email, password: password, clientAddress: "10.1.0.\(index)", on: app)
                }
                durations.append((what, ContinuousClock.now - start))
                if let error { errors.append(error) }
            }
            #expect(errors.count == attempts.count)
            #expect(Set(errors.map(\.code)) == [.unauthenticated])
            #expect(Set(errors.map(\.message)).count == 1, "messages differ: \(errors.map(\.message))")
            // Each failure verified one argon2id hash (a dummy when there is no user). The fastest
            // of a few bare verifications is a floor no failure can undercut by much, however
            // loaded the machine (load only makes the failures slower).
            let hasher = PasswordHasher()
            let sample = try hasher.hash("some other password")
            var floor = Duration.seconds(60)
            for _ in 0..<3 {
                let start = ContinuousClock.now
                _ = hasher.verify("not it at all", against: sample)
                floor = min(floor, ContinuousClock.now - start)
            }
            for (what, duration) in durations {
                #expect(duration > floor / 2, "\(what) took \(duration), less than half of one argon2id verification (\(floor))")
            }
        }
    }

    /// A sign-in expected to be slowed down: its retry-after, in seconds.
    static func waits(
        _ app: PGConnection, _ slug: String, _ email: String, from address: String?, sourceLocation: SourceLocation = #_sourceLocation
    ) -> Int? {
        let error = #expect(throws: CoreError.self, sourceLocation: sourceLocation) {
            try Self.auth.login(tenantSlug: slug, email: email, password: Self.password, clientAddress: address, on: app)
        }
        #expect(error?.code == .rateLimited, sourceLocation: sourceLocation)
        return error?.retryAfterSeconds
    }

    /// Moves every recorded failure `seconds` into the past, as if that time had gone by. (The
    /// table has no UPDATE policy and forced RLS, so the owner lifts FORCE for this one
    /// transaction.)
    static func age(failuresBy seconds: Int, owner: PGConnection) throws {
        try owner.transaction { tx in
            try tx.execute("ALTER TABLE login_failures NO FORCE ROW LEVEL SECURITY")
            try tx.execute("UPDATE login_failures SET failed_at = failed_at - \(seconds) * interval '1 second'")
            try tx.execute("ALTER TABLE login_failures FORCE ROW LEVEL SECURITY")
        }
    }

    static func fail(_ app: PGConnection, _ slug: String, _ email: String, from address: String?) {
        _ = try? Self.auth.login(tenantSlug: slug, email: email, password: "wrong password!", clientAddress: address, on: app)
    }

    @Test("after 5 failures for an account from one address, the right password waits there (15 s, doubling with each failure); the account from elsewhere and other accounts do not")
    func pairBacksOff() async throws {
        try await Self.withTenants { app, owner, _ in
            for attempt in 1...5 {
                let error = #expect(throws: CoreError.self) {
                    try Self.auth.login(tenantSlug: "tenant-a", email: "r1@tenant-a.example", password: "wrong password \(attempt)", clientAddress: "10.2.0.1", on: app)
                }
                #expect(error?.code == .unauthenticated, "attempt \(attempt)")
            }
            let first = try #require(Self.waits(app, "tenant-a", "r1@tenant-a.example", from: "10.2.0.1"))
            #expect((1...15).contains(first), "waits \(first) s")
            _ = try Self.auth.login(tenantSlug: "tenant-a", email: "r1@tenant-a.example", password: Self.password, clientAddress: "10.2.0.2", on: app)
            _ = try Self.auth.login(tenantSlug: "tenant-a", email: "r3@tenant-a.example", password: Self.password, clientAddress: "10.2.0.1", on: app)

            // The success from 10.2.0.2 cleared the account's failures, not the pair's: the next
            // failure there doubles the wait.
            try Self.age(failuresBy: 16, owner: owner)
            Self.fail(app, "tenant-a", "r1@tenant-a.example", from: "10.2.0.1")
            let second = try #require(Self.waits(app, "tenant-a", "r1@tenant-a.example", from: "10.2.0.1"))
            #expect((16...30).contains(second), "waits \(second) s")
            // Never a hard lock-out: past the wait, the right password goes through.
            try Self.age(failuresBy: 31, owner: owner)
            _ = try Self.auth.login(tenantSlug: "tenant-a", email: "r1@tenant-a.example", password: Self.password, clientAddress: "10.2.0.1", on: app)
        }
    }

    @Test("21 failed logins with random e-mails from one address do not lock out a colleague who signed in from there before; a newcomer there waits at most a minute")
    func strangerCannotLockOutAnAddress() async throws {
        try await Self.withTenants { app, _, _ in
            _ = try Self.auth.login(tenantSlug: "tenant-b", email: "r1@tenant-b.example", password: Self.password, clientAddress: "192.0.2.7", on: app)
            for attempt in 1...21 {
                Self.fail(app, "tenant-a", "nobody\(attempt)@tenant-a.example", from: "192.0.2.7")
            }
            // The bystander, in another tenant, behind the same NAT.
            _ = try Self.auth.login(tenantSlug: "tenant-b", email: "r1@tenant-b.example", password: Self.password, clientAddress: "192.0.2.7", on: app)
            // Credential stuffing is slowed: an account new to this address waits, briefly.
            let newcomer = try #require(Self.waits(app, "tenant-b", "r2@tenant-b.example", from: "192.0.2.7"))
            #expect((1...60).contains(newcomer), "waits \(newcomer) s")
            _ = try Self.auth.login(tenantSlug: "tenant-b", email: "r2@tenant-b.example", password: Self.password, clientAddress: "192.0.2.8", on: app)
        }
    }

    @Test("an account failing from many addresses waits after 10 failures, except from an address it signed in from before")
    func accountBacksOffExceptFromAKnownAddress() async throws {
        try await Self.withTenants { app, _, _ in
            _ = try Self.auth.login(tenantSlug: "tenant-a", email: "r1@tenant-a.example", password: Self.password, clientAddress: "10.9.0.1", on: app)
            for attempt in 1...10 {
                Self.fail(app, "tenant-a", "r1@tenant-a.example", from: "10.3.0.\(attempt)")
            }
            let wait = try #require(Self.waits(app, "tenant-a", "r1@tenant-a.example", from: "10.4.0.1"))
            #expect((1...15).contains(wait), "waits \(wait) s")
            _ = try Self.auth.login(tenantSlug: "tenant-a", email: "r1@tenant-a.example", password: Self.password, clientAddress: "10.9.0.1", on: app)
        }
    }

    @Test("IPv6 addresses of one /64 count as one address; another /64 is another")
    func ipv6GroupsBySlash64() async throws {
        try await Self.withTenants { app, _, _ in
            for attempt in 1...20 {
                Self.fail(app, "tenant-a", "nobody\(attempt)@tenant-a.example", from: "2001:db8:1:2::\(String(attempt, radix: 16))")
            }
            _ = Self.waits(app, "tenant-b", "r1@tenant-b.example", from: "2001:0db8:0001:0002:ffff:ffff:ffff:ffff")
            _ = try Self.auth.login(tenantSlug: "tenant-b", email: "r1@tenant-b.example", password: Self.password, clientAddress: "2001:db8:1:3::1", on: app)
        }
    }

    @Test("address groups: IPv4 as itself, IPv6 by its /64, IPv4-mapped IPv6 as IPv4, anything else as written")
    func addressGroups() {
        #expect(LoginAddress.group("192.0.2.7") == "192.0.2.7")
        #expect(LoginAddress.group(" 2001:DB8:1:2::abcd ") == "2001:db8:1:2::/64")
        #expect(LoginAddress.group("2001:db8:1:2:ffff:ffff:ffff:ffff") == LoginAddress.group("2001:db8:1:2::1"))
        #expect(LoginAddress.group("2001:db8:1:3::1") != LoginAddress.group("2001:db8:1:2::1"))
        #expect(LoginAddress.group("::ffff:192.0.2.7") == "192.0.2.7")
        #expect(LoginAddress.group("[fe80::1%eth0]") == "fe80:0:0:0::/64")
        #expect(LoginAddress.group("unix") == "unix")
        #expect(LoginAddress.group("  ") == nil)
    }

    @Test("a successful login clears the account's failures")
    func successClearsFailures() async throws {
        try await Self.withTenants { app, _, _ in
            for _ in 1...4 {
                _ = try? Self.auth.login(tenantSlug: "tenant-a", email: "r1@tenant-a.example", password: "wrong password!", clientAddress: nil, on: app)
            }
            _ = try Self.auth.login(tenantSlug: "tenant-a", email: "r1@tenant-a.example", password: Self.password, clientAddress: nil, on: app)
            for _ in 1...4 {
                _ = try? Self.auth.login(tenantSlug: "tenant-a", email: "r1@tenant-a.example", password: "wrong password!", clientAddress: nil, on: app)
            }
            _ = try Self.auth.login(tenantSlug: "tenant-a", email: "r1@tenant-a.example", password: Self.password, clientAddress: nil, on: app)
        }
    }

    // MARK: - Tokens

    @Test("expired, revoked, logged-out, malformed and invite tokens are rejected")
    func deadTokensRejected() async throws {
        try await Self.withTenants { app, owner, t in
            let expired = try Self.auth.login(tenantSlug: "tenant-a", email: "r1@tenant-a.example", password: Self.password, clientAddress: nil, on: app)
            try owner.transaction(settings: AccessScope.operator_(tenantID: t.a.tenantID).settings) { tx in
                try tx.execute("""
                    UPDATE auth_tokens SET created_at = now() - interval '13 hours', expires_at = now() - interval '1 hour'
                     WHERE tenant_id = \(t.a.tenantID) AND token_id = \(expired.session.tokenID!)
                    """)
            }
            let loggedOut = try Self.auth.login(tenantSlug: "tenant-a", email: "r1@tenant-a.example", password: Self.password, clientAddress: nil, on: app)
            #expect(try Self.auth.logout(token: loggedOut.token, on: app))
            #expect(try !Self.auth.logout(token: loggedOut.token, on: app))

            let admin = try Self.auth.login(tenantSlug: "tenant-a", email: "hq@tenant-a.example", password: Self.password, clientAddress: nil, on: app)
            let revoked = try Self.auth.login(tenantSlug: "tenant-a", email: "r1@tenant-a.example", password: Self.password, clientAddress: nil, on: app)
            try Self.auth.revokeToken(session: admin.session, tokenID: revoked.session.tokenID!, on: app)

            let invite = try Self.auth.createInvite(tenantSlug: "tenant-a", email: "r3@tenant-a.example", on: app)

            let live = try Self.auth.login(tenantSlug: "tenant-a", email: "r1@tenant-a.example", password: Self.password, clientAddress: nil, on: app)
            var tampered = Array(live.token)
            tampered[40] = tampered[40] == "A" ? "B" : "A"

            for (what, token) in [("expired", expired.token), ("logged out", loggedOut.token), ("revoked", revoked.token),
                                  ("invite", invite.token), ("tampered", String(tampered)), ("garbage", "cmk_nope"), ("empty", "")] {
                let error = #expect(throws: CoreError.self, "\(what)") { try Self.auth.authenticate(token: token, on: app) }
                #expect(error?.code == .unauthenticated, "\(what)")
            }
            #expect(try Self.auth.authenticate(token: live.token, on: app).userID == t.a.users["R1"])
        }
    }

    @Test("a deactivated user's tokens stop working at the next request")
    func deactivatedUserToken() async throws {
        try await Self.withTenants { app, owner, t in
            let login = try Self.auth.login(tenantSlug: "tenant-a", email: "r1@tenant-a.example", password: Self.password, clientAddress: nil, on: app)
            try owner.transaction(settings: AccessScope.operator_(tenantID: t.a.tenantID).settings) { tx in
                try tx.execute("UPDATE users SET deactivated_at = now(), zone_id = NULL WHERE tenant_id = \(t.a.tenantID) AND user_id = \(t.a.users["R1"]!)")
            }
            let error = #expect(throws: CoreError.self) { try Self.auth.authenticate(token: login.token, on: app) }
            #expect(error?.code == .unauthenticated)
        }
    }

    @Test("rejects a tenant A token presented as tenant B's: it never resolves into tenant B")
    func tokenStaysInItsTenant() async throws {
        try await Self.withTenants { app, _, t in
            let login = try Self.auth.login(tenantSlug: "tenant-a", email: "r1@tenant-a.example", password: Self.password, clientAddress: nil, on: app)
            // Same secret, tenant part replaced by tenant B's id.
            let bytes = try #require(Self.base64URLDecode(String(login.token.dropFirst(4))))
            let forged = "cmk_" + Self.base64URLEncode(withUnsafeBytes(of: t.b.tenantID.uuid) { Array($0) } + bytes[16...])
            #expect(forged.count == login.token.count)
            let error = #expect(throws: CoreError.self) { try Self.auth.authenticate(token: forged, on: app) }
            #expect(error?.code == .unauthenticated)
            #expect(try Self.auth.authenticate(token: login.token, on: app).tenantID == t.a.tenantID)
        }
    }

    @Test("rejects the app role's plain SELECT of password hashes and token hashes, even with tenant-wide settings")
    func hashesAreUnreadable() async throws {
        try await Self.withTenants { app, _, t in
            _ = try Self.auth.login(tenantSlug: "tenant-a", email: "r1@tenant-a.example", password: Self.password, clientAddress: nil, on: app)
            let settings = AccessScope.operator_(tenantID: t.a.tenantID).settings
            for query: PGQuery in [
                "SELECT password_hash FROM user_credentials",
                "SELECT * FROM user_credentials",
                "SELECT token_hash FROM auth_tokens",
                "SELECT count(*) FROM auth_tokens WHERE token_hash IS NOT NULL",
                "SELECT * FROM login_failures",
            ] {
                let error = #expect(throws: PGError.self, "\(query.sql)") {
                    try app.transaction(settings: settings) { tx in try tx.query(query) }
                }
                #expect(error?.code == .insufficientPrivilege, "\(query.sql): \(String(describing: error))")
            }
            // What the app may read.
            let visible = try app.transaction(settings: settings) { tx in
                try tx.query("SELECT count(*) FROM auth_tokens").scalar(Int.self) + tx.query("SELECT count(*) FROM user_credentials").scalar(Int.self)
            }
            #expect(visible > 0)
        }
    }

    @Test("the sign-in functions leave the caller's settings as they were")
    func definerFunctionsRestoreSettings() async throws {
        try await Self.withTenants { app, _, t in
            let login = try Self.auth.login(tenantSlug: "tenant-a", email: "r1@tenant-a.example", password: Self.password, clientAddress: nil, on: app)
            let rep = AccessScope(tenantID: t.a.tenantID, actorID: t.a.users["R1"], visibility: .zones([t.a.zones["R1"]!]))
            let after = try app.transaction(settings: rep.settings) { tx in
                _ = try tx.query("SELECT * FROM comarca.credential_for_login(\(t.b.tenantID), 'r1@tenant-b.example')")
                _ = try tx.query("SELECT comarca.login_blocked_until('tenant-b', 'x@y', '1.2.3.4')")
                _ = try tx.query("SELECT comarca.note_login_failure('tenant-b', 'x@y', '1.2.3.4')")
                _ = try tx.query("SELECT comarca.revoke_token_by_hash(\(t.b.tenantID), \(Data(repeating: 1, count: 32)))")
                _ = try tx.query("SELECT comarca.consume_invite(\(t.b.tenantID), \(Data(repeating: 1, count: 32)))")
                _ = try Self.auth.logout(token: "cmk_" + String(repeating: "A", count: 64), on: tx)
                return try tx.query("""
                    SELECT current_setting('comarca.tenant_id'), current_setting('comarca.user_id'),
                           current_setting('comarca.scope'), current_setting('comarca.zone_ids')
                    """).decode((String, String, String, String).self)
            }
            let expected = rep.settings.map(\.value)
            let got = try #require(after.first)
            #expect([got.0, got.1, got.2, got.3] == expected)
            _ = login
        }
    }

    // MARK: - Sessions and roles

    @Test("visible zones: a rep sees their zone, a manager their subtree, an admin the tenant")
    func visibleZones() async throws {
        try await Self.withTenants { app, owner, t in
            let rep = try SessionLoader.load(tenantID: t.a.tenantID, userID: t.a.users["R1"]!, on: app)
            #expect(rep.visibleZoneIDs == [t.a.zones["R1"]!])
            #expect(rep.zoneID == t.a.zones["R1"])

            let manager = try SessionLoader.load(tenantID: t.a.tenantID, userID: t.a.users["N1"]!, on: app)
            #expect(Set(manager.visibleZoneIDs ?? []) == Set(["N1", "R1", "R2"].map { t.a.zones[$0]! }))
            #expect(manager.role.key == "manager")

            let admin = try SessionLoader.load(tenantID: t.a.tenantID, userID: t.a.users["HQ"]!, on: app)
            #expect(admin.visibleZoneIDs == nil)
            #expect(admin.accessScope.visibility == .wholeTenant)

            // No caching: a change of role applies to the next load.
            try owner.transaction(settings: AccessScope.operator_(tenantID: t.a.tenantID).settings) { tx in
                try tx.execute("""
                    UPDATE users SET role_id = (SELECT role_id FROM roles WHERE tenant_id = \(t.a.tenantID) AND key = 'rep')
                     WHERE tenant_id = \(t.a.tenantID) AND user_id = \(t.a.users["N1"]!)
                    """)
            }
            let demoted = try SessionLoader.load(tenantID: t.a.tenantID, userID: t.a.users["N1"]!, on: app)
            #expect(demoted.role.key == "rep")
            #expect(demoted.visibleZoneIDs == [t.a.zones["N1"]!])

            // A user of tenant A does not exist in tenant B.
            let error = #expect(throws: CoreError.self) {
                try SessionLoader.load(tenantID: t.b.tenantID, userID: t.a.users["R1"]!, on: app)
            }
            #expect(error?.code == .unauthenticated)
        }
    }

    @Test("an API token acts with its own role; a rep may not create one; a token role cannot exceed the creator's")
    func apiTokenRole() async throws {
        try await Self.withTenants { app, _, t in
            let admin = try Self.auth.login(tenantSlug: "tenant-a", email: "hq@tenant-a.example", password: Self.password, clientAddress: nil, on: app)
            let issued = try Self.auth.createAPIToken(session: admin.session, name: "web form", role: "rep", on: app)
            #expect(issued.kind == .api)
            #expect(issued.expiresAt > Date().addingTimeInterval(89 * 86_400))
            let session = try Self.auth.authenticate(token: issued.token, on: app)
            #expect(session.userID == t.a.users["HQ"])
            #expect(session.role.key == "rep")
            #expect(session.visibleZoneIDs == [t.a.zones["HQ"]!])
            #expect(session.tokenID == issued.tokenID)

            let plain = try Self.auth.createAPIToken(session: admin.session, name: "sync", expiresIn: 3600, on: app)
            #expect(try Self.auth.authenticate(token: plain.token, on: app).role.key == "admin")

            let rep = try Self.auth.login(tenantSlug: "tenant-a", email: "r1@tenant-a.example", password: Self.password, clientAddress: nil, on: app)
            let forbidden = #expect(throws: CoreError.self) { try Self.auth.createAPIToken(session: rep.session, name: "mine", on: app) }
            #expect(forbidden?.code == .forbidden)

            // A manager-scoped session with tokens rights still cannot mint an admin token.
            let limited = Session(
                tenantID: t.a.tenantID, tenantSlug: "tenant-a", userID: t.a.users["N1"]!, zoneID: t.a.zones["N1"]!,
                role: RoleDefinition(key: "integrator", name: "Integrator", scope: .zoneSubtree,
                                     permissions: BuiltinRoles.manager.permissions.merging([.tokens: [.create, .list]]) { $1 }),
                visibleZoneIDs: [t.a.zones["N1"]!], tokenID: nil)
            let escalation = #expect(throws: CoreError.self) { try Self.auth.createAPIToken(session: limited, name: "x", role: "admin", on: app) }
            #expect(escalation?.code == .forbidden)

            // Listing: the admin sees every live token of the tenant, the rep only their own.
            let all = try Self.auth.listTokens(session: admin.session, on: app)
            #expect(Set(all.map(\.tokenID)).isSuperset(of: [issued.tokenID, plain.tokenID, rep.session.tokenID!]))
            #expect(all.first { $0.tokenID == issued.tokenID }?.roleKey == "rep")
            #expect(all.first { $0.tokenID == issued.tokenID }?.name == "web form")
            let own = try Self.auth.listTokens(session: rep.session, on: app)
            #expect(own.map(\.tokenID) == [rep.session.tokenID!])
            // A rep cannot revoke the admin's token: it does not exist for them.
            let notFound = #expect(throws: CoreError.self) { try Self.auth.revokeToken(session: rep.session, tokenID: issued.tokenID, on: app) }
            #expect(notFound?.code == .notFound)
            try Self.auth.revokeToken(session: rep.session, tokenID: rep.session.tokenID!, on: app)
            #expect(throws: CoreError.self) { try Self.auth.authenticate(token: rep.token, on: app) }
        }
    }

    @Test("an invite sets the password once; a second use is rejected")
    func inviteIsSingleUse() async throws {
        try await Self.withTenants { app, _, _ in
            let invite = try Self.auth.createInvite(tenantSlug: "tenant-a", email: "r3@tenant-a.example", on: app)
            #expect(invite.kind == .invite)
            #expect(invite.expiresAt > Date().addingTimeInterval(6.9 * 86_400) && invite.expiresAt < Date().addingTimeInterval(7.1 * 86_400))

            let tooShort = #expect(throws: CoreError.self) { try Self.auth.acceptInvite(token: invite.token, password: "short", on: app) }
            #expect(tooShort?.code == .invalidInput)

            try Self.auth.acceptInvite(token: invite.token, password: "a brand new password", on: app)
            _ = try Self.auth.login(tenantSlug: "tenant-a", email: "r3@tenant-a.example", password: "a brand new password", clientAddress: nil, on: app)

            let reused = #expect(throws: CoreError.self) { try Self.auth.acceptInvite(token: invite.token, password: "yet another password", on: app) }
            #expect(reused?.code == .unauthenticated)
            #expect(throws: CoreError.self) {
                try Self.auth.login(tenantSlug: "tenant-a", email: "r3@tenant-a.example", password: "yet another password", clientAddress: nil, on: app)
            }

            // A new invite revokes the previous open one.
            let first = try Self.auth.createInvite(tenantSlug: "tenant-a", email: "r2@tenant-a.example", on: app)
            let second = try Self.auth.createInvite(tenantSlug: "tenant-a", email: "r2@tenant-a.example", on: app)
            #expect(throws: CoreError.self) { try Self.auth.acceptInvite(token: first.token, password: "first invite password", on: app) }
            try Self.auth.acceptInvite(token: second.token, password: "second invite password", on: app)
        }
    }

    // MARK: - Passwords

    @Test("passwords shorter than 12 or longer than 1024 characters are rejected", arguments: [
        "", "short", "elevenchars", String(repeating: "x", count: 1025),
    ])
    func passwordLength(password: String) throws {
        let error = #expect(throws: CoreError.self) { try PasswordHasher.validate(password) }
        #expect(error?.code == .invalidInput)
        #expect(error?.fieldErrors.first?.field == "password")
    }

    @Test("set-password rejects a short password and changes nothing")
    func setPasswordTooShort() async throws {
        try await Self.withTenants { app, _, _ in
            let error = #expect(throws: CoreError.self) {
                try Self.auth.setPassword(tenantSlug: "tenant-a", email: "r1@tenant-a.example", password: "elevenchars", on: app)
            }
            #expect(error?.code == .invalidInput)
            _ = try Self.auth.login(tenantSlug: "tenant-a", email: "r1@tenant-a.example", password: Self.password, clientAddress: nil, on: app)
        }
    }

    @Test("hashes are argon2id with m=19456, t=2, p=1, a 16-byte salt, and verify")
    func hashFormat() async throws {
        let hasher = PasswordHasher()
        let hash = try hasher.hash("twelve chars!")
        #expect(hash.hasPrefix("$argon2id$v=19$m=19456,t=2,p=1$"))
        let parts = hash.split(separator: "$")
        #expect(parts.count == 5)
        #expect(parts[3].count == 22, "16-byte salt in unpadded base64")
        #expect(hasher.verify("twelve chars!", against: hash))
        #expect(!hasher.verify("twelve chars?", against: hash))
        #expect(!hasher.needsRehash(hash))
        #expect(PasswordHasher(parameters: .init(memoryKiB: 8192, iterations: 1, parallelism: 1)).needsRehash(hash))
        #expect(try hasher.hash("twelve chars!") != hash, "a fresh salt each time")
        // NFC: a decomposed é verifies against the composed one.
        #expect(hasher.verify("caf\u{0065}\u{0301} au lait!!", against: try hasher.hash("caf\u{00E9} au lait!!")))

        try await Self.withTenants { _, owner, t in
            let stored = try owner.transaction(settings: AccessScope.operator_(tenantID: t.a.tenantID).settings) { tx in
                try tx.query("SELECT password_hash FROM user_credentials WHERE tenant_id = \(t.a.tenantID) AND user_id = \(t.a.users["R1"]!)").scalar(String.self)
            }
            #expect(stored.hasPrefix("$argon2id$v=19$m=19456,t=2,p=1$"))
        }
    }
}

// MARK: - Fixture

extension AuthTests {
    /// One tenant: zones HQ → N1 → R1, R2 and HQ → N2 → R3; users: HQ admin, N1/N2 managers,
    /// R1–R3 reps, all with `password`.
    struct Tenant {
        let tenantID: UUID
        let zones: [String: UUID]
        let users: [String: UUID]
    }

    struct Tenants {
        let a: Tenant
        let b: Tenant
    }

    static let tree: [(String, String?)] = [("HQ", nil), ("N1", "HQ"), ("N2", "HQ"), ("R1", "N1"), ("R2", "N1"), ("R3", "N2")]

    static func insertTenant(slug: String, owner: PGConnection) throws -> Tenant {
        let tenantID = UUID()
        var zones: [String: UUID] = [:]
        var users: [String: UUID] = [:]
        try owner.transaction(settings: AccessScope.operator_(tenantID: tenantID).settings) { tx in
            try tx.execute("INSERT INTO tenants (tenant_id, slug, name) VALUES (\(tenantID), \(slug), \(slug))")
            var roles: [String: UUID] = [:]
            for role in [BuiltinRoles.admin, BuiltinRoles.manager, BuiltinRoles.rep] {
                roles[role.key] = try tx.query("""
                    INSERT INTO roles (tenant_id, key, name, builtin, scope, permissions)
                    VALUES (\(tenantID), \(role.key), \(role.name), true, \(role.scope.rawValue), \(PGJSON(text: role.permissionsJSON)))
                    RETURNING role_id
                    """).scalar(UUID.self)
            }
            for (code, parent) in tree {
                let zoneID = UUID()
                zones[code] = zoneID
                try tx.execute("""
                    INSERT INTO zones (tenant_id, zone_id, parent_zone_id, code, name)
                    VALUES (\(tenantID), \(zoneID), \(parent.map { zones[$0]! }), \(code), \(code))
                    """)
                let role = parent == nil ? "admin" : (code.hasPrefix("N") ? "manager" : "rep")
                users[code] = try tx.query("""
                    INSERT INTO users (tenant_id, email, display_name, role_id, zone_id)
                    VALUES (\(tenantID), \(code.lowercased() + "@" + slug + ".example"), \(code), \(roles[role]!), \(zoneID))
                    RETURNING user_id
                    """).scalar(UUID.self)
            }
        }
        return Tenant(tenantID: tenantID, zones: zones, users: users)
    }

    /// Two tenants with passwords set (through the service, as the app role), then `body` with an
    /// app connection and an owner connection.
    static func withTenants(_ body: (PGConnection, PGConnection, Tenants) throws -> Void) async throws {
        try await TestDatabase.withMigrated { database in
            let owner = try database.connectAsOwner()
            let tenants = Tenants(a: try insertTenant(slug: "tenant-a", owner: owner), b: try insertTenant(slug: "tenant-b", owner: owner))
            var backend: Int32 = 0
            defer { IsolationTests.waitForForeignBackends(app: backend, database: database.name, owner: owner) }
            try {
                let app = try database.connectAsApp()
                backend = app.backendPID
                // One hash reused for every user: hashing is the slow part.
                let hash = try PasswordHasher().hash(password)
                for tenant in [tenants.a, tenants.b] {
                    try owner.transaction(settings: AccessScope.operator_(tenantID: tenant.tenantID).settings) { tx in
                        for userID in tenant.users.values {
                            try tx.execute("INSERT INTO user_credentials (tenant_id, user_id, password_hash) VALUES (\(tenant.tenantID), \(userID), \(hash))")
                        }
                    }
                }
                try body(app, owner, tenants)
            }()
        }
    }

    static func base64URLDecode(_ text: String) -> [UInt8]? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64).map { Array($0) }
    }

    static func base64URLEncode(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
