import ComarcaCore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import PGClient

/// Spreadsheet imports over HTTP: upload a file (multipart) → a job that runs in the background;
/// progress, reports, cancel, undo; saved mappings; templates. The engine is ComarcaCore's
/// ImportService — the same one `comarca import` runs — so HTTP and CLI give the same results.
struct ImportsController: Sendable {
    let database: Database
    let runner: ImportJobRunner

    /// A job, with `Location` naming it (202 on upload).
    struct Located: ResponseGenerator, Sendable {
        let job: ImportJobView
        let status: HTTPResponse.Status

        func response(from request: Request, context: some RequestContext) throws -> Response {
            var response = try JSONResponse(job, status: status).response(from: request, context: context)
            response.headers[.location] = "/v1/imports/\(job.id.uuidString.lowercased())"
            return response
        }
    }

    struct MappingSummary: Encodable, Sendable {
        let name: String
        let entity: String
    }

    struct SavedMapping: Encodable, Sendable {
        let name: String
        let entity: String
        let mapping: ImportMapping
    }

    /// `PUT /v1/import-mappings/{name}`: `{"entity": "records", "mapping": {columns, defaults, …}}`;
    /// the mapping has the keys of a mapping file and is checked as strictly.
    struct SaveMapping: Decodable {
        let entity: ImportEntity
        let mapping: JSONValue
        enum CodingKeys: String, CodingKey, CaseIterable { case entity, mapping }
        init(from decoder: any Decoder) throws {
            try StrictKeys.check(decoder, allowed: CodingKeys.allCases.map(\.rawValue))
            let c = try decoder.container(keyedBy: CodingKeys.self)
            guard let entity = ImportEntity(rawValue: try c.decode(String.self, forKey: .entity)) else {
                throw CoreError.invalid("entity", "one of \(ImportEntity.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            self.entity = entity
            mapping = try c.decode(JSONValue.self, forKey: .mapping)
        }
    }

    func addRoutes(to group: RouterGroup<AuthenticatedContext>) {
        let database = self.database
        group.post("/imports") { request, context in
            try await self.upload(request, context: context)
        }
        group.get("/imports") { request, context in
            let session = context.session
            let params = try request.pageRequest()
            let page = try PageRequest(limit: params.limit, cursor: params.cursor)
            return JSONResponse(try await database.withScope(session.accessScope) { try ImportService.list(session, page: page, on: $0) })
        }
        group.get("/imports/:id") { _, context in
            let session = context.session
            let id = try context.uuidParameter("id")
            return JSONResponse(try await database.withScope(session.accessScope) { try ImportService.get(session, id: id, on: $0) })
        }
        group.get("/imports/:id/reports/:kind") { _, context in
            let session = context.session
            let id = try context.uuidParameter("id")
            guard let kind = context.parameters.get("kind").flatMap(ImportReportKind.init(rawValue:)) else {
                throw CoreError(.notFound, "no such report; the reports are errors, rejected and result")
            }
            // Existence and rights first, so a refusal is a problem and not a cut-off download.
            _ = try await database.withScope(session.accessScope) { try ImportService.get(session, id: id, on: $0) }
            return CSVDownload(fileName: "import-\(id.uuidString.lowercased())-\(kind.rawValue).csv") { write in
                try await database.withScope(session.accessScope) { tx in
                    try ImportService.writeReport(session, id: id, kind: kind, on: tx, write: write)
                }
            }
        }
        group.post("/imports/:id/cancel") { _, context in
            let session = context.session
            let id = try context.uuidParameter("id")
            return JSONResponse(try await database.withScope(session.accessScope) { try ImportService.cancel(session, id: id, on: $0) })
        }
        group.post("/imports/:id/undo") { _, context in
            let session = context.session
            let id = try context.uuidParameter("id")
            return JSONResponse(try await database.withScope(session.accessScope) { try ImportService.undo(session, id: id, on: $0) })
        }
        group.get("/imports/templates/:entity") { _, context in
            let session = context.session
            guard let entity = context.parameters.get("entity").flatMap(ImportEntity.init(rawValue:)) else {
                throw CoreError(.notFound, "no such entity")
            }
            let headers = try await database.withScope(session.accessScope) {
                try ImportService.templateHeaders(session, entity: entity, on: $0)
            }
            let bytes = SpreadsheetCSV.byteOrderMark + Array(SpreadsheetCSV.line(headers).utf8)
            return CSVDownload(fileName: "import-template-\(entity.rawValue).csv") { write in try write(bytes) }
        }
        group.get("/import-mappings") { _, context in
            let session = context.session
            let saved = try await database.withScope(session.accessScope) { try ImportService.mappings(session, on: $0) }
            return JSONResponse(Items(items: saved.map { MappingSummary(name: $0.name, entity: $0.entity) }))
        }
        group.put("/import-mappings/:name") { request, context in
            let session = context.session
            guard let name = context.parameters.get("name") else { throw CoreError(.notFound, "no such mapping") }
            let body = try await request.decode(as: SaveMapping.self, context: context)
            let mapping = try ImportMapping.parse(try body.mapping.jsonText(), fileName: "mapping")
            try await database.withScope(session.accessScope) {
                try ImportService.saveMapping(session, name: name, entity: body.entity, mapping: mapping, on: $0)
            }
            return JSONResponse(SavedMapping(name: name, entity: body.entity.rawValue, mapping: mapping))
        }
    }

    /// `POST /v1/imports`: the file goes to the spool as it arrives, the job is created (the
    /// engine checks the file's kind, the rights and the one-import-at-a-time rule) and
    /// started in the background; 202 with the job.
    func upload(_ request: Request, context: AuthenticatedContext) async throws -> Located {
        let session = context.session
        // Before reading a possibly huge body: a role that may import nothing is refused now
        // (the engine checks the exact entity when it creates the job).
        guard [Entity.records, .accounts, .activities].contains(where: { session.role.allows(.import, on: $0) }) else {
            throw CoreError(.forbidden, "your role may not import")
        }
        let received: ImportUpload
        do {
            received = try await ImportUpload.receive(request, runner: runner, context: context)
        } catch let error as CoreError where error.code == .invalidInput {
            throw ErrorMapping.uploadProblem(for: error)
        }
        let upload = received
        let job: ImportJobView
        do {
            job = try await database.withScope(session.accessScope) { tx in
                let form = upload.form
                var entity = form.entity
                var mapping = form.mapping ?? ImportMapping()
                if let name = form.mappingName {
                    do {
                        let (savedEntity, saved) = try ImportService.mapping(session, name: name, on: tx)
                        mapping = saved
                        entity = entity ?? savedEntity
                    } catch let error as CoreError where error.code == .notFound {
                        throw CoreError.invalid("mappingName", "no saved mapping named \(name)")
                    }
                }
                let importRequest = ImportRequest(
                    entity: entity, fileURL: upload.file, fileName: upload.fileName, sheet: form.sheet, mapping: mapping,
                    mode: form.mode, match: form.match, dryRun: form.dryRun, allOrNothing: form.allOrNothing,
                    createMissingParents: form.createMissingParents, ownsFile: true)
                return try ImportService.create(session, importRequest, on: tx)
            }
        } catch {
            runner.removeUpload(upload.directory)
            if let error = error as? CoreError, error.code == .invalidInput { throw ErrorMapping.uploadProblem(for: error) }
            throw error
        }
        runner.start(session, jobID: job.id, upload: upload.directory)
        return Located(job: job, status: .accepted)
    }
}

/// Any JSON value, kept to be re-read by a stricter parser (mappings).
enum JSONValue: Decodable, Sendable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
        } else if let value = try? c.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? c.decode(Double.self) {
            self = .number(value)
        } else if let value = try? c.decode(String.self) {
            self = .string(value)
        } else if let value = try? c.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try c.decode([String: JSONValue].self))
        }
    }

    var object: Any {
        switch self {
        case .null: NSNull()
        case .bool(let value): value
        case .number(let value): value == value.rounded() && abs(value) < 1e15 ? Int(value) as Any : value
        case .string(let value): value
        case .array(let values): values.map(\.object)
        case .object(let values): values.mapValues(\.object)
        }
    }

    func jsonText() throws -> String {
        guard case .object = self else { throw CoreError.invalid("mapping", "must be an object (columns, defaults, constants, locale, mode, match, sheets, header_row)") }
        return String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }
}
