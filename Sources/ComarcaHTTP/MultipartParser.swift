import ComarcaCore
import Foundation

/// The headers of one part of a `multipart/form-data` body, as far as a form upload needs them.
struct MultipartPartHeaders: Sendable, Equatable {
    /// `Content-Disposition: form-data; name="…"`.
    var name: String
    /// The file's name as the client sent it (`filename` or `filename*`), without any path.
    var fileName: String?
    var contentType: String?
}

/// A push parser for `multipart/form-data` (RFC 7578 over RFC 2046): bytes go in as they arrive,
/// in chunks of any size, and come out as events — a part's headers, pieces of its body, its end.
/// Memory stays bounded by the largest chunk plus the boundary: a body is never collected.
struct MultipartParser: Sendable {
    enum Event: Sendable, Equatable {
        case part(MultipartPartHeaders)
        case body([UInt8])
        case partEnd
    }

    enum State: Sendable, Equatable {
        /// Before the first boundary (a preamble is allowed and ignored).
        case preamble
        /// Just past a boundary: `--` (the last one) or optional padding and CRLF follow.
        case afterBoundary
        case headers
        case body
        /// Past the closing boundary; anything more is an epilogue and ignored.
        case done
    }

    /// The most header bytes one part may have.
    static let maxHeaderBytes = 16 * 1024

    private let delimiter: [UInt8]
    private var buffer: [UInt8]
    private var start = 0
    private(set) var state = State.preamble

    /// `boundary` as the Content-Type names it (1 to 70 characters).
    init(boundary: String) {
        // A CRLF in front lets the first boundary match like every later one ("\r\n--" + boundary).
        delimiter = Array("\r\n--\(boundary)".utf8)
        buffer = [13, 10]
    }

    /// Feeds the next bytes of the body and returns the events they complete.
    mutating func feed<Bytes: Collection>(_ bytes: Bytes) throws -> [Event] where Bytes.Element == UInt8 {
        if start > 0, start >= buffer.count / 2 {
            buffer.removeFirst(start)
            start = 0
        }
        buffer.append(contentsOf: bytes)
        var events: [Event] = []
        while try step(&events) {}
        return events
    }

    /// Says the body is over; throws when it ended before the closing boundary.
    func finish() throws {
        guard state == .done else {
            throw Self.malformed("the multipart body ended before its closing boundary")
        }
    }

    static func malformed(_ message: String) -> CoreError {
        CoreError.invalid("body", message)
    }

    /// Makes one step of progress; false when more bytes are needed.
    private mutating func step(_ events: inout [Event]) throws -> Bool {
        let available = buffer.count - start
        switch state {
        case .preamble:
            if let found = find(delimiter, from: start) {
                start = found + delimiter.count
                state = .afterBoundary
                return true
            }
            // Keep what could be the start of a delimiter cut by the chunk.
            start = max(start, buffer.count - (delimiter.count - 1))
            return false

        case .afterBoundary:
            guard available >= 2 else { return false }
            if buffer[start] == UInt8(ascii: "-") && buffer[start + 1] == UInt8(ascii: "-") {
                state = .done
                start = buffer.count
                return false
            }
            // Transport padding (spaces, tabs) may precede the CRLF.
            var index = start
            while index < buffer.count, buffer[index] == 32 || buffer[index] == 9 { index += 1 }
            guard index + 1 < buffer.count else {
                if index - start > 256 { throw Self.malformed("a boundary line is not followed by CRLF") }
                return false
            }
            guard buffer[index] == 13, buffer[index + 1] == 10 else {
                throw Self.malformed("a boundary line is not followed by CRLF")
            }
            start = index + 2
            state = .headers
            return true

        case .headers:
            // No headers at all: the blank line comes first.
            if available >= 2, buffer[start] == 13, buffer[start + 1] == 10 {
                start += 2
                events.append(.part(try Self.parseHeaders([])))
                state = .body
                return true
            }
            guard let end = find([13, 10, 13, 10], from: start) else {
                if available > Self.maxHeaderBytes { throw Self.malformed("the headers of a part are too long") }
                return false
            }
            guard end - start <= Self.maxHeaderBytes else { throw Self.malformed("the headers of a part are too long") }
            let block = Array(buffer[start..<end])
            start = end + 4
            events.append(.part(try Self.parseHeaders(block)))
            state = .body
            return true

        case .body:
            if let found = find(delimiter, from: start) {
                if found > start { events.append(.body(Array(buffer[start..<found]))) }
                events.append(.partEnd)
                start = found + delimiter.count
                state = .afterBoundary
                return true
            }
            // Everything but a tail that could be the beginning of the delimiter is body.
            let safe = buffer.count - (delimiter.count - 1)
            if safe > start {
                events.append(.body(Array(buffer[start..<safe])))
                start = safe
            }
            return false

        case .done:
            start = buffer.count
            return false
        }
    }

