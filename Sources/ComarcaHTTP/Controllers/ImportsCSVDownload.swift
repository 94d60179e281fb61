import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// A CSV attachment streamed to the client as it is produced. `produce` runs on a database
/// thread and hands out bytes through `write`, which blocks while the client is a few chunks
/// behind (memory stays flat) and throws once the client has gone (so the transaction ends).
struct CSVDownload: ResponseGenerator, Sendable {
    let fileName: String
    let produce: @Sendable (_ write: @escaping @Sendable ([UInt8]) throws -> Void) async throws -> Void

    func response(from request: Request, context: some RequestContext) throws -> Response {
        let produce = self.produce
        let logger = context.logger
        let headers: HTTPFields = [
            .contentType: "text/csv; charset=utf-8",
            .contentDisposition: "attachment; filename=\"\(fileName)\"",
            .cacheControl: "no-store",
        ]
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            let pipe = ChunkPipe()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    do {
                        try await produce { try pipe.send($0) }
                        pipe.finish(throwing: nil)
                    } catch {
                        if !(error is CancellationError) {
                            logger.error("a download stopped half-way", metadata: ["error": "\(error)"])
                        }
                        pipe.finish(throwing: error)
                    }
                }
                do {
                    for try await chunk in pipe.stream {
                        try await writer.write(ByteBuffer(bytes: chunk))
                        pipe.consumed()
                    }
                } catch {
                    pipe.cancel()
                    try await group.waitForAll()
                    throw error
                }
                try await group.waitForAll()
            }
            try await writer.finish(nil)
        })
    }
}

/// Hands chunks from a blocking producer thread to an async consumer, at most `window` ahead.
final class ChunkPipe: @unchecked Sendable {
    let stream: AsyncThrowingStream<[UInt8], any Error>
    private let continuation: AsyncThrowingStream<[UInt8], any Error>.Continuation
    private let condition = NSCondition()
    private let window = 4
    // Guarded by `condition`.
    private var inFlight = 0
    private var cancelled = false

    init() {
        (stream, continuation) = AsyncThrowingStream.makeStream(of: [UInt8].self)
    }

    /// Producer side: waits while `window` chunks are unread; throws when the consumer left.
    func send(_ chunk: [UInt8]) throws {
        guard !chunk.isEmpty else { return }
        condition.lock()
        while inFlight >= window && !cancelled { condition.wait() }
        if cancelled {
            condition.unlock()
            throw CancellationError()
        }
        inFlight += 1
        condition.unlock()
        continuation.yield(chunk)
    }

    func finish(throwing error: (any Error)?) {
        continuation.finish(throwing: error)
    }

    /// Consumer side: one chunk written.
    func consumed() {
        condition.lock()
        inFlight -= 1
        condition.signal()
        condition.unlock()
    }

    /// Consumer side: no more chunks will be read.
    func cancel() {
        condition.lock()
        cancelled = true
        condition.broadcast()
        condition.unlock()
        continuation.finish()
    }
}
