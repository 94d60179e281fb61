import Foundation
import ZIPFoundation

/// One file in a zip's central directory.
struct XLSXZipEntry {
    var path: String
    var method: UInt16
    var flags: UInt16
    var crc32: UInt32
    var compressedSize: Int64
    var uncompressedSize: Int64
    var localHeaderOffset: Int64
}

/// Reads a zip's central directory (ZIP64 included) and streams entries out through
/// ZIPFoundation's inflate with an input provider bounded by the entry's compressed size.
///
/// Why not `Archive.extract`: on Linux its inflate loop asks the file for more input until the
/// deflate stream ends, so a crafted entry whose stream never ends spins forever at end of file,
/// and it declares a full buffer of input even when the last read was short. Feeding inflate
/// ourselves turns both into a clean "damaged file" error.
final class XLSXZipDirectory {
    let entries: [XLSXZipEntry]
    private let handle: FileHandle
    private let fileSize: Int64

    struct Damaged: Error {
        var reason: String
    }

    init(url: URL, maxEntries: Int) throws {
        guard let handle = try? FileHandle(forReadingFrom: url) else { throw Damaged(reason: "the file cannot be opened") }
        self.handle = handle
        do {
            fileSize = Int64(try handle.seekToEnd())
            entries = try XLSXZipDirectory.readDirectory(handle, fileSize: fileSize, maxEntries: maxEntries)
        } catch {
            try? handle.close()
            throw error
        }
    }

    deinit { try? handle.close() }

    private static func readDirectory(_ handle: FileHandle, fileSize: Int64, maxEntries: Int) throws -> [XLSXZipEntry] {
        // End of central directory: 22 bytes plus a comment of up to 65535 bytes at the end.
        let tailLength = min(fileSize, 22 + 65_535)
        let tail = try read(handle, at: fileSize - tailLength, count: Int(tailLength))
        guard tail.count >= 22 else { throw Damaged(reason: "no zip directory was found") }
        var eocd = -1
        var index = tail.count - 22
        while index >= 0 {
            if tail[index] == 0x50, tail[index + 1] == 0x4B, tail[index + 2] == 0x05, tail[index + 3] == 0x06 {
                eocd = index
                break
            }
            index -= 1
        }
        guard eocd >= 0 else { throw Damaged(reason: "no zip directory was found") }
        var count = Int64(le16(tail, eocd + 10))
        var directorySize = Int64(le32(tail, eocd + 12))
        var directoryOffset = Int64(le32(tail, eocd + 16))
        let eocdOffset = fileSize - tailLength + Int64(eocd)
        if count == 0xFFFF || directorySize == 0xFFFF_FFFF || directoryOffset == 0xFFFF_FFFF {
            // ZIP64: the locator sits just before the classic record.
            let locatorStart = eocdOffset - 20
            let locator = locatorStart >= 0 ? try read(handle, at: locatorStart, count: 20) : []
            guard locator.count == 20, le32(locator, 0) == 0x0706_4B50 else {
                // Info-ZIP writing ZIP64 to a pipe saturates the offset without a ZIP64 record;
                // the directory then ends where the classic record starts.
                guard count != 0xFFFF, directorySize != 0xFFFF_FFFF, eocdOffset >= directorySize else {
                    throw Damaged(reason: "its ZIP64 directory is broken")
                }
                directoryOffset = eocdOffset - directorySize
                return try readEntries(handle, at: directoryOffset, size: directorySize, count: count, fileSize: fileSize, maxEntries: maxEntries)
            }
            let record = try read(handle, at: Int64(clamping: le64(locator, 8)), count: 56)
            guard record.count == 56, le32(record, 0) == 0x0606_4B50 else { throw Damaged(reason: "its ZIP64 directory is broken") }
            count = Int64(clamping: le64(record, 32))
            directorySize = Int64(clamping: le64(record, 40))
            directoryOffset = Int64(clamping: le64(record, 48))
        }
        return try readEntries(handle, at: directoryOffset, size: directorySize, count: count, fileSize: fileSize, maxEntries: maxEntries)
    }

