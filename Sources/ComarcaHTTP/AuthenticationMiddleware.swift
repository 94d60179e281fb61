public import ComarcaCore
import Foundation
import HTTPTypes
import Logging
public import Hummingbird

/// Turns a bearer token into a session. Implemented over ComarcaCore's AuthService; a protocol
/// so the middleware does not care how.
public protocol SessionAuthenticator: Sendable {
    func session(forBearer token: String) async throws -> Session
}

/// Resolves `Authorization: Bearer …` into `context.session` for every request below it. A bad
/// token is a 401 at once; no header leaves the session empty, and `AuthenticatedContext`
/// turns that into a 401 for routes that need one.
struct AuthenticationMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let authenticator: any SessionAuthenticator

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        if let header = request.headers[.authorization] {
            let parts = header.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "bearer", !parts[1].isEmpty else {
                throw CoreError(.unauthenticated, "use Authorization: Bearer <token>")
            }
            let session = try await authenticator.session(forBearer: String(parts[1]))
            context.session = session
            context.logger[metadataKey: "tenant"] = .string(session.tenantSlug)
            context.logger[metadataKey: "user"] = .string(session.userID.uuidString.lowercased())
        }
        return try await next(request, context)
    }
}
