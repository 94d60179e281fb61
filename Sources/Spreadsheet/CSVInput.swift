#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// A file read front to back with `read(2)` into caller-owned memory (no `Data` per chunk).
final class CSVFileInput {
    private let descriptor: Int32
    private let name: String

    init(url: URL) throws {
        name = url.lastPathComponent
        let fd = url.withUnsafeFileSystemRepresentation { path -> Int32 in
            guard let path else { return -1 }
            return open(path, O_RDONLY)
        }
        guard fd >= 0 else {
            throw SpreadsheetError(.unreadable, "\(url.lastPathComponent): the file cannot be read")
        }
        descriptor = fd
    }

    deinit { close(descriptor) }

    /// Up to `count` bytes into `destination`; 0 only at the end of the file.
    func read(into destination: UnsafeMutableRawPointer, count: Int) throws -> Int {
        while true {
            #if canImport(Darwin)
            let got = Darwin.read(descriptor, destination, count)
            #elseif canImport(Musl)
            let got = Musl.read(descriptor, destination, count)
            #else
            let got = Glibc.read(descriptor, destination, count)
            #endif
            if got >= 0 { return got }
            if errno == EINTR { continue }
            throw SpreadsheetError(.unreadable, "\(name): reading the file failed (errno \(errno))")
        }
    }

    /// Fills `destination` as far as the file allows (short reads retried); returns the count.
    func readFully(into destination: UnsafeMutableRawPointer, count: Int) throws -> Int {
        var total = 0
        while total < count {
            let got = try read(into: destination + total, count: count - total)
            if got == 0 { break }
            total += got
        }
        return total
    }
}

/// The bytes the parser sees: UTF-8 for UTF-8 and UTF-16 files (UTF-16 transcoded chunk by chunk),
/// the raw bytes for Windows-1252 (cells with bytes ≥ 0x80 are transcoded one by one later).
/// A byte-order mark belonging to the encoding is skipped.
final class CSVByteSource {
    private let input: CSVFileInput
    private var utf16: CSVUTF16Transcoder?
    private var raw: UnsafeMutablePointer<UInt8>?
    private let rawCapacity: Int
    private var inputExhausted = false

    init(url: URL, encoding: CSVEncoding, chunkSize: Int) throws {
        input = try CSVFileInput(url: url)
        switch encoding {
        case .utf16LE: utf16 = CSVUTF16Transcoder(bigEndian: false)
        case .utf16BE: utf16 = CSVUTF16Transcoder(bigEndian: true)
        case .utf8, .utf8BOM, .windows1252: utf16 = nil
        }
        rawCapacity = max(chunkSize, 64)
        if utf16 != nil {
            raw = UnsafeMutablePointer<UInt8>.allocate(capacity: rawCapacity)
        }
        try skipByteOrderMark(encoding)
    }

    deinit { raw?.deallocate() }

    private func skipByteOrderMark(_ encoding: CSVEncoding) throws {
        let bom: [UInt8]
        switch encoding {
        case .utf8, .utf8BOM: bom = [0xEF, 0xBB, 0xBF]
        case .utf16LE: bom = [0xFF, 0xFE]
        case .utf16BE: bom = [0xFE, 0xFF]
        case .windows1252: return
        }
        var head = [UInt8](repeating: 0, count: bom.count)
        let got = try head.withUnsafeMutableBytes { try input.readFully(into: $0.baseAddress!, count: bom.count) }
        if got == bom.count && head == bom { return }
        // Not a BOM: these bytes are data and go first.
        pending = Array(head[0..<got])
    }

    /// Bytes read while looking for a BOM that turned out to be data.
    private var pending: [UInt8] = []

