import ComarcaCore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// A `POST /v1/imports` body received: the file part streamed into its own spool directory as it
/// arrived, the other parts (small text) in memory.
struct ImportUpload {
    /// The upload's spool directory (removed once the job is over, or at once on a bad request).
    let directory: URL
    let file: URL
    /// The name the user knows the file by.
    let fileName: String
    let form: Form

    /// The form parts besides `file`, checked.
    struct Form {
        var entity: ImportEntity?
        var sheet: String?
        var mode: ImportMode?
        var match: ImportMatchKey?
        var dryRun = false
        var allOrNothing = false
        var createMissingParents = false
        var mappingName: String?
        var mapping: ImportMapping?

        static let textParts = ["entity", "sheet", "mode", "match", "dryRun", "allOrNothing", "createMissingParents", "mappingName", "mapping"]

        init(_ parts: [String: String]) throws {
            var problems: [CoreError.FieldError] = []
            func value(_ name: String) -> String? {
                guard let text = parts[name]?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty else { return nil }
                return text
            }
            func choice<T: RawRepresentable & CaseIterable>(_ name: String, _ type: T.Type) -> T? where T.RawValue == String {
                guard let text = value(name) else { return nil }
                guard let parsed = T(rawValue: text) else {
                    problems.append(.init(field: name, message: "one of \(T.allCases.map(\.rawValue).joined(separator: ", "))"))
                    return nil
                }
                return parsed
            }
            func flag(_ name: String) -> Bool {
                guard let text = value(name)?.lowercased() else { return false }
                switch text {
                case "true", "1", "on", "yes": return true
                case "false", "0", "off", "no": return false
                default:
                    problems.append(.init(field: name, message: "true or false"))
                    return false
                }
            }
            entity = choice("entity", ImportEntity.self)
            sheet = value("sheet")
            mode = choice("mode", ImportMode.self)
            match = choice("match", ImportMatchKey.self)
            dryRun = flag("dryRun")
            allOrNothing = flag("allOrNothing")
            createMissingParents = flag("createMissingParents")
            mappingName = value("mappingName")
            if let text = value("mapping") {
                if mappingName != nil {
                    problems.append(.init(field: "mapping", message: "give mapping or mappingName, not both"))
                } else {
                    do {
                        mapping = try ImportMapping.parse(text, fileName: "mapping")
                    } catch let error as CoreError {
                        problems.append(.init(field: "mapping", message: error.message))
                    }
                }
            }
            guard problems.isEmpty else {
                throw CoreError(.invalidInput, problems.map { "\($0.field): \($0.message)" }.joined(separator: "; "), fieldErrors: problems)
            }
        }
    }

    static let maxMappingBytes = 256 * 1024
    static let maxFieldBytes = 1024
    static let maxParts = 32

    /// Reads the whole body. Throws `invalidInput` for a malformed body, unknown or repeated
    /// parts and a missing file; 413 past the runner's upload limit. Leaves nothing behind when
    /// it throws.
    static func receive(_ request: Request, runner: ImportJobRunner, context: some RequestContext) async throws -> ImportUpload {
        let limit = runner.settings.maxUploadBytes
        guard let boundary = MultipartParser.boundary(contentType: request.headers[.contentType]) else {
            throw CoreError.invalid("Content-Type", "send the file as multipart/form-data (a part named file)")
        }
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            throw HTTPError(.contentTooLarge)
        }
        let directory = try runner.makeUploadDirectory()
        do {
            let reader = MultipartReader(body: request.body, boundary: boundary, limit: limit)
            var texts: [String: String] = [:]
            var file: (url: URL, name: String)?
            var parts = 0
            while let part = try await reader.nextPart() {
                parts += 1
                guard parts <= maxParts else { throw CoreError.invalid("body", "too many parts") }
                if part.name == "file" {
                    guard file == nil else { throw CoreError.invalid("file", "send one file per import") }
                    let name = safeFileName(part.fileName)
                    let url = directory.appendingPathComponent(name, isDirectory: false)
                    do {
                        try await FileIO().writeFile(contents: reader.currentBody, path: url.path, context: context)
                    } catch {
                        // The writer wraps what the body threw (413, a malformed body): that is the answer.
                        throw reader.failure ?? error
                    }
                    file = (url, name)
                } else {
                    guard Form.textParts.contains(part.name) else {
                        throw CoreError.invalid(part.name, "not a part of this request; the parts are file, \(Form.textParts.joined(separator: ", "))")
                    }
                    guard texts[part.name] == nil else { throw CoreError.invalid(part.name, "given twice") }
                    texts[part.name] = try await reader.collectText(
                        maxBytes: part.name == "mapping" ? maxMappingBytes : maxFieldBytes, field: part.name)
                }
            }
            guard let file else { throw CoreError.invalid("file", "attach the spreadsheet as a part named file") }
            return ImportUpload(directory: directory, file: file.url, fileName: file.name, form: try Form(texts))
        } catch {
            runner.removeUpload(directory)
            throw error
        }
    }

    /// The client's file name, safe as the name of a file in the upload's own directory (no path,
    /// no control characters, at most 200 bytes); `upload` when nothing usable is left.
    static func safeFileName(_ name: String?) -> String {
        var cleaned = String(String.UnicodeScalarView((name ?? "").unicodeScalars.filter {
            !$0.properties.generalCategory.isControlOrFormat && $0 != "/" && $0 != "\\"
        })).trimmingCharacters(in: .whitespaces)
        while cleaned.utf8.count > 200 { cleaned.removeFirst() }
        return cleaned.isEmpty || cleaned == "." || cleaned == ".." ? "upload" : cleaned
    }
}

extension Unicode.GeneralCategory {
    fileprivate var isControlOrFormat: Bool {
        switch self {
        case .control, .format, .lineSeparator, .paragraphSeparator: true
        default: false
        }
    }
}
