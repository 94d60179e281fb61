import ComarcaCore
import Foundation
import HTTPTypes
import Hummingbird
import PGClient

/// Records: lists and search, CRUD with `If-Match`, lifecycle moves, conversion and history.
/// Every rule lives in ComarcaCore; this file only translates HTTP.
struct RecordsController: Sendable {
    let database: Database

    /// A record's JSON body plus its version as an ETag (`"3"`), for `If-Match`.
    struct Tagged<Body: Encodable & Sendable>: ResponseGenerator, Sendable {
        let body: Body
        let version: Int
        var status: HTTPResponse.Status = .ok

        func response(from request: Request, context: some RequestContext) throws -> Response {
            var response = try JSONResponse(body, status: status).response(from: request, context: context)
            response.headers[.eTag] = "\"\(version)\""
            return response
        }
    }

    struct CreateRecord: Decodable {
        let input: RecordInput
        let custom: [String: FieldValue]
        static let keys = ["firstName", "lastName", "companyName", "email", "phone", "taxId", "source", "campaignId", "externalId", "zoneId", "ownerId", "custom"]
        enum CodingKeys: String, CodingKey { case custom }
        init(from decoder: any Decoder) throws {
            try StrictKeys.check(decoder, allowed: Self.keys)
            input = try RecordInput(from: decoder)
            custom = try decoder.container(keyedBy: CodingKeys.self).decodeIfPresent([String: FieldValue].self, forKey: .custom) ?? [:]
        }
    }

    struct UpdateRecord: Decodable {
        let changes: RecordChanges
        let custom: [String: FieldValue]
        static let keys = ["firstName", "lastName", "companyName", "email", "phone", "taxId", "externalId", "custom"]
        enum CodingKeys: String, CodingKey { case custom }
        init(from decoder: any Decoder) throws {
            try StrictKeys.check(decoder, allowed: Self.keys)
            changes = try RecordChanges(from: decoder)
            custom = try decoder.container(keyedBy: CodingKeys.self).decodeIfPresent([String: FieldValue].self, forKey: .custom) ?? [:]
        }
    }

    struct Disqualify: Decodable {
        let reason: String
        let note: String?
        enum CodingKeys: String, CodingKey, CaseIterable { case reason, note }
        init(from decoder: any Decoder) throws {
            try StrictKeys.check(decoder, allowed: CodingKeys.allCases.map(\.rawValue))
            let c = try decoder.container(keyedBy: CodingKeys.self)
            reason = try c.decode(String.self, forKey: .reason)
            note = try c.decodeIfPresent(String.self, forKey: .note)
        }
    }

    struct Note: Decodable {
        let note: String?
        enum CodingKeys: String, CodingKey, CaseIterable { case note }
        init(from decoder: any Decoder) throws {
            try StrictKeys.check(decoder, allowed: CodingKeys.allCases.map(\.rawValue))
            note = try decoder.container(keyedBy: CodingKeys.self).decodeIfPresent(String.self, forKey: .note)
        }
    }

    struct Reassign: Decodable {
        let zoneId: UUID
        let ownerId: UUID?
        enum CodingKeys: String, CodingKey, CaseIterable { case zoneId, ownerId }
        init(from decoder: any Decoder) throws {
            try StrictKeys.check(decoder, allowed: CodingKeys.allCases.map(\.rawValue))
            let c = try decoder.container(keyedBy: CodingKeys.self)
            zoneId = try c.decode(UUID.self, forKey: .zoneId)
            ownerId = try c.decodeIfPresent(UUID.self, forKey: .ownerId)
        }
    }

    /// `{"account": {"link": id} | {"create": {"name", "taxId"}} | "match", "opportunity": {...}}`
    struct Convert: Decodable {
        let account: AccountChoice
        let opportunity: OpportunityInput?
        enum CodingKeys: String, CodingKey, CaseIterable { case account, opportunity }
        enum ChoiceKeys: String, CodingKey { case link, create }
        struct NewAccount: Decodable {
            let name: String
            let taxId: String?
        }
        init(from decoder: any Decoder) throws {
            try StrictKeys.check(decoder, allowed: CodingKeys.allCases.map(\.rawValue))
            let c = try decoder.container(keyedBy: CodingKeys.self)
            opportunity = try c.decodeIfPresent(OpportunityInput.self, forKey: .opportunity)
            if !c.contains(.account) {
                account = .match
            } else if let text = try? c.decode(String.self, forKey: .account) {
                guard text == "match" else { throw CoreError.invalid("account", "\"match\", {\"link\": id} or {\"create\": {...}}") }
                account = .match
            } else {
                let choice = try c.nestedContainer(keyedBy: ChoiceKeys.self, forKey: .account)
                if let id = try choice.decodeIfPresent(UUID.self, forKey: .link) {
                    account = .link(id)
                } else if let new = try choice.decodeIfPresent(NewAccount.self, forKey: .create) {
                    account = .create(name: new.name, taxID: new.taxId)
                } else {
                    throw CoreError.invalid("account", "\"match\", {\"link\": id} or {\"create\": {...}}")
                }
            }
        }
    }

