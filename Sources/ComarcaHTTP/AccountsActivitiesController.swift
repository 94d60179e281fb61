import ComarcaCore
import Foundation
import HTTPTypes
import Hummingbird
import PGClient

/// Accounts (companies) and activities (calls, meetings, e-mails, tasks, notes).
struct AccountsActivitiesController: Sendable {
    let database: Database

    struct CreateAccount: Decodable {
        let input: AccountInput
        let custom: [String: FieldValue]
        static let keys = ["name", "taxId", "sector", "size", "province", "zoneId", "custom"]
        enum CodingKeys: String, CodingKey { case custom }
        init(from decoder: any Decoder) throws {
            try StrictKeys.check(decoder, allowed: Self.keys)
            input = try AccountInput(from: decoder)
            custom = try decoder.container(keyedBy: CodingKeys.self).decodeIfPresent([String: FieldValue].self, forKey: .custom) ?? [:]
        }
    }

    struct UpdateAccount: Decodable {
        let changes: AccountChanges
        let custom: [String: FieldValue]
        static let keys = ["name", "taxId", "sector", "size", "province", "custom"]
        enum CodingKeys: String, CodingKey { case custom }
        init(from decoder: any Decoder) throws {
            try StrictKeys.check(decoder, allowed: Self.keys)
            changes = try AccountChanges(from: decoder)
            custom = try decoder.container(keyedBy: CodingKeys.self).decodeIfPresent([String: FieldValue].self, forKey: .custom) ?? [:]
        }
    }

    struct CreateActivity: Decodable {
        let input: ActivityInput
        enum CodingKeys: String, CodingKey, CaseIterable { case kind, subject, body, recordId, accountId, opportunityId, ownerId, dueAt, done, outcome }
        init(from decoder: any Decoder) throws {
            try StrictKeys.check(decoder, allowed: CodingKeys.allCases.map(\.rawValue))
            let c = try decoder.container(keyedBy: CodingKeys.self)
            input = ActivityInput(
                kind: try c.decode(ActivityKind.self, forKey: .kind),
                subject: try c.decode(String.self, forKey: .subject),
                body: try c.decodeIfPresent(String.self, forKey: .body),
                recordId: try c.decodeIfPresent(UUID.self, forKey: .recordId),
                accountId: try c.decodeIfPresent(UUID.self, forKey: .accountId),
                opportunityId: try c.decodeIfPresent(UUID.self, forKey: .opportunityId),
                ownerId: try c.decodeIfPresent(UUID.self, forKey: .ownerId),
                dueAt: try c.decodeIfPresent(Date.self, forKey: .dueAt),
                done: try c.decodeIfPresent(Bool.self, forKey: .done) ?? false,
                outcome: try c.decodeIfPresent(String.self, forKey: .outcome))
        }
    }

    struct UpdateActivity: Decodable {
        let changes: ActivityChanges
        enum CodingKeys: String, CodingKey, CaseIterable { case subject, body, ownerId, dueAt }
        init(from decoder: any Decoder) throws {
            try StrictKeys.check(decoder, allowed: CodingKeys.allCases.map(\.rawValue))
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let clearDue = try c.contains(.dueAt) && c.decodeNil(forKey: .dueAt)
            changes = ActivityChanges(
                subject: try c.decodeIfPresent(String.self, forKey: .subject),
                body: try c.decodeIfPresent(String.self, forKey: .body),
                ownerId: try c.decodeIfPresent(UUID.self, forKey: .ownerId),
                dueAt: clearDue ? nil : try c.decodeIfPresent(Date.self, forKey: .dueAt),
                clearDue: clearDue)
        }
    }

    struct Complete: Decodable {
        let outcome: String?
        enum CodingKeys: String, CodingKey, CaseIterable { case outcome }
        init(from decoder: any Decoder) throws {
            try StrictKeys.check(decoder, allowed: CodingKeys.allCases.map(\.rawValue))
            outcome = try decoder.container(keyedBy: CodingKeys.self).decodeIfPresent(String.self, forKey: .outcome)
        }
    }

