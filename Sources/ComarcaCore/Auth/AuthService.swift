public import Foundation
public import PGClient

/// Sign-in, bearer tokens and passwords (issue 3, "Sign-in").
///
/// Every method is synchronous and blocking: it talks to PostgreSQL on the given connection and
/// hashes or verifies passwords (argon2id, tens of milliseconds of CPU) on the calling thread.
/// Call them inside `pool.withConnection { connection in ... }`, which runs the closure on one of
/// the pool's threads, never on an event loop. The async overloads taking a `PGPool` do exactly
/// that. Methods open their own transactions, so the connection must be idle (not inside one).
///
/// Failures: `unauthenticated` (one message for every sign-in failure), `rateLimited` with
/// `CoreError.retryAfterSeconds`, `forbidden`, `notFound`, `invalidInput` (field errors).
public struct AuthService: Sendable {
    public struct Configuration: Sendable {
        public var sessionLifetime: TimeInterval
        public var apiTokenLifetime: TimeInterval
        public var maximumAPITokenLifetime: TimeInterval
        public var inviteLifetime: TimeInterval

        public init(
            sessionLifetime: TimeInterval = 12 * 3600,
            apiTokenLifetime: TimeInterval = 90 * 86_400,
            maximumAPITokenLifetime: TimeInterval = 3 * 365 * 86_400,
            inviteLifetime: TimeInterval = 7 * 86_400
        ) {
            self.sessionLifetime = sessionLifetime
            self.apiTokenLifetime = apiTokenLifetime
            self.maximumAPITokenLifetime = maximumAPITokenLifetime
            self.inviteLifetime = inviteLifetime
        }
    }

    /// A successful sign-in: the bearer token (shown once), when it expires, and the session.
    public struct LoginResult: Sendable {
        public let token: String
        public let expiresAt: Date
        public let session: Session
        /// The signed-in user's own profile, read in the transaction that issued the token.
        public let user: DirectoryService.UserView
    }

    /// A newly issued token. `token` is the only copy of the secret: show it once.
    public struct IssuedToken: Sendable {
        public let token: String
        public let tokenID: UUID
        public let userID: UUID
        public let kind: TokenKind
        public let expiresAt: Date
    }

    /// A token as listed to admins and owners: never its secret or hash.
    public struct TokenInfo: Sendable, Hashable {
        public let tokenID: UUID
        public let userID: UUID
        public let kind: TokenKind
        public let name: String?
        /// The key of an API token's own role; nil when it acts with its user's role.
        public let roleKey: String?
        public let createdAt: Date
        public let expiresAt: Date
        public let revokedAt: Date?
        public let lastUsedAt: Date?
        public let createdBy: UUID?
    }

    /// The one answer to every failed sign-in or token check.
    static let unauthenticated = CoreError(.unauthenticated, "unknown tenant, e-mail or password, or an invalid or expired token")

    public let configuration: Configuration
    let hasher: PasswordHasher
    /// Verified against when there is no user, so an unknown account takes as long as a known one.
    let dummyHash: String

