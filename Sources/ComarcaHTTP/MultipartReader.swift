import ComarcaCore
import Foundation
import Hummingbird
import NIOCore

/// Reads a `multipart/form-data` request body part by part as it arrives: `nextPart()` moves to
/// the next part's headers, `nextChunk()` hands out that part's body piece by piece. Counts every
/// byte and stops with 413 once the body passes `limit`.
final class MultipartReader<Body: AsyncSequence> where Body.Element == ByteBuffer {
    private var iterator: Body.AsyncIterator
    private var parser: MultipartParser
    private var pending: [MultipartParser.Event] = []
    private var next = 0
    private var ended = false
    private var inBody = false
    private let limit: Int
    private(set) var bytesRead = 0
    /// What stopped the reading, kept because a consumer (the file writer) may wrap it.
    private(set) var failure: (any Error)?

    init(body: Body, boundary: String, limit: Int) {
        self.iterator = body.makeAsyncIterator()
        self.parser = MultipartParser(boundary: boundary)
        self.limit = limit
    }

    private func nextEvent() async throws -> MultipartParser.Event? {
        do {
            return try await readEvent()
        } catch {
            failure = error
            throw error
        }
    }

    private func readEvent() async throws -> MultipartParser.Event? {
        while next == pending.count {
            if ended { return nil }
            pending = []
            next = 0
            guard let chunk = try await iterator.next() else {
                try parser.finish()
                ended = true
                return nil
            }
            bytesRead += chunk.readableBytes
            guard bytesRead <= limit else { throw HTTPError(.contentTooLarge) }
            pending = try parser.feed(chunk.readableBytesView)
        }
        defer { next += 1 }
        return pending[next]
    }

    /// The headers of the next part (skipping what is left of the current one); nil after the last.
    func nextPart() async throws -> MultipartPartHeaders? {
        while let event = try await nextEvent() {
            if case .part(let headers) = event {
                inBody = true
                return headers
            }
        }
        return nil
    }

    /// The next piece of the current part's body; nil at its end.
    func nextChunk() async throws -> ByteBuffer? {
        guard inBody else { return nil }
        while let event = try await nextEvent() {
            switch event {
            case .body(let bytes): return ByteBuffer(bytes: bytes)
            case .partEnd:
                inBody = false
                return nil
            case .part:
                // Cannot happen: a part ends before the next begins.
                throw MultipartParser.malformed("a part began inside another")
            }
        }
        inBody = false
        return nil
    }

    /// The current part's body as text, refusing more than `maxBytes`.
    func collectText(maxBytes: Int, field: String) async throws -> String {
        var bytes: [UInt8] = []
        while let chunk = try await nextChunk() {
            bytes += chunk.readableBytesView
            guard bytes.count <= maxBytes else {
                throw CoreError.invalid(field, "longer than \(maxBytes) bytes")
            }
        }
        guard let text = String(bytes: bytes, encoding: .utf8) else {
            throw CoreError.invalid(field, "is not UTF-8 text")
        }
        return text
    }

    /// The current part's body as an async sequence (for writing it to a file as it arrives).
    var currentBody: PartBody { PartBody(reader: self) }

    struct PartBody: AsyncSequence {
        typealias Element = ByteBuffer
        let reader: MultipartReader

        struct AsyncIterator: AsyncIteratorProtocol {
            let reader: MultipartReader
            mutating func next() async throws -> ByteBuffer? { try await reader.nextChunk() }
        }

        func makeAsyncIterator() -> AsyncIterator { AsyncIterator(reader: reader) }
    }
}
