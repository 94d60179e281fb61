import ComarcaCore
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

extension Request {
    /// A UUID query parameter; nil when absent, `invalidInput` on the parameter otherwise.
    func uuidQuery(_ name: String) throws -> UUID? {
        guard let text = uri.queryParameters.get(name) else { return nil }
        guard let id = UUID(uuidString: text) else { throw CoreError.invalid(name, "must be a UUID") }
        return id
    }

    /// An RFC 3339 query parameter, checked by Core's one rule for timestamps.
    func timestampQuery(_ name: String) throws -> Date? {
        try uri.queryParameters.get(name).map { try Timestamps.parse(String($0), field: name) }
    }

    /// A query parameter that takes one of an enum's values, which the error lists.
    func choiceQuery<Choice: RawRepresentable & CaseIterable>(_ name: String, _ type: Choice.Type) throws -> Choice? where Choice.RawValue == String {
        guard let text = uri.queryParameters.get(name) else { return nil }
        guard let choice = Choice(rawValue: String(text)) else {
            throw CoreError.invalid(name, "must be one of: " + Choice.allCases.map(\.rawValue).joined(separator: ", "))
        }
        return choice
    }
}

/// A query string the API cannot read (a parameter given twice, a boolean that is not one):
/// 400 `invalid-query`, naming the parameter but never echoing its value.
enum QueryProblem {
    static func invalid(_ name: String, _ message: String) -> Problem {
        Problem(code: "invalid-query", title: "Invalid query parameter", status: .badRequest,
                detail: "\(name) \(message)", errors: [.init(field: name, message: message)])
    }

    /// Every parameter name appears at most once: with two values, which one counts would be a
    /// guess. No value holds NUL: PostgreSQL cannot store it, and libpq would cut the text there.
    static func rejectRepeated(_ request: Request) throws {
        var seen = Set<Substring>()
        for (name, value) in request.uri.queryParameters {
            guard seen.insert(name).inserted else { throw invalid(String(name), "is given more than once; give it once") }
            // A cursor is checked by its own reader, which answers invalid-cursor.
            if name != "cursor", value.utf8.contains(0) || name.utf8.contains(0) {
                throw invalid(String(name.filter { $0 != "\0" }), "must not contain the NUL character (%00)")
            }
        }
    }

