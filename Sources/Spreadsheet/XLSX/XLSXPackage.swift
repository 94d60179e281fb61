import Foundation

/// The zip container of a workbook: finds parts by name and extracts them with the zip-bomb
/// limits enforced twice — on the sizes the headers declare before extracting, and on the bytes
/// actually produced while extracting (headers can lie). The directory is read by
/// `XLSXZipDirectory`, inflating is ZIPFoundation's.
final class XLSXPackage {
    let fileName: String
    let limits: SpreadsheetLimits
    private let zip: XLSXZipDirectory
    /// Part names in lower case without a leading slash (OPC part names are case-insensitive).
    private var entries: [String: XLSXZipEntry] = [:]

    /// Parts above this size must stay under the compression-ratio limit; small parts (a few
    /// hundred KiB of repetitive styles XML) may legitimately compress better than that.
    static let ratioFloorBytes: Int64 = 1 << 20
    /// Parts read into memory (workbook, relationships, styles) have no business being larger.
    static let maxInMemoryPartBytes: Int64 = 64 << 20
    static let maxEntries = 100_000

    init(url: URL, limits: SpreadsheetLimits) throws {
        self.fileName = url.lastPathComponent
        self.limits = limits
        do {
            zip = try XLSXZipDirectory(url: url, maxEntries: XLSXPackage.maxEntries)
        } catch {
            let reason = (error as? XLSXZipDirectory.Damaged)?.reason ?? "the zip archive cannot be read"
            throw SpreadsheetError(.malformedWorkbook, "\(url.lastPathComponent) is not an Excel workbook (\(reason)); save it from Excel as .xlsx")
        }
        for entry in zip.entries where !entry.path.hasSuffix("/") {
            entries[XLSXPackage.key(entry.path)] = entry
        }
    }

    static func key(_ path: String) -> String {
        var path = path.replacingOccurrences(of: "\\", with: "/")
        while path.hasPrefix("/") { path.removeFirst() }
        return path.lowercased()
    }

    func contains(_ path: String) -> Bool { entries[XLSXPackage.key(path)] != nil }

    /// Refuses a part whose declared size or compression ratio is over the limits.
    func checkDeclaredSize(of path: String) throws {
        guard let entry = entries[XLSXPackage.key(path)] else { return }
        let uncompressed = entry.uncompressedSize
        let compressed = max(entry.compressedSize, 1)
        if uncompressed > limits.maxUncompressedBytes {
            throw tooLarge(path, uncompressed)
        }
        if uncompressed > XLSXPackage.ratioFloorBytes, uncompressed / compressed > limits.maxCompressionRatio {
            throw bomb(path, "it expands from \(describe(compressed)) to \(describe(uncompressed)), more than \(limits.maxCompressionRatio) times")
        }
    }

    /// The part's bytes (for small parts). nil when the package has no such part.
    func read(_ path: String, budget: inout Int64) throws -> [UInt8]? {
        guard let entry = entries[XLSXPackage.key(path)] else { return nil }
        try checkDeclaredSize(of: path)
        guard entry.uncompressedSize <= XLSXPackage.maxInMemoryPartBytes else {
            throw SpreadsheetError(.malformedWorkbook, "\(path) in \(fileName) is implausibly large (\(describe(entry.uncompressedSize))); open the file in Excel and save it again as .xlsx")
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Int(entry.uncompressedSize))
        try extract(entry, path: path, budget: &budget) { data in
            bytes.append(contentsOf: data)
        }
        return bytes
    }

    /// Extracts the part to a new temporary file (the caller deletes it). nil when there is no such part.
    func extractToTemporaryFile(_ path: String, budget: inout Int64) throws -> URL? {
        guard let entry = entries[XLSXPackage.key(path)] else { return nil }
        try checkDeclaredSize(of: path)
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("comarca-xlsx-\(UUID().uuidString).xml")
        guard FileManager.default.createFile(atPath: url.path, contents: nil),
              let handle = try? FileHandle(forWritingTo: url) else {
            throw SpreadsheetError(.unreadable, "a temporary file for reading \(fileName) could not be created; check the disk space and retry")
        }
        do {
            defer { try? handle.close() }
            try extract(entry, path: path, budget: &budget) { data in
                do {
                    try handle.write(contentsOf: data)
                } catch {
                    throw SpreadsheetError(.unreadable, "a temporary file for reading \(fileName) could not be written; check the disk space and retry")
                }
            }
        } catch {
            try? FileManager.default.removeItem(at: url)
            throw error
        }
        return url
    }

    private func extract(_ entry: XLSXZipEntry, path: String, budget: inout Int64, consumer: (Data) throws -> Void) throws {
        let declared = entry.uncompressedSize
        let compressed = max(entry.compressedSize, 1)
        var produced: Int64 = 0
        let startBudget = budget
        let checksum: UInt32
        do {
            checksum = try zip.extract(entry) { data in
                produced += Int64(data.count)
                if produced > declared {
                    throw self.bomb(path, "it expands to more than the \(self.describe(declared)) its zip header declares")
                }
                if produced > XLSXPackage.ratioFloorBytes, produced / compressed > self.limits.maxCompressionRatio {
                    throw self.bomb(path, "it expands from \(self.describe(compressed)) to over \(self.describe(produced)), more than \(self.limits.maxCompressionRatio) times")
                }
                if startBudget + produced > self.limits.maxUncompressedBytes {
                    throw self.tooLarge(path, startBudget + produced)
                }
                try consumer(data)
            }
        } catch let error as SpreadsheetError {
            throw error
        } catch {
            let reason = (error as? XLSXZipDirectory.Damaged)?.reason ?? "it cannot be decompressed"
            throw SpreadsheetError(.malformedWorkbook, "\(path) in \(fileName) is damaged (\(reason)); open the file in Excel and save it again as .xlsx")
        }
        if produced != declared || checksum != entry.crc32 {
            throw SpreadsheetError(.malformedWorkbook, "\(path) in \(fileName) is damaged (its size or checksum does not match the zip header); open the file in Excel and save it again as .xlsx")
        }
        budget = startBudget + produced
    }

    private func bomb(_ path: String, _ what: String) -> SpreadsheetError {
        SpreadsheetError(.zipBomb, "\(fileName) was refused as a possible zip bomb: \(path) \(what). If the file is genuine, open it in Excel, delete unused rows and columns, and save it again, or export the sheet as CSV")
    }

    private func tooLarge(_ path: String, _ bytes: Int64) -> SpreadsheetError {
        SpreadsheetError(.zipBomb, "\(fileName) expands to \(describe(bytes)) when unpacked (at \(path)); the limit is \(describe(limits.maxUncompressedBytes)). Split the workbook or export the sheet as CSV")
    }

    private func describe(_ bytes: Int64) -> String {
        if bytes >= 1 << 20 { return "\(bytes >> 20) MiB" }
        if bytes >= 1 << 10 { return "\(bytes >> 10) KiB" }
        return "\(bytes) bytes"
    }
}