    private static func readEntries(_ handle: FileHandle, at directoryOffset: Int64, size directorySize: Int64, count: Int64,
                                    fileSize: Int64, maxEntries: Int) throws -> [XLSXZipEntry] {
        guard count <= maxEntries else { throw Damaged(reason: "it holds more than \(maxEntries) files, which no workbook does") }
        guard directoryOffset >= 0, directorySize >= 0, directoryOffset + directorySize <= fileSize,
              directorySize <= Int64(maxEntries) * 1024 else {
            throw Damaged(reason: "its zip directory points outside the file")
        }
        let directory = try read(handle, at: directoryOffset, count: Int(directorySize))
        var entries: [XLSXZipEntry] = []
        var at = 0
        while entries.count < count {
            guard at + 46 <= directory.count, le32(directory, at) == 0x0201_4B50 else {
                throw Damaged(reason: "a zip directory entry is broken")
            }
            let nameLength = Int(le16(directory, at + 28))
            let extraLength = Int(le16(directory, at + 30))
            let commentLength = Int(le16(directory, at + 32))
            let end = at + 46 + nameLength + extraLength + commentLength
            guard end <= directory.count else { throw Damaged(reason: "a zip directory entry is broken") }
            var entry = XLSXZipEntry(
                path: String(decoding: directory[(at + 46)..<(at + 46 + nameLength)], as: UTF8.self),
                method: le16(directory, at + 10),
                flags: le16(directory, at + 8),
                crc32: le32(directory, at + 16),
                compressedSize: Int64(le32(directory, at + 20)),
                uncompressedSize: Int64(le32(directory, at + 24)),
                localHeaderOffset: Int64(le32(directory, at + 42)))
            // ZIP64 extended information: the 64-bit values of the fields saturated above, in order.
            var extra = at + 46 + nameLength
            let extraEnd = extra + extraLength
            while extra + 4 <= extraEnd {
                let id = le16(directory, extra)
                let size = Int(le16(directory, extra + 2))
                if id == 0x0001 {
                    var field = extra + 4
                    let fieldEnd = min(field + size, extraEnd)
                    if entry.uncompressedSize == 0xFFFF_FFFF, field + 8 <= fieldEnd {
                        entry.uncompressedSize = Int64(clamping: le64(directory, field)); field += 8
                    }
                    if entry.compressedSize == 0xFFFF_FFFF, field + 8 <= fieldEnd {
                        entry.compressedSize = Int64(clamping: le64(directory, field)); field += 8
                    }
                    if entry.localHeaderOffset == 0xFFFF_FFFF, field + 8 <= fieldEnd {
                        entry.localHeaderOffset = Int64(clamping: le64(directory, field))
                    }
                }
                extra += 4 + size
            }
            entries.append(entry)
            at = end
        }
        return entries
    }

    /// Streams an entry's uncompressed bytes to `consumer`; returns their CRC-32.
    func extract(_ entry: XLSXZipEntry, consumer: (Data) throws -> Void) throws -> UInt32 {
        guard entry.flags & 0x1 == 0 else { throw Damaged(reason: "it is encrypted") }
        let header = try XLSXZipDirectory.read(handle, at: entry.localHeaderOffset, count: 30)
        guard header.count == 30, XLSXZipDirectory.le32(header, 0) == 0x0403_4B50 else {
            throw Damaged(reason: "its zip header is broken")
        }
        let dataOffset = entry.localHeaderOffset + 30
            + Int64(XLSXZipDirectory.le16(header, 26)) + Int64(XLSXZipDirectory.le16(header, 28))
        guard entry.compressedSize >= 0, dataOffset + entry.compressedSize <= fileSize else {
            throw Damaged(reason: "it runs past the end of the file")
        }
        try handle.seek(toOffset: UInt64(dataOffset))
        var remaining = entry.compressedSize
        let chunk = 256 << 10
        switch entry.method {
        case 0:
            var checksum: UInt32 = 0
            while remaining > 0 {
                let data = try handle.read(upToCount: Int(min(Int64(chunk), remaining))) ?? Data()
                guard !data.isEmpty else { throw Damaged(reason: "it is cut short") }
                remaining -= Int64(data.count)
                checksum = data.crc32(checksum: checksum)
                try consumer(data)
            }
            return checksum
        case 8:
            var padded = false
            let handle = self.handle
            // Exactly `size` bytes per call (ZIPFoundation's Linux inflate assumes a full buffer):
            // the compressed bytes, then zeros once, then an error if inflate still wants more.
            return try Data.decompress(size: entry.compressedSize, bufferSize: chunk, skipCRC32: false, provider: { _, size in
                var data = Data()
                if remaining > 0 {
                    data = try handle.read(upToCount: Int(min(Int64(size), remaining))) ?? Data()
                    guard !data.isEmpty else { throw Damaged(reason: "it is cut short") }
                    remaining -= Int64(data.count)
                }
                if data.count < size {
                    guard !padded else { throw Damaged(reason: "its compressed data never ends") }
                    padded = true
                    data.append(Data(count: size - data.count))
                }
                return data
            }, consumer: consumer)
        default:
            throw Damaged(reason: "it uses an unsupported compression method (\(entry.method))")
        }
    }

    private static func read(_ handle: FileHandle, at offset: Int64, count: Int) throws -> [UInt8] {
        guard offset >= 0 else { throw Damaged(reason: "an offset points outside the file") }
        try handle.seek(toOffset: UInt64(offset))
        return [UInt8](try handle.read(upToCount: count) ?? Data())
    }

    private static func le16(_ bytes: [UInt8], _ at: Int) -> UInt16 {
        UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8
    }

    private static func le32(_ bytes: [UInt8], _ at: Int) -> UInt32 {
        UInt32(le16(bytes, at)) | UInt32(le16(bytes, at + 2)) << 16
    }

    private static func le64(_ bytes: [UInt8], _ at: Int) -> UInt64 {
        UInt64(le32(bytes, at)) | UInt64(le32(bytes, at + 4)) << 32
    }
}
