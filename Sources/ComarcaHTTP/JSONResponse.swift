import Foundation
import HTTPTypes
import PGClient
public import Hummingbird
import NIOCore

/// A JSON response body (camelCase keys as the Swift properties name them, RFC 3339 dates).
public struct JSONResponse<Body: Encodable & Sendable>: ResponseGenerator, Sendable {
    public let status: HTTPResponse.Status
    public let body: Body

    public init(_ body: Body, status: HTTPResponse.Status = .ok) {
        self.status = status
        self.body = body
    }

    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        // Computed, not formatted: a DateFormatter per value cost more than the whole query.
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(CivilTime.rfc3339(date))
        }
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let data = try Self.encoder.encode(body)
        return Response(
            status: status,
            headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// An empty 204 response.
public struct NoContent: ResponseGenerator, Sendable {
    public init() {}
    public func response(from request: Request, context: some RequestContext) throws -> Response {
        Response(status: .noContent)
    }
}

extension Request {
    /// `limit` and `cursor` query parameters; a non-numeric limit is an error, not a default.
    func pageRequest() throws -> PageRequestParameters {
        let limitText = uri.queryParameters.get("limit")
        var limit: Int?
        if let limitText {
            guard let value = Int(limitText) else {
                throw Problem(code: "invalid-input", title: "Invalid input", status: .unprocessableContent,
                              errors: [.init(field: "limit", message: "must be an integer")])
            }
            limit = value
        }
        return PageRequestParameters(limit: limit, cursor: uri.queryParameters.get("cursor"))
    }
}

extension Request {
    /// A `true`/`false` query parameter; nil when absent, a 400 problem for anything else.
    func booleanQuery(_ name: String) throws -> Bool? {
        guard let text = uri.queryParameters.get(name) else { return nil }
        switch text {
        case "true": return true
        case "false": return false
        default: throw QueryProblem.invalid(name, "must be true or false")
        }
    }
}

/// A query string the API cannot read (a parameter given twice, a boolean that is not one):
/// 400 `invalid-query`, naming the parameter but never echoing its value.
enum QueryProblem {
    static func invalid(_ name: String, _ message: String) -> Problem {
        Problem(code: "invalid-query", title: "Invalid query parameter", status: .badRequest,
                detail: "\(name) \(message)", errors: [.init(field: name, message: message)])
    }

    /// Every parameter name appears at most once: with two values, which one counts would be a guess.
    static func rejectRepeated(_ request: Request) throws {
        var seen = Set<Substring>()
        for (name, _) in request.uri.queryParameters where !seen.insert(name).inserted {
            throw invalid(String(name), "is given more than once; give it once")
        }
    }
}

struct PageRequestParameters: Sendable {
    let limit: Int?
    let cursor: String?
}

extension RequestContext {
    /// A UUID path parameter. A malformed id names nothing, so it is a 404 like an unknown one.
    func uuidParameter(_ name: String) throws -> UUID {
        guard let text = parameters.get(name), let id = UUID(uuidString: text) else {
            throw Problem(code: "not-found", title: "Not found", status: .notFound)
        }
        return id
    }
}