    /// The request as forms write query strings: `+` is a space (HTML forms, `URLSearchParams`,
    /// `curl --data-urlencode`). Hummingbird decodes only `%XX`, so each `+` of the query becomes
    /// `%20` before anything reads it; a literal plus arrives as `%2B` and stays one.
    static func formDecoded(_ request: Request) -> Request {
        guard let path = request.head.path, let mark = path.firstIndex(of: "?"), path[mark...].contains("+") else {
            return request
        }
        var head = request.head
        head.path = String(path[..<mark]) + path[mark...].replacingOccurrences(of: "+", with: "%20")
        return Request(head: head, body: request.body)
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

/// How every JSON request body is read: bounded in size (`maxBytes`, 413 beyond) and in nesting
/// (`maxDepth`, checked by a byte scan before decoding), then decoded with errors in plain words
/// that name the field and what it takes, never the submitted value. Malformed JSON is 400
/// `invalid-body`; well-formed JSON with a wrong field is 422 `invalid-input`.
public struct JSONBodyDecoder: RequestDecoder {
    /// The largest JSON body any endpoint takes (imports upload files through their own reader).
    public static let maxBytes = 1 << 20
    /// Deeper than any body of this API; a `[[[[…` bomb stops here before the decoder sees it.
    public static let maxDepth = 32

    public init() {}

    public func decode<T: Decodable>(_ type: T.Type, from request: Request, context: some RequestContext) async throws -> T {
        let buffer = try await request.body.collect(upTo: Swift.min(context.maxUploadSize, Self.maxBytes))
        return try Self.decode(type, from: Data(buffer.readableBytesView))
    }

    static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        guard !data.isEmpty else { throw malformed("The request body is empty; this endpoint takes a JSON object") }
        guard Self.depth(of: data) <= maxDepth else {
            throw malformed("The request body nests deeper than \(maxDepth) levels")
        }
        if Self.mayHoldNUL(data), let field = Self.fieldHoldingNUL(in: data) {
            throw CoreError(.invalidInput, "\(field) must not contain the NUL character (\\u0000)",
                            fieldErrors: [.init(field: field, message: "must not contain the NUL character (\\u0000)")])
        }
        let decoder = JSONDecoder()
        // RFC 3339 with or without fractional seconds; a custom strategy so an error keeps its field.
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            guard let date = Timestamps.date(from: text) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "Expected a date")
            }
            return date
        }
        do {
            return try decoder.decode(T.self, from: data)
        } catch let error as DecodingError {
            throw Self.problem(for: error)
        }
    }

    /// Whether a string of the body may hold `\u0000` (an escape, not an escaped backslash before
    /// `u0000`); raw NUL bytes are not JSON and the decoder refuses them already. A byte scan, so
    /// bodies without one cost nothing more.
    static func mayHoldNUL(_ data: Data) -> Bool {
        let bytes = [UInt8](data)
        var index = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "\\") {
                if index + 5 < bytes.count, bytes[index + 1] == UInt8(ascii: "u"),
                   bytes[(index + 2)...(index + 5)].allSatisfy({ $0 == UInt8(ascii: "0") }) { return true }
                index += 2
            } else {
                index += 1
            }
        }
        return false
    }

    /// The field whose text (or key) holds NUL, as error paths name fields (`custom.x`, `tags[2]`).
    /// PostgreSQL cannot store NUL and libpq would cut the text there, so it is refused, not stored.
    static func fieldHoldingNUL(in data: Data) -> String? {
        guard let root = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) else { return nil }
        func search(_ value: Any, _ path: String) -> String? {
            switch value {
            case let text as String:
                return text.unicodeScalars.contains("\0") ? (path.isEmpty ? "body" : path) : nil
            case let object as [String: Any]:
                for key in object.keys.sorted() {
                    let name = path.isEmpty ? key : "\(path).\(key)"
                    if key.unicodeScalars.contains("\0") { return path.isEmpty ? "body" : path }
                    if let found = search(object[key]!, name) { return found }
                }
                return nil
            case let array as [Any]:
                for (offset, element) in array.enumerated() {
                    if let found = search(element, "\(path)[\(offset)]") { return found }
                }
                return nil
            default:
                return nil
            }
        }
        return search(root, "")
    }

    static func malformed(_ detail: String) -> Problem {
        Problem(code: "invalid-body", title: "The request body is not valid JSON", status: .badRequest, detail: detail)
    }

    /// The deepest nesting of arrays and objects, counted outside strings (stops counting past the limit).
    static func depth(of data: Data) -> Int {
        var depth = 0, deepest = 0, inString = false, escaped = false
        for byte in data {
            if inString {
                if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
                deepest = Swift.max(deepest, depth)
                if deepest > maxDepth { return deepest }
            case UInt8(ascii: "]"), UInt8(ascii: "}"): depth -= 1
            default: break
            }
        }
        return deepest
    }

    /// Allowed values of the enums bodies decode, by type name, so an error can list them.
    static let choices: [String: [String]] = [
        "RoleScope": RoleScope.allCases.map(\.rawValue),
        "ActivityKind": ActivityKind.allCases.map(\.rawValue),
        "Stage": Stage.allCases.map(\.rawValue),
    ]

    static func problem(for error: DecodingError) -> any Error {
        func field(_ path: [any CodingKey]) -> String {
            path.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".").replacingOccurrences(of: ".[", with: "[")
        }
        func invalid(_ path: [any CodingKey], _ message: String) -> CoreError {
            let name = field(path)
            guard !name.isEmpty else { return CoreError(.invalidInput, "the body \(message)", fieldErrors: [.init(field: "body", message: message)]) }
            return CoreError(.invalidInput, "\(name) \(message)", fieldErrors: [.init(field: name, message: message)])
        }
        switch error {
        case .keyNotFound(let key, let context):
            return invalid(context.codingPath + [key], "is required")
        case .valueNotFound(_, let context):
            return invalid(context.codingPath, "must not be null")
        case .typeMismatch(let type, let context):
            return invalid(context.codingPath, "must be \(kind(of: type))")
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty { return malformed("The request body is not valid JSON") }
            if context.debugDescription == "Expected a date" { return invalid(context.codingPath, "must be an RFC 3339 date-time, e.g. 2025-03-01T09:30:00Z") }
            let text = context.debugDescription
            if let name = choices.keys.first(where: { text.contains("Cannot initialize \($0) ") }), let allowed = choices[name] {
                return invalid(context.codingPath, "must be one of: \(allowed.joined(separator: ", "))")
            }
            if text.contains("UUID") { return invalid(context.codingPath, "must be an id (UUID)") }
            if text.localizedCaseInsensitiveContains("date") { return invalid(context.codingPath, "must be an RFC 3339 date-time, e.g. 2025-03-01T09:30:00Z") }
            if text.contains("number") || text.contains("Number") { return invalid(context.codingPath, "must be a number") }
            return invalid(context.codingPath, "has a value this endpoint does not take")
        @unknown default:
            return malformed("The request body is not valid JSON")
        }
    }

    /// A Swift type in the words the API documentation uses.
    static func kind(of type: Any.Type) -> String {
        switch type {
        case is String.Type, is Substring.Type: return "text"
        case is Bool.Type: return "true or false"
        case is Int.Type, is Int64.Type, is Int32.Type: return "an integer"
        case is Double.Type, is Float.Type, is Decimal.Type: return "a number"
        case is UUID.Type: return "an id (UUID)"
        case is Date.Type: return "an RFC 3339 date-time"
        default:
            let name = String(describing: type)
            if name.hasPrefix("Array<") || name.hasPrefix("[") && !name.contains(":") { return "a list" }
            if name.hasPrefix("Dictionary<") || name.contains(":") { return "an object" }
            return "of another type"
        }
    }
}