    func addRoutes(to group: RouterGroup<AuthenticatedContext>) {
        let database = self.database
        group.get("/accounts") { request, context in
            let session = context.session
            let params = try request.pageRequest()
            let page = try PageRequest(limit: params.limit, cursor: params.cursor)
            let zone = try request.uri.queryParameters.get("zoneId").map { text -> UUID in
                guard let id = UUID(uuidString: text) else { throw CoreError.invalid("zoneId", "must be a UUID") }
                return id
            }
            return JSONResponse(try await database.withScope(session.accessScope) { try AccountService.list(session, zoneID: zone, page: page, on: $0) })
        }
        group.post("/accounts") { request, context in
            let session = context.session
            let body = try await request.decode(as: CreateAccount.self, context: context)
            let view = try await database.withScope(session.accessScope) { try AccountService.create(session, body.input, custom: body.custom, on: $0) }
            return RecordsController.Tagged(body: view, version: view.version, status: .created)
        }
        group.get("/accounts/:id") { _, context in
            let session = context.session
            let id = try context.uuidParameter("id")
            let view = try await database.withScope(session.accessScope) { try AccountService.get(session, id: id, on: $0) }
            return RecordsController.Tagged(body: view, version: view.version)
        }
        group.patch("/accounts/:id") { request, context in
            let session = context.session
            let id = try context.uuidParameter("id")
            let expected = try request.expectedVersion()
            let body = try await request.decode(as: UpdateAccount.self, context: context)
            let view = try await database.withScope(session.accessScope) {
                try AccountService.update(session, id: id, body.changes, custom: body.custom, expectedVersion: expected, on: $0)
            }
            return RecordsController.Tagged(body: view, version: view.version)
        }
        group.delete("/accounts/:id") { request, context in
            let session = context.session
            let id = try context.uuidParameter("id")
            let expected = try request.expectedVersion()
            try await database.withScope(session.accessScope) { try AccountService.delete(session, id: id, expectedVersion: expected, on: $0) }
            return NoContent()
        }
        group.get("/accounts/:id/activities") { _, context in
            let session = context.session
            let id = try context.uuidParameter("id")
            return JSONResponse(Items(items: try await database.withScope(session.accessScope) { tx in
                _ = try AccountService.get(session, id: id, on: tx)
                return try ActivityService.timeline(session, accountID: id, on: tx)
            }))
        }
        group.get("/records/:id/activities") { _, context in
            let session = context.session
            let id = try context.uuidParameter("id")
            return JSONResponse(Items(items: try await database.withScope(session.accessScope) { tx in
                _ = try RecordService.get(session, id: id, on: tx)
                return try ActivityService.timeline(session, recordID: id, on: tx)
            }))
        }
        // Open activities overdue first (a rep's own by default), or the done ones with done=true.
        group.get("/activities") { request, context in
            let session = context.session
            let params = try request.pageRequest()
            let page = try PageRequest(limit: params.limit, cursor: params.cursor)
            let filter = ActivityFilter(
                mine: try request.booleanQuery("mine"), ownerId: try request.uuidQuery("ownerId"),
                zoneId: try request.uuidQuery("zoneId"), kind: try request.choiceQuery("kind", ActivityKind.self),
                dueFrom: try request.timestampQuery("dueFrom"), dueTo: try request.timestampQuery("dueTo"),
                done: try request.booleanQuery("done") ?? false)
            return JSONResponse(try await database.withScope(session.accessScope) { try ActivityService.list(session, filter, page: page, on: $0) })
        }
        group.get("/opportunities") { request, context in
            let session = context.session
            let params = try request.pageRequest()
            let page = try PageRequest(limit: params.limit, cursor: params.cursor)
            let filter = OpportunityFilter(
                zoneId: try request.uuidQuery("zoneId"), ownerId: try request.uuidQuery("ownerId"),
                accountId: try request.uuidQuery("accountId"), recordId: try request.uuidQuery("recordId"),
                stage: request.uri.queryParameters.get("stage").map { String($0) },
                status: try request.choiceQuery("status", OpportunityFilter.Status.self),
                updatedSince: try request.timestampQuery("updatedSince"))
            return JSONResponse(try await database.withScope(session.accessScope) { try OpportunityService.list(session, filter, page: page, on: $0) })
        }
        group.get("/opportunities/:id") { _, context in
            let session = context.session
            let id = try context.uuidParameter("id")
            let view = try await database.withScope(session.accessScope) { try OpportunityService.get(session, id: id, on: $0) }
            return RecordsController.Tagged(body: view, version: view.version)
        }
        group.post("/activities") { request, context in
            let session = context.session
            let body = try await request.decode(as: CreateActivity.self, context: context)
            return JSONResponse(try await database.withScope(session.accessScope) { try ActivityService.create(session, body.input, on: $0) }, status: .created)
        }
        group.get("/activities/:id") { _, context in
            let session = context.session
            let id = try context.uuidParameter("id")
            return JSONResponse(try await database.withScope(session.accessScope) { try ActivityService.get(session, id: id, on: $0) })
        }
        group.patch("/activities/:id") { request, context in
            let session = context.session
            let id = try context.uuidParameter("id")
            let body = try await request.decode(as: UpdateActivity.self, context: context)
            return JSONResponse(try await database.withScope(session.accessScope) { try ActivityService.update(session, id: id, body.changes, on: $0) })
        }
        group.delete("/activities/:id") { _, context in
            let session = context.session
            let id = try context.uuidParameter("id")
            try await database.withScope(session.accessScope) { try ActivityService.delete(session, id: id, on: $0) }
            return NoContent()
        }
        group.post("/activities/:id/complete") { request, context in
            let session = context.session
            let id = try context.uuidParameter("id")
            let outcome = try await request.optionalBody(as: Complete.self, context: context)?.outcome
            return JSONResponse(try await database.withScope(session.accessScope) { try ActivityService.complete(session, id: id, outcome: outcome, on: $0) })
        }
    }
}