    /// Writes up to `capacity` (≥ 16) parser bytes; returns 0 only at the end of the input.
    func read(into destination: UnsafeMutablePointer<UInt8>, capacity: Int) throws -> Int {
        precondition(capacity >= 16)
        guard utf16 != nil, let raw else {
            if !pending.isEmpty {
                let count = min(pending.count, capacity)
                pending.withUnsafeBufferPointer { destination.update(from: $0.baseAddress!, count: count) }
                pending.removeFirst(count)
                return count
            }
            return try input.read(into: destination, count: capacity)
        }
        // Each 2-byte unit yields at most 3 bytes; a surrogate or odd byte left from the previous
        // piece adds at most 6 more. `want` may be odd: the odd byte waits for the next piece.
        let want = min(rawCapacity, (capacity - 8) * 2 / 3)
        while true {
            if inputExhausted { return utf16!.finish(into: destination) }
            var got = 0
            if !pending.isEmpty {
                got = min(pending.count, want)
                pending.withUnsafeBufferPointer { raw.update(from: $0.baseAddress!, count: got) }
                pending.removeFirst(got)
            } else {
                got = try input.read(into: raw, count: want)
            }
            if got == 0 {
                inputExhausted = true
                continue
            }
            let produced = utf16!.transcode(UnsafeBufferPointer(start: raw, count: got), into: destination)
            if produced > 0 { return produced }
        }
    }
}

/// UTF-16 → UTF-8, fed in arbitrary pieces: an odd byte or a high surrogate at the end of a piece
/// waits for the next one. Unpaired surrogates become U+FFFD.
struct CSVUTF16Transcoder {
    let bigEndian: Bool
    private var oddByte: UInt8?
    private var highSurrogate: UInt16?

    init(bigEndian: Bool) { self.bigEndian = bigEndian }

    mutating func transcode(_ input: UnsafeBufferPointer<UInt8>, into output: UnsafeMutablePointer<UInt8>) -> Int {
        var out = 0
        var index = 0
        let count = input.count
        if let odd = oddByte, count > 0 {
            oddByte = nil
            let unit = bigEndian ? UInt16(odd) << 8 | UInt16(input[0]) : UInt16(input[0]) << 8 | UInt16(odd)
            out = emit(unit, output, out)
            index = 1
        }
        while index + 1 < count {
            let a = UInt16(input[index]), b = UInt16(input[index + 1])
            let unit = bigEndian ? a << 8 | b : b << 8 | a
            index += 2
            if unit < 0x80 && highSurrogate == nil {
                output[out] = UInt8(truncatingIfNeeded: unit)
                out += 1
            } else {
                out = emit(unit, output, out)
            }
        }
        if index < count { oddByte = input[index] }
        return out
    }

    /// Flushes what is left at the end of the input (an odd byte or a lone high surrogate → U+FFFD).
    mutating func finish(into output: UnsafeMutablePointer<UInt8>) -> Int {
        var out = 0
        if highSurrogate != nil {
            highSurrogate = nil
            out = Self.put(0xFFFD, output, out)
        }
        if oddByte != nil {
            oddByte = nil
            out = Self.put(0xFFFD, output, out)
        }
        return out
    }

    private mutating func emit(_ unit: UInt16, _ output: UnsafeMutablePointer<UInt8>, _ at: Int) -> Int {
        var out = at
        if let high = highSurrogate {
            highSurrogate = nil
            if unit >= 0xDC00 && unit <= 0xDFFF {
                let scalar = 0x10000 + ((UInt32(high) - 0xD800) << 10) + (UInt32(unit) - 0xDC00)
                return Self.put(scalar, output, out)
            }
            out = Self.put(0xFFFD, output, out)
        }
        switch unit {
        case 0xD800...0xDBFF:
            highSurrogate = unit
            return out
        case 0xDC00...0xDFFF:
            return Self.put(0xFFFD, output, out)
        default:
            return Self.put(UInt32(unit), output, out)
        }
    }

    static func put(_ scalar: UInt32, _ output: UnsafeMutablePointer<UInt8>, _ at: Int) -> Int {
        switch scalar {
        case 0..<0x80:
            output[at] = UInt8(scalar)
            return at + 1
        case 0x80..<0x800:
            output[at] = UInt8(0xC0 | scalar >> 6)
            output[at + 1] = UInt8(0x80 | scalar & 0x3F)
            return at + 2
        case 0x800..<0x10000:
            output[at] = UInt8(0xE0 | scalar >> 12)
            output[at + 1] = UInt8(0x80 | scalar >> 6 & 0x3F)
            output[at + 2] = UInt8(0x80 | scalar & 0x3F)
            return at + 3
        default:
            output[at] = UInt8(0xF0 | scalar >> 18)
            output[at + 1] = UInt8(0x80 | scalar >> 12 & 0x3F)
            output[at + 2] = UInt8(0x80 | scalar >> 6 & 0x3F)
            output[at + 3] = UInt8(0x80 | scalar & 0x3F)
            return at + 4
        }
    }
}