    /// The first index at or after `from` where `needle` starts in the buffer.
    private func find(_ needle: [UInt8], from: Int) -> Int? {
        let count = buffer.count
        guard count - from >= needle.count else { return nil }
        let first = needle[0]
        return buffer.withUnsafeBufferPointer { haystack -> Int? in
            guard let base = haystack.baseAddress else { return nil }
            var index = from
            let last = count - needle.count
            while index <= last {
                guard let hit = memchr(base + index, Int32(first), last - index + 1) else { return nil }
                let position = base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
                var matched = true
                for offset in 1..<needle.count where haystack[position + offset] != needle[offset] {
                    matched = false
                    break
                }
                if matched { return position }
                index = position + 1
            }
            return nil
        }
    }

    // MARK: - Headers

    /// Parses a part's header block (lines separated by CRLF, folded lines allowed).
    static func parseHeaders(_ block: [UInt8]) throws -> MultipartPartHeaders {
        let text = String(bytes: block, encoding: .utf8) ?? String(block.map { Character(Unicode.Scalar($0)) })
        var lines: [String] = []
        for line in text.components(separatedBy: "\r\n") {
            if let first = line.first, first == " " || first == "\t", !lines.isEmpty {
                lines[lines.count - 1] += " " + line.trimmingCharacters(in: .whitespaces)
            } else if !line.isEmpty {
                lines.append(line)
            }
        }
        var disposition: String?
        var contentType: String?
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { throw malformed("a part header has no colon") }
            let name = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            switch name {
            case "content-disposition": disposition = value
            case "content-type": contentType = value
            default: break
            }
        }
        guard let disposition else { throw malformed("a part has no Content-Disposition header") }
        let (kind, parameters) = parseParameters(disposition)
        guard kind.lowercased() == "form-data", let name = parameters["name"] else {
            throw malformed("a part is not form-data with a name")
        }
        var fileName = parameters["filename"]
        if let extended = parameters["filename*"], let decoded = decodeExtended(extended) { fileName = decoded }
        return MultipartPartHeaders(name: name, fileName: fileName.map(baseName), contentType: contentType)
    }

    /// `value; a=b; c="d; e"` → ("value", [a: b, c: "d; e"]), parameter names lower-cased.
    /// Inside quotes only `\"` is an escape: browsers leave backslashes of Windows paths alone.
    static func parseParameters(_ header: String) -> (String, [String: String]) {
        var parameters: [String: String] = [:]
        let scalars = Array(header.unicodeScalars)
        var index = 0
        func skipSpaces() { while index < scalars.count, scalars[index] == " " || scalars[index] == "\t" { index += 1 } }
        var value = ""
        while index < scalars.count, scalars[index] != ";" { value.unicodeScalars.append(scalars[index]); index += 1 }
        while index < scalars.count {
            index += 1  // the ';'
            skipSpaces()
            var name = ""
            while index < scalars.count, scalars[index] != "=", scalars[index] != ";" { name.unicodeScalars.append(scalars[index]); index += 1 }
            var parameter = ""
            if index < scalars.count, scalars[index] == "=" {
                index += 1
                skipSpaces()
                if index < scalars.count, scalars[index] == "\"" {
                    index += 1
                    while index < scalars.count, scalars[index] != "\"" {
                        if scalars[index] == "\\", index + 1 < scalars.count, scalars[index + 1] == "\"" { index += 1 }
                        parameter.unicodeScalars.append(scalars[index])
                        index += 1
                    }
                    index += 1  // the closing quote
                    while index < scalars.count, scalars[index] != ";" { index += 1 }
                } else {
                    while index < scalars.count, scalars[index] != ";" { parameter.unicodeScalars.append(scalars[index]); index += 1 }
                    parameter = parameter.trimmingCharacters(in: .whitespaces)
                }
            }
            let key = name.trimmingCharacters(in: .whitespaces).lowercased()
            if !key.isEmpty, parameters[key] == nil { parameters[key] = parameter }
        }
        return (value.trimmingCharacters(in: .whitespaces), parameters)
    }

    /// RFC 8187: `UTF-8''na%C3%AFve.csv`.
    static func decodeExtended(_ value: String) -> String? {
        let parts = value.split(separator: "'", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].lowercased() == "utf-8" else { return nil }
        return parts[2].removingPercentEncoding
    }

    /// The last component of a path a client may have sent (`C:\Users\x\file.csv`, `a/b.csv`).
    static func baseName(_ name: String) -> String {
        let last = name.split(whereSeparator: { $0 == "/" || $0 == "\\" }).last.map(String.init) ?? ""
        return last
    }

    /// The boundary of a `multipart/form-data` Content-Type; nil for any other type.
    static func boundary(contentType: String?) -> String? {
        guard let contentType else { return nil }
        let (type, parameters) = parseParameters(contentType)
        guard type.lowercased() == "multipart/form-data", let boundary = parameters["boundary"],
            (1...70).contains(boundary.utf8.count), !boundary.hasSuffix(" ")
        else { return nil }
        return boundary
    }
}
