import Foundation
import ZIPFoundation

/// Writes a zip of parts, each deflated from a sequence of byte segments streamed in chunks (so a
/// part assembled from a header, a large temporary file and a footer never sits in memory).
enum XLSXZip {
    enum Segment {
        case bytes([UInt8])
        case file(URL)
        /// `count` copies of one byte (test fixtures: a large part built without holding it).
        case repeated(UInt8, count: Int64)
    }

    struct Part {
        var path: String
        var segments: [Segment]
        var compressed = true

        init(path: String, segments: [Segment], compressed: Bool = true) {
            self.path = path
            self.segments = segments
            self.compressed = compressed
        }

        init(path: String, text: String) {
            self.init(path: path, segments: [.bytes(Array(text.utf8))])
        }
    }

    static let chunkSize = 1 << 20

    /// Creates the archive at `url` (which must not exist yet).
    static func write(_ parts: [Part], to url: URL) throws {
        let archive = try Archive(url: url, accessMode: .create)
        for part in parts {
            let reader = try SegmentReader(part.segments)
            defer { reader.close() }
            try archive.addEntry(
                with: part.path, type: .file, uncompressedSize: reader.totalSize,
                modificationDate: Date(timeIntervalSince1970: 1_704_067_200),
                compressionMethod: part.compressed ? .deflate : .none, bufferSize: chunkSize,
                provider: { _, size in try reader.read(size) })
        }
    }

    /// Reads the segments front to back; ZIPFoundation asks for consecutive chunks.
    private final class SegmentReader {
        private let segments: [Segment]
        let totalSize: Int64
        private var index = 0
        private var offset: Int64 = 0
        private var handle: FileHandle?

        init(_ segments: [Segment]) throws {
            self.segments = segments
            var total: Int64 = 0
            for segment in segments {
                switch segment {
                case .bytes(let bytes):
                    total += Int64(bytes.count)
                case .file(let url):
                    let attributes = try FileManager.default.attributesOfItem(atPath: url.path)
                    total += (attributes[.size] as? NSNumber)?.int64Value ?? 0
                case .repeated(_, let count):
                    total += count
                }
            }
            totalSize = total
        }

        func read(_ size: Int) throws -> Data {
            var data = Data()
            data.reserveCapacity(size)
            while data.count < size, index < segments.count {
                let wanted = size - data.count
                switch segments[index] {
                case .bytes(let bytes):
                    let n = min(wanted, bytes.count - Int(offset))
                    let start = Int(offset)
                    bytes.withUnsafeBufferPointer { buffer in
                        data.append(UnsafeBufferPointer(rebasing: buffer[start..<(start + n)]))
                    }
                    offset += Int64(n)
                    if offset == Int64(bytes.count) { advance() }
                case .file(let url):
                    if handle == nil { handle = try FileHandle(forReadingFrom: url) }
                    let chunk = try handle?.read(upToCount: wanted) ?? Data()
                    if chunk.isEmpty {
                        advance()
                    } else {
                        data.append(chunk)
                    }
                case .repeated(let byte, let count):
                    let n = Int(min(Int64(wanted), count - offset))
                    data.append(Data(repeating: byte, count: n))
                    offset += Int64(n)
                    if offset == count { advance() }
                }
            }
            return data
        }

        private func advance() {
            try? handle?.close()
            handle = nil
            index += 1
            offset = 0
        }

        func close() {
            try? handle?.close()
            handle = nil
        }
    }
}
