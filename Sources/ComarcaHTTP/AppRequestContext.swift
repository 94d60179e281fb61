public import ComarcaCore
public import Hummingbird
public import NIOCore

/// The context of every request: its id, the caller's address, and — once the authentication
/// middleware has run — who is asking.
public struct AppRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?
    /// Echoed in the `X-Request-Id` header and in the request's log line.
    public var requestID: String = ""
    /// Set by `AuthenticationMiddleware` from a valid bearer token.
    public var session: Session?

    /// Bodies are read by `JSONBodyDecoder`: bounded, errors in plain words.
    public var requestDecoder: JSONBodyDecoder { JSONBodyDecoder() }

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
    }

    /// Request bodies are small JSON documents; file uploads (imports) get their own limit.
    public var maxUploadSize: Int { 1 << 20 }

    /// The address rate limits count against.
    public var clientAddress: String {
        switch remoteAddress {
        case .v4(let address)?: return address.host
        case .v6(let address)?: return address.host
        case .unixDomainSocket?: return "unix"
        case nil: return "unknown"
        }
    }
}

/// A context that exists only with a session, so a handler below it cannot run anonymously.
public struct AuthenticatedContext: ChildRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let session: Session
    public let requestID: String
    public let clientAddress: String

    public var requestDecoder: JSONBodyDecoder { JSONBodyDecoder() }

    public init(context: AppRequestContext) throws {
        guard let session = context.session else {
            throw Problem(code: "unauthenticated", title: "Sign in required", status: .unauthorized)
        }
        self.coreContext = context.coreContext
        self.session = session
        self.requestID = context.requestID
        self.clientAddress = context.clientAddress
    }

    public var maxUploadSize: Int { 1 << 20 }
}