    /// Computes one dummy argon2id hash (tens of milliseconds): build one service and keep it.
    public init(configuration: Configuration = Configuration(), hasher: PasswordHasher = PasswordHasher()) {
        self.configuration = configuration
        self.hasher = hasher
        var generator = SystemRandomNumberGenerator()
        let random = (0..<32).map { _ in String(UInt8.random(in: .min ... .max, using: &generator), radix: 16) }.joined()
        self.dummyHash = (try? hasher.hash(random)) ?? "$argon2id$v=19$m=19456,t=2,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    }

    // MARK: - Sign-in

    /// Password sign-in. An unknown tenant, an unknown e-mail, a deactivated user, a user without
    /// a password and a wrong password all throw the same `unauthenticated` error after the same
    /// work (one argon2id verification). Failures slow later attempts down (sql/0023): past 5 for
    /// the account from this address, 10 for the account, or 20 from the address (IPv6 by /64),
    /// attempts throw `rateLimited` with `retryAfterSeconds` before any password is looked at,
    /// waiting longer with each failure up to a cap (15 minutes; 60 seconds for the address). An
    /// account that signed in from this address before is exempt from the account and address
    /// counts, so a stranger cannot lock others out. Success clears the account's failures.
    ///
    /// `clientAddress`: the client's IP address as the HTTP layer sees it (nil from the CLI).
    /// Blocking (argon2id): run on a pool thread.
    public func login(
        tenantSlug: String, email: String, password: String, clientAddress: String?, on connection: PGConnection
    ) throws -> LoginResult {
        let slug = Self.normalizeSlug(tenantSlug)
        let email = Self.normalizeEmail(email)
        let address = clientAddress.flatMap(LoginAddress.group)

        let rows = try connection.query("""
            SELECT t.id,
                   CASE WHEN b.until IS NULL THEN NULL
                        ELSE greatest(1, ceil(extract(epoch FROM b.until - clock_timestamp())))::integer END,
                   c.user_id, c.password_hash
              FROM (SELECT comarca.tenant_id_for_slug(\(slug)) AS id) t
             CROSS JOIN LATERAL (SELECT comarca.login_blocked_until(\(slug), \(email), \(address)) AS until) b
              LEFT JOIN LATERAL comarca.credential_for_login(t.id, \(email)) c ON true
            """).decode((UUID?, Int?, UUID?, String?).self)
        guard let (tenantID, retryAfter, userID, storedHash) = rows.first else { throw Self.unauthenticated }
        if let retryAfter {
            throw CoreError(.rateLimited, "too many failed sign-in attempts; try again later", retryAfterSeconds: retryAfter)
        }

        let matches: Bool
        if password.count > PasswordHasher.maximumLength * 4 {
            matches = false  // not worth hashing; still a counted failure
        } else if let storedHash {
            matches = hasher.verify(password, against: storedHash)
        } else {
            _ = hasher.verify(password, against: dummyHash)
            matches = false
        }
        guard matches, let tenantID, let userID, let storedHash else {
            try connection.query("SELECT comarca.note_login_failure(\(slug), \(email), \(address))")
            throw Self.unauthenticated
        }

        let issued = AuthToken.generate(tenantID: tenantID)
        let scope = AccessScope(tenantID: tenantID, actorID: userID, visibility: .zones([]))
        let lifetime = configuration.sessionLifetime
        // One transaction: the token, the cleared failures and the profile are written and read
        // together, so a sign-in refused at any step leaves nothing behind.
        let (session, expiresAt, user) = try connection.transaction(settings: scope.settings) { tx in
            let session = try SessionLoader.load(tenantID: tenantID, userID: userID, on: tx)
            let expiresAt = try tx.query("""
                INSERT INTO public.auth_tokens (tenant_id, user_id, kind, token_hash, expires_at)
                VALUES (\(tenantID), \(userID), 'session', \(issued.hash), now() + \(lifetime) * interval '1 second')
                RETURNING token_id, expires_at
                """).decode((UUID, Date).self)
            try tx.query("SELECT comarca.note_login_success(\(slug), \(email), \(address))")
            let (tokenID, expires) = try Self.single(expiresAt)
            return (
                Session(
                    tenantID: session.tenantID, tenantSlug: session.tenantSlug, userID: session.userID,
                    zoneID: session.zoneID, role: session.role, visibleZoneIDs: session.visibleZoneIDs, tokenID: tokenID),
                expires,
                try DirectoryService.me(session, on: tx)
            )
        }

        // Parameters changed since this hash was made: store a new one now that we know the password.
        if hasher.needsRehash(storedHash), let rehashed = try? hasher.hash(password) {
            _ = try? connection.transaction(settings: scope.settings) { tx in
                try Self.storePassword(hash: rehashed, tenantID: tenantID, userID: userID, on: tx)
            }
        }
        return LoginResult(token: issued.text, expiresAt: expiresAt, session: session, user: user)
    }

    /// Revokes the session or API token given. Unknown, malformed or already revoked tokens are
    /// ignored (logout is idempotent). Returns whether a live token was revoked.
    @discardableResult
    public func logout(token: String, on connection: PGConnection) throws -> Bool {
        guard let parsed = AuthToken.parse(token) else { return false }
        return try connection.query("SELECT comarca.revoke_token_by_hash(\(parsed.tenantID), \(parsed.hash))").scalar(Bool.self)
    }

    /// The session a bearer token stands for: one pipelined round trip (BEGIN, settings, one
    /// query that checks the token, records its use at most once a minute, and loads the user,
    /// role and visible zones, COMMIT). An unknown, malformed, expired or revoked token, an invite,
    /// a deactivated user or a suspended tenant throw `unauthenticated`.
    public func authenticate(token: String, on connection: PGConnection) throws -> Session {
        guard let (tenantID, settings, query) = Self.authenticationStatement(token: token) else { throw Self.unauthenticated }
        let rows = try connection.pipelinedTransaction(settings: settings, [query])[0]
        return try SessionLoader.session(from: rows, tenantID: tenantID)
    }

    /// The one statement (and its transaction settings) that resolves a token into a session;
    /// nil for a token that is not even well-formed. Public so the benchmark can give pgbench
    /// exactly what the service sends.
    public static func authenticationStatement(token: String) -> (tenantID: UUID, settings: [PGSetting], query: PGQuery)? {
        guard let parsed = AuthToken.parse(token) else { return nil }
        let scope = AccessScope(tenantID: parsed.tenantID, actorID: nil, visibility: .zones([]))
        return (parsed.tenantID, scope.settings, authenticationQuery(tenantID: parsed.tenantID, tokenHash: parsed.hash))
    }

    /// The session query over `comarca.authenticate_token`. Its text is the same for every token:
    /// built once, then only the binds are filled in for each request.
    static func authenticationQuery(tenantID: UUID, tokenHash: Data) -> PGQuery {
        let template = Self.authenticationTemplate
        let tenant = PGBind(tenantID)
        let hash = PGBind(tokenHash)
        let binds = template.binds.map { $0 == Self.templateTenant ? tenant : hash }
        return PGQuery(unsafeSQL: template.sql, binds: binds)
    }

    private static let templateTenant = PGBind(UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1)))
    private static let templateHash = PGBind(Data([1]))
    private static let authenticationTemplate: PGQuery = {
        let tenantID = UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1))
        let source: PGQuery = """
            SELECT a.user_id, a.role_id, a.token_id FROM comarca.authenticate_token(\(tenantID), \(Data([1]))) a
            """
        let query = SessionLoader.sessionQuery(tenantID: tenantID, source: source)
        precondition(query.binds.allSatisfy { $0 == templateTenant || $0 == templateHash })
        return query
    }()

    // MARK: - Tokens

    /// A new API token for the session's user (admins: `create` on `tokens`). `role` is the key of
    /// a role of the tenant that replaces the user's role for requests made with the token; it may
    /// not allow more than the caller's own role. `expiresIn` defaults to 90 days.
    public func createAPIToken(
        session: Session, name: String, role: String? = nil, expiresIn: TimeInterval? = nil, on connection: PGConnection
    ) throws -> IssuedToken {
        try session.require(.create, on: .tokens)
        let name = try Self.validateTokenName(name)
        let lifetime = try validateLifetime(expiresIn)
        return try connection.transaction(settings: session.accessScope.settings) { tx in
            let roleID = try role.map { key -> UUID in
                let (roleID, definition) = try Self.role(key: key, tenantID: session.tenantID, on: tx)
                guard Self.role(definition, isWithin: session.role) else {
                    throw CoreError(.forbidden, "an API token cannot have role \(key): it allows more than your role (\(session.role.key))")
                }
                return roleID
            }
            return try Self.insertToken(
                kind: .api, tenantID: session.tenantID, userID: session.userID, name: name, roleID: roleID,
                lifetime: lifetime, createdBy: session.userID, on: tx)
        }
    }

    /// The operator's variant (CLI): an API token for the active user `email` of `tenantSlug`.
    public func createAPIToken(
        tenantSlug: String, email: String, name: String, role: String? = nil, expiresIn: TimeInterval? = nil,
        on connection: PGConnection
    ) throws -> IssuedToken {
        let name = try Self.validateTokenName(name)
        let lifetime = try validateLifetime(expiresIn)
        let tenantID = try Self.tenantID(slug: tenantSlug, on: connection)
        return try connection.transaction(settings: AccessScope.operator_(tenantID: tenantID).settings) { tx in
            let userID = try Self.activeUser(email: email, tenantID: tenantID, on: tx)
            let roleID = try role.map { try Self.role(key: $0, tenantID: tenantID, on: tx).0 }
            return try Self.insertToken(
                kind: .api, tenantID: tenantID, userID: userID, name: name, roleID: roleID,
                lifetime: lifetime, createdBy: nil, on: tx)
        }
    }

    /// Admins (`list` on `tokens`) see every token of the tenant; everyone else sees their own.
    /// Only live tokens unless `includeInactive`. Newest first. Never a hash.
    public func listTokens(session: Session, includeInactive: Bool = false, on connection: PGConnection) throws -> [TokenInfo] {
        let everyone = session.role.allows(.list, on: .tokens)
        let rows = try connection.transaction(settings: session.accessScope.settings) { tx in
            try tx.query("""
                SELECT a.token_id, a.user_id, a.kind, a.name, r.key, a.created_at, a.expires_at,
                       a.revoked_at, a.last_used_at, a.created_by
                  FROM public.auth_tokens a
                  LEFT JOIN public.roles r ON r.tenant_id = a.tenant_id AND r.role_id = a.role_id
                 WHERE a.tenant_id = \(session.tenantID)
                   AND (\(everyone) OR a.user_id = \(session.userID))
                   AND (\(includeInactive) OR (a.revoked_at IS NULL AND a.expires_at > now()))
                 ORDER BY a.created_at DESC, a.token_id
                """).decode((UUID, UUID, String, String?, String?, Date, Date, Date?, Date?, UUID?).self)
        }
        return rows.map { id, user, kind, name, roleKey, created, expires, revoked, lastUsed, createdBy in
            TokenInfo(
                tokenID: id, userID: user, kind: TokenKind(rawValue: kind) ?? .session, name: name, roleKey: roleKey,
                createdAt: created, expiresAt: expires, revokedAt: revoked, lastUsedAt: lastUsed, createdBy: createdBy)
        }
    }

    /// Revokes a token: your own always; anyone's in the tenant with `delete` on `tokens` (admins).
    /// Revoking a revoked token succeeds; a token you may not see is `notFound`.
    public func revokeToken(session: Session, tokenID: UUID, on connection: PGConnection) throws {
        let anyone = session.role.allows(.delete, on: .tokens)
        let affected = try connection.transaction(settings: session.accessScope.settings) { tx in
            try tx.execute("""
                UPDATE public.auth_tokens SET revoked_at = coalesce(revoked_at, now())
                 WHERE tenant_id = \(session.tenantID) AND token_id = \(tokenID)
                   AND (\(anyone) OR user_id = \(session.userID))
                """)
        }
        if affected == 0 { throw CoreError(.notFound, "no such token") }
    }

    // MARK: - Passwords and invites

    /// The operator sets a user's password (CLI). Revokes the user's sessions. Throws `notFound`
    /// for an unknown tenant or user, `invalidInput` for a password of the wrong length.
    /// Blocking (argon2id).
    public func setPassword(tenantSlug: String, email: String, password: String, on connection: PGConnection) throws {
        let hash = try hasher.hash(password)
        let tenantID = try Self.tenantID(slug: tenantSlug, on: connection)
        try connection.transaction(settings: AccessScope.operator_(tenantID: tenantID).settings) { tx in
            let userID = try Self.activeUser(email: email, tenantID: tenantID, on: tx)
            try Self.storePassword(hash: hash, tenantID: tenantID, userID: userID, on: tx)
            try tx.execute("""
                UPDATE public.auth_tokens SET revoked_at = now()
                 WHERE tenant_id = \(tenantID) AND user_id = \(userID) AND kind = 'session' AND revoked_at IS NULL
                """)
        }
    }

    /// A one-time invite for the active user `email` (operator, CLI; later admins over HTTP): the
    /// user sets their password with it within 7 days. Earlier open invites of the user are revoked.
    public func createInvite(tenantSlug: String, email: String, on connection: PGConnection) throws -> IssuedToken {
        let tenantID = try Self.tenantID(slug: tenantSlug, on: connection)
        let lifetime = configuration.inviteLifetime
        return try connection.transaction(settings: AccessScope.operator_(tenantID: tenantID).settings) { tx in
            let userID = try Self.activeUser(email: email, tenantID: tenantID, on: tx)
            try tx.execute("""
                UPDATE public.auth_tokens SET revoked_at = now()
                 WHERE tenant_id = \(tenantID) AND user_id = \(userID) AND kind = 'invite' AND revoked_at IS NULL
                """)
            return try Self.insertToken(
                kind: .invite, tenantID: tenantID, userID: userID, name: nil, roleID: nil,
                lifetime: lifetime, createdBy: nil, on: tx)
        }
    }

    /// Sets the invited user's password and uses the invite up. The password is checked first
    /// (`invalidInput`, invite still valid); an unknown, used or expired invite is `unauthenticated`.
    /// Blocking (argon2id).
    public func acceptInvite(token: String, password: String, on connection: PGConnection) throws {
        let hash = try hasher.hash(password)
        guard let parsed = AuthToken.parse(token) else { throw Self.unauthenticated }
        let scope = AccessScope(tenantID: parsed.tenantID, actorID: nil, visibility: .zones([]))
        try connection.transaction(settings: scope.settings) { tx in
            let consumed = try tx.query("SELECT comarca.consume_invite(\(parsed.tenantID), \(parsed.hash))").scalar(UUID?.self)
            guard let userID = consumed else { throw Self.unauthenticated }
            try tx.setLocal(PGSetting(AccessScope.actorSetting, userID.uuidString.lowercased()))
            try Self.storePassword(hash: hash, tenantID: parsed.tenantID, userID: userID, on: tx)
        }
    }

    // MARK: - Helpers

    static func normalizeEmail(_ email: String) -> String { Normalize.emailKey(email) }

    static func normalizeSlug(_ slug: String) -> String {
        slug.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
    }

    static func single<T>(_ rows: [T]) throws -> T {
        guard let first = rows.first else { throw CoreError(.conflict, "the statement returned no row") }
        return first
    }

    static func tenantID(slug: String, on connection: PGConnection) throws -> UUID {
        let id = try connection.query("SELECT comarca.tenant_id_for_slug(\(normalizeSlug(slug)))").scalar(UUID?.self)
        guard let id else { throw CoreError(.notFound, "no active tenant \(normalizeSlug(slug))") }
        return id
    }

    static func activeUser(email: String, tenantID: UUID, on tx: PGConnection) throws -> UUID {
        let email = normalizeEmail(email)
        let rows = try tx.query("""
            SELECT user_id FROM public.users
             WHERE tenant_id = \(tenantID) AND lower(email) = lower(\(email)) AND deactivated_at IS NULL
            """).decode(UUID.self)
        guard let id = rows.first else { throw CoreError(.notFound, "no active user \(email) in this tenant") }
        return id
    }

    static func role(key: String, tenantID: UUID, on tx: PGConnection) throws -> (UUID, RoleDefinition) {
        let rows = try tx.query("""
            SELECT role_id, key, name, scope, permissions::text, builtin FROM public.roles
             WHERE tenant_id = \(tenantID) AND key = \(key)
            """).decode((UUID, String, String, String, String, Bool).self)
        guard let (id, key, name, scopeText, json, builtin) = rows.first else {
            throw CoreError.invalid("role", "no role \(key) in this tenant")
        }
        if builtin, let definition = BuiltinRoles.all.first(where: { $0.key == key }) {
            return (id, definition)
        }
        guard let scope = RoleScope(rawValue: scopeText) else { throw CoreError.invalid("role", "role \(key) has an unknown scope") }
        return (id, RoleDefinition(key: key, name: name, scope: scope, permissions: try RoleDefinition.permissions(fromJSON: json)))
    }

    /// Whether `candidate` allows nothing `limit` does not, and sees no further.
    static func role(_ candidate: RoleDefinition, isWithin limit: RoleDefinition) -> Bool {
        let order: [RoleScope] = [.ownZone, .zoneSubtree, .tenant]
        guard order.firstIndex(of: candidate.scope)! <= order.firstIndex(of: limit.scope)! else { return false }
        return candidate.permissions.allSatisfy { entity, actions in actions.allSatisfy { limit.allows($0, on: entity) } }
    }

    static func validateTokenName(_ name: String) throws -> String {
        let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw CoreError.invalid("name", "must not be empty") }
        guard trimmed.count <= 100 else { throw CoreError.invalid("name", "must be at most 100 characters long") }
        return trimmed
    }

    func validateLifetime(_ expiresIn: TimeInterval?) throws -> TimeInterval {
        let lifetime = expiresIn ?? configuration.apiTokenLifetime
        guard lifetime.isFinite, lifetime >= 60 else { throw CoreError.invalid("expiresIn", "must be at least one minute") }
        guard lifetime <= configuration.maximumAPITokenLifetime else {
            throw CoreError.invalid("expiresIn", "must be at most \(Int(configuration.maximumAPITokenLifetime / 86_400)) days")
        }
        return lifetime
    }

    static func insertToken(
        kind: TokenKind, tenantID: UUID, userID: UUID, name: String?, roleID: UUID?, lifetime: TimeInterval,
        createdBy: UUID?, on tx: PGConnection
    ) throws -> IssuedToken {
        let issued = AuthToken.generate(tenantID: tenantID)
        let rows = try tx.query("""
            INSERT INTO public.auth_tokens (tenant_id, user_id, kind, name, token_hash, role_id, expires_at, created_by)
            VALUES (\(tenantID), \(userID), \(kind.rawValue), \(name), \(issued.hash), \(roleID),
                    now() + \(lifetime) * interval '1 second', \(createdBy))
            RETURNING token_id, expires_at
            """).decode((UUID, Date).self)
        let (tokenID, expiresAt) = try single(rows)
        return IssuedToken(token: issued.text, tokenID: tokenID, userID: userID, kind: kind, expiresAt: expiresAt)
    }

    /// Upsert without reading the hash column (the app role may write it, never read it).
    static func storePassword(hash: String, tenantID: UUID, userID: UUID, on tx: PGConnection) throws {
        try tx.execute("""
            INSERT INTO public.user_credentials (tenant_id, user_id, password_hash, password_changed_at)
            VALUES (\(tenantID), \(userID), \(hash), now())
            ON CONFLICT (tenant_id, user_id) DO UPDATE SET password_hash = \(hash), password_changed_at = now()
            """)
    }
}

// MARK: - From async code (HTTP)

extension AuthService {
    /// `login` on one of the pool's threads.
    public func login(tenantSlug: String, email: String, password: String, clientAddress: String?, pool: PGPool) async throws -> LoginResult {
        try await pool.withConnection { try self.login(tenantSlug: tenantSlug, email: email, password: password, clientAddress: clientAddress, on: $0) }
    }

    /// `authenticate` on one of the pool's threads.
    public func authenticate(token: String, pool: PGPool) async throws -> Session {
        try await pool.withConnection { try self.authenticate(token: token, on: $0) }
    }

    /// `logout` on one of the pool's threads.
    @discardableResult
    public func logout(token: String, pool: PGPool) async throws -> Bool {
        try await pool.withConnection { try self.logout(token: token, on: $0) }
    }

    /// `acceptInvite` on one of the pool's threads.
    public func acceptInvite(token: String, password: String, pool: PGPool) async throws {
        try await pool.withConnection { try self.acceptInvite(token: token, password: password, on: $0) }
    }
}
