import Foundation
import HTTPTypes
import Hummingbird
import Logging

extension HTTPField.Name {
    static let requestID = HTTPField.Name("X-Request-Id")!
}

/// Gives each request an id (a sane incoming `X-Request-Id` is kept), returns it as a header,
/// writes one log line per request, and records the request's metrics. Outermost middleware,
/// so it sees the final status of every response, errors included.
struct RequestObservabilityMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let metrics: HTTPMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        context.requestID = Self.requestID(from: request.headers[.requestID])
        context.logger[metadataKey: "request_id"] = .string(context.requestID)
        // One id per request in the logs: ours (which honours a caller's X-Request-Id).
        context.logger[metadataKey: "hb.request.id"] = nil
        let start = ContinuousClock.now
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            // Turn the error into its response here, so its status is logged and counted.
            let problem = ErrorMapping.problem(for: error)
            response = try problem.response(from: request, context: context)
        }
        response.headers[.requestID] = context.requestID
        let duration = ContinuousClock.now - start
        let route = context.endpointPath ?? "unmatched"
        metrics.record(method: request.method.rawValue, route: route, status: response.status.code, duration: duration)
        let (seconds, attoseconds) = duration.components
        let milliseconds = Double(seconds) * 1000 + Double(attoseconds) / 1e15
        context.logger.info("request", metadata: [
            "method": .string(request.method.rawValue),
            "route": .string(route),
            "path": .string(request.uri.path),
            "status": .stringConvertible(response.status.code),
            "duration_ms": .string(String(format: "%.3f", milliseconds)),
        ])
        return response
    }

    /// Keeps a caller's id when it is short and plain (so it can be logged safely), else makes one.
    static func requestID(from header: String?) -> String {
        if let header, (1...128).contains(header.utf8.count),
            header.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || $0 == 45 || $0 == 95 || $0 == 46 })
        {
            return header
        }
        var generator = SystemRandomNumberGenerator()
        return String(format: "%016llx%016llx", generator.next() as UInt64, generator.next() as UInt64)
    }
}
