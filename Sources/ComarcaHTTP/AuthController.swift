import ComarcaCore
import Foundation
import HTTPTypes
import Hummingbird
import PGClient

/// Sign-in, sign-out, invites and API tokens.
struct AuthController: Sendable {
    let database: Database
    let auth: AuthService

    struct Login: Decodable {
        let tenant: String
        let email: String
        let password: String
        enum CodingKeys: String, CodingKey, CaseIterable { case tenant, email, password }
        init(from decoder: any Decoder) throws {
            try StrictKeys.check(decoder, allowed: CodingKeys.allCases.map(\.rawValue))
            let c = try decoder.container(keyedBy: CodingKeys.self)
            tenant = try c.decode(String.self, forKey: .tenant)
            email = try c.decode(String.self, forKey: .email)
            password = try c.decode(String.self, forKey: .password)
        }
    }

    struct LoginResult: Encodable, Sendable {
        let token: String
        let expiresAt: Date
        let user: DirectoryService.UserView
    }

    struct AcceptInvite: Decodable {
        let token: String
        let password: String
        enum CodingKeys: String, CodingKey, CaseIterable { case token, password }
        init(from decoder: any Decoder) throws {
            try StrictKeys.check(decoder, allowed: CodingKeys.allCases.map(\.rawValue))
            let c = try decoder.container(keyedBy: CodingKeys.self)
            token = try c.decode(String.self, forKey: .token)
            password = try c.decode(String.self, forKey: .password)
        }
    }

    struct CreateToken: Decodable {
        let name: String
        let role: String?
        let expiresInDays: Int?
        enum CodingKeys: String, CodingKey, CaseIterable { case name, role, expiresInDays }
        init(from decoder: any Decoder) throws {
            try StrictKeys.check(decoder, allowed: CodingKeys.allCases.map(\.rawValue))
            let c = try decoder.container(keyedBy: CodingKeys.self)
            name = try c.decode(String.self, forKey: .name)
            role = try c.decodeIfPresent(String.self, forKey: .role)
            expiresInDays = try c.decodeIfPresent(Int.self, forKey: .expiresInDays)
        }
    }

    struct TokenView: Encodable, Sendable {
        let id: UUID
        let kind: String
        let name: String?
        let userId: UUID
        let role: String?
        let createdAt: Date
        let expiresAt: Date
        let lastUsedAt: Date?
        let revokedAt: Date?

        init(_ info: AuthService.TokenInfo) {
            id = info.tokenID
            kind = info.kind.rawValue
            name = info.name
            userId = info.userID
            role = info.roleKey
            createdAt = info.createdAt
            expiresAt = info.expiresAt
            lastUsedAt = info.lastUsedAt
            revokedAt = info.revokedAt
        }
    }

    struct CreatedToken: Encodable, Sendable {
        let id: UUID
        let token: String
        let expiresAt: Date
    }

    /// Routes that need no session.
    func addPublicRoutes(to group: RouterGroup<AppRequestContext>) {
        let auth = self.auth
        let database = self.database
        group.post("/auth/login") { request, context in
            let body = try await request.decode(as: Login.self, context: context)
            let result = try await auth.login(
                tenantSlug: body.tenant, email: body.email, password: body.password,
                clientAddress: context.clientAddress, pool: database.pool)
            return JSONResponse(LoginResult(token: result.token, expiresAt: result.expiresAt, user: result.user))
        }
        group.post("/auth/accept-invite") { request, context in
            let body = try await request.decode(as: AcceptInvite.self, context: context)
            try await auth.acceptInvite(token: body.token, password: body.password, pool: database.pool)
            return NoContent()
        }
    }

    func addRoutes(to group: RouterGroup<AuthenticatedContext>) {
        let auth = self.auth
        let database = self.database
        group.post("/auth/logout") { request, _ in
            let header = request.headers[.authorization] ?? ""
            let token = String(header.split(separator: " ", maxSplits: 1).last ?? "")
            try await auth.logout(token: token, pool: database.pool)
            return NoContent()
        }
        group.get("/tokens") { request, context in
            let session = context.session
            let inactive = request.uri.queryParameters.get("includeInactive") == "true"
            let tokens = try await database.pool.withConnection { try auth.listTokens(session: session, includeInactive: inactive, on: $0) }
            return JSONResponse(Items(items: tokens.map(TokenView.init)))
        }
        group.post("/tokens") { request, context in
            let session = context.session
            let body = try await request.decode(as: CreateToken.self, context: context)
            if let days = body.expiresInDays, !(1...730).contains(days) {
                throw CoreError.invalid("expiresInDays", "between 1 and 730")
            }
            let issued = try await database.pool.withConnection {
                try auth.createAPIToken(session: session, name: body.name, role: body.role,
                                        expiresIn: body.expiresInDays.map { TimeInterval($0) * 86_400 }, on: $0)
            }
            return JSONResponse(CreatedToken(id: issued.tokenID, token: issued.token, expiresAt: issued.expiresAt), status: .created)
        }
        group.delete("/tokens/:id") { _, context in
            let session = context.session
            let id = try context.uuidParameter("id")
            try await database.pool.withConnection { try auth.revokeToken(session: session, tokenID: id, on: $0) }
            return NoContent()
        }
    }
}

/// Bearer tokens resolved by ComarcaCore's AuthService, on a pool thread.
struct CoreSessionAuthenticator: SessionAuthenticator {
    let auth: AuthService
    let pool: PGPool

    func session(forBearer token: String) async throws -> Session {
        try await auth.authenticate(token: token, pool: pool)
    }
}
