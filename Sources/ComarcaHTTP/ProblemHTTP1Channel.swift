import Foundation
import HTTPTypes
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1

/// HTTP/1.1 as Hummingbird serves it, except that a request NIO's parser refuses (a method it
/// does not know, a control character in a header) is answered with a problem+json like every
/// other error — 501 `method-not-implemented` or 400 `malformed-request` — instead of
/// Hummingbird's empty 400.
struct ProblemHTTP1Channel: ServerChildChannel {
    let inner: HTTP1Channel

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<HTTP1Channel.Value> {
        inner.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let decoder = try channel.pipeline.syncOperations.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
            try channel.pipeline.syncOperations.addHandler(ParserErrorProblemHandler(), position: .after(decoder))
            return value
        }
    }

    func handle(value: HTTP1Channel.Value, logger: Logger) async {
        await inner.handle(value: value, logger: logger)
    }
}

/// Sits right after NIO's request decoder. On a parse error with no response pending it writes
/// the problem itself and closes; with a response still pending (a pipelined request) it leaves
/// the error to Hummingbird, which answers in order.
final class ParserErrorProblemHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private var pending = 0
    private var answered = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head = unwrapInboundIn(data) { pending += 1 }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { pending = Swift.max(0, pending - 1) }
        context.write(data, promise: promise)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parserError = error as? HTTPParserError, pending == 0, !answered else {
            context.fireErrorCaught(error)
            return
        }
        answered = true
        let problem: Problem
        if case .invalidMethod = parserError {
            problem = Problem(code: "method-not-implemented", title: "Method not implemented", status: .notImplemented,
                              detail: "This server does not know the request's method.")
        } else {
            problem = Problem(code: "malformed-request", title: "The request is not valid HTTP", status: .badRequest,
                              detail: "The request line or a header cannot be read (e.g. a control character in a header value).")
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let body = (try? encoder.encode(problem)) ?? Data()
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/problem+json")
        headers.add(name: "Content-Length", value: String(body.count))
        headers.add(name: "Connection", value: "close")
        let status = HTTPResponseStatus(statusCode: problem.statusCode)
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in context.close(promise: nil) }
    }
}