    func addRoutes(to group: RouterGroup<AuthenticatedContext>) {
        let database = self.database
        group.get("/records") { request, context in
            let session = context.session
            let list = try RecordListRequest(request)
            let params = try request.pageRequest()
            let page = try PageRequest(limit: params.limit, cursor: params.cursor)
            let json = try await database.withScope(session.accessScope) { try RecordQuery.listJSON(session, filter: list.filter, page: page, on: $0) }
            return RawJSONPage(json: json, fields: list.fields)
        }
        group.post("/records") { request, context in
            let session = context.session
            let body = try await request.decode(as: CreateRecord.self, context: context)
            let view = try await database.withScope(session.accessScope) { try RecordService.create(session, body.input, custom: body.custom, on: $0) }
            return Tagged(body: view, version: view.version, status: .created)
        }
        group.get("/records/:id") { _, context in
            let session = context.session
            let id = try context.uuidParameter("id")
            let view = try await database.withScope(session.accessScope) { try RecordService.get(session, id: id, on: $0) }
            return Tagged(body: view, version: view.version)
        }
        group.patch("/records/:id") { request, context in
            let session = context.session
            let id = try context.uuidParameter("id")
            let expected = try request.expectedVersion()
            let body = try await request.decode(as: UpdateRecord.self, context: context)
            let view = try await database.withScope(session.accessScope) {
                try RecordService.update(session, id: id, body.changes, custom: body.custom, expectedVersion: expected, on: $0)
            }
            return Tagged(body: view, version: view.version)
        }
        group.delete("/records/:id") { request, context in
            let session = context.session
            let id = try context.uuidParameter("id")
            let expected = try request.expectedVersion()
            try await database.withScope(session.accessScope) { try RecordService.delete(session, id: id, expectedVersion: expected, on: $0) }
            return NoContent()
        }
        group.get("/records/:id/history") { request, context in
            let session = context.session
            let id = try context.uuidParameter("id")
            let params = try request.pageRequest()
            let page = try PageRequest(limit: params.limit, cursor: params.cursor)
            return JSONResponse(try await database.withScope(session.accessScope) { try RecordService.history(session, id: id, page: page, on: $0) })
        }
        group.post("/records/:id/promote") { request, context in
            let session = context.session
            let id = try context.uuidParameter("id")
            let expected = try request.expectedVersion()
            let view = try await database.withScope(session.accessScope) { try RecordService.promote(session, id: id, expectedVersion: expected, on: $0) }
            return Tagged(body: view, version: view.version)
        }
        group.post("/records/:id/disqualify") { request, context in
            let session = context.session
            let id = try context.uuidParameter("id")
            let expected = try request.expectedVersion()
            let body = try await request.decode(as: Disqualify.self, context: context)
            let view = try await database.withScope(session.accessScope) {
                try RecordService.disqualify(session, id: id, reason: body.reason, note: body.note, expectedVersion: expected, on: $0)
            }
            return Tagged(body: view, version: view.version)
        }
        group.post("/records/:id/reopen") { request, context in
            let session = context.session
            let id = try context.uuidParameter("id")
            let expected = try request.expectedVersion()
            let note = try await request.optionalBody(as: Note.self, context: context)?.note
            let view = try await database.withScope(session.accessScope) {
                try RecordService.reopen(session, id: id, note: note, expectedVersion: expected, on: $0)
            }
            return Tagged(body: view, version: view.version)
        }
        group.post("/records/:id/reassign") { request, context in
            let session = context.session
            let id = try context.uuidParameter("id")
            let expected = try request.expectedVersion()
            let body = try await request.decode(as: Reassign.self, context: context)
            let view = try await database.withScope(session.accessScope) {
                try RecordService.reassign(session, id: id, zoneID: body.zoneId, ownerID: body.ownerId, expectedVersion: expected, on: $0)
            }
            return Tagged(body: view, version: view.version)
        }
        group.post("/records/:id/convert") { request, context in
            let session = context.session
            let id = try context.uuidParameter("id")
            let expected = try request.expectedVersion()
            let body = try await request.optionalBody(as: Convert.self, context: context)
            let result = try await database.withScope(session.accessScope) {
                try RecordService.convert(
                    session, id: id, account: body?.account ?? .match, opportunity: body?.opportunity,
                    expectedVersion: expected, on: $0)
            }
            return Tagged(body: result, version: result.record.version)
        }
    }
}

extension Request {
    /// The version an `If-Match` header names (`"3"`, `W/"3"` or `3`); nil without the header.
    func expectedVersion() throws -> Int? {
        guard let header = headers[.ifMatch] else { return nil }
        let trimmed = header.trimmingCharacters(in: .whitespaces)
        let bare = trimmed.hasPrefix("W/") ? String(trimmed.dropFirst(2)) : trimmed
        guard let version = Int(bare.trimmingCharacters(in: CharacterSet(charactersIn: "\""))), version > 0 else {
            throw CoreError.invalid("If-Match", "an ETag this API issued, e.g. \"3\"")
        }
        return version
    }

    /// A JSON body that may be absent (an empty POST).
    func optionalBody<T: Decodable>(as type: T.Type, context: some RequestContext) async throws -> T? {
        var copy = self
        let buffer = try await copy.collectBody(upTo: Swift.min(context.maxUploadSize, JSONBodyDecoder.maxBytes))
        guard buffer.readableBytes > 0 else { return nil }
        return try JSONBodyDecoder.decode(T.self, from: Data(buffer.readableBytesView))
    }
}
