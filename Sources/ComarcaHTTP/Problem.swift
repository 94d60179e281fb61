public import Foundation
public import HTTPTypes
public import Hummingbird
import NIOCore

/// An RFC 9457 problem: every error response of the API has this shape, with a stable `type`.
public struct Problem: HTTPResponseError, Sendable, Encodable {
    public struct FieldError: Sendable, Encodable, Equatable {
        public let field: String
        public let message: String
    }

    public let type: String
    public let title: String
    public let statusCode: Int
    public let detail: String?
    public let errors: [FieldError]?
    /// Seconds after which a retry makes sense (503s); sent as `Retry-After`.
    public let retryAfter: Int?

    public init(code: String, title: String, status: HTTPResponse.Status, detail: String? = nil, errors: [FieldError]? = nil, retryAfter: Int? = nil) {
        self.type = Problem.typeURI(code)
        self.title = title
        self.statusCode = status.code
        self.detail = detail
        self.errors = errors
        self.retryAfter = retryAfter
    }

    /// Stable identifiers clients can switch on.
    public static func typeURI(_ code: String) -> String { "urn:comarca:problem:\(code)" }

    public var status: HTTPResponse.Status { HTTPResponse.Status(code: statusCode) }

    enum CodingKeys: String, CodingKey {
        case type, title, status, detail, errors
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(type, forKey: .type)
        try container.encode(title, forKey: .title)
        try container.encode(statusCode, forKey: .status)
        try container.encodeIfPresent(detail, forKey: .detail)
        try container.encodeIfPresent(errors, forKey: .errors)
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let body = try encoder.encode(self)
        var headers: HTTPFields = [.contentType: "application/problem+json"]
        if let retryAfter { headers[.retryAfter] = String(retryAfter) }
        if statusCode == 401 { headers[.wwwAuthenticate] = "Bearer" }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}
