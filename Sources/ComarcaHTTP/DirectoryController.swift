import ComarcaCore
import Foundation
import Hummingbird
import PGClient

/// The tenant's configuration as the caller may see it: `/v1/tenant`, `/v1/zones`, `/v1/users`,
/// `/v1/roles`, `/v1/me`, `/v1/me/access`, `/v1/records/{id}/access`.
struct DirectoryController: Sendable {
    let database: Database

    struct RenameTenant: Decodable {
        let name: String
        enum CodingKeys: String, CodingKey, CaseIterable { case name }
        init(from decoder: any Decoder) throws {
            try StrictKeys.check(decoder, allowed: CodingKeys.allCases.map(\.rawValue))
            name = try decoder.container(keyedBy: CodingKeys.self).decode(String.self, forKey: .name)
        }
    }

    func addRoutes(to group: RouterGroup<AuthenticatedContext>) {
        let database = self.database
        group.get("/me") { _, context in
            let session = context.session
            return JSONResponse(try await database.withScope(session.accessScope) { try DirectoryService.me(session, on: $0) })
        }
        group.get("/me/access") { _, context in
            let session = context.session
            return JSONResponse(try await database.withScope(session.accessScope) { try DirectoryService.accessSummary(session, on: $0) })
        }
        group.get("/tenant") { _, context in
            let session = context.session
            return JSONResponse(try await database.withScope(session.accessScope) { try DirectoryService.tenant(session, on: $0) })
        }
        group.patch("/tenant") { request, context in
            let session = context.session
            let body = try await request.decode(as: RenameTenant.self, context: context)
            return JSONResponse(try await database.withScope(session.accessScope) { try DirectoryService.renameTenant(session, name: body.name, on: $0) })
        }
        group.get("/zones") { request, context in
            let session = context.session
            let params = try request.pageRequest()
            let page = try PageRequest(limit: params.limit, cursor: params.cursor)
            return JSONResponse(try await database.withScope(session.accessScope) { try DirectoryService.zones(session, page: page, on: $0) })
        }
        group.get("/zones/:id") { _, context in
            let session = context.session
            let id = try context.uuidParameter("id")
            return JSONResponse(try await database.withScope(session.accessScope) { try DirectoryService.zone(session, id: id, on: $0) })
        }
        group.get("/users") { request, context in
            let session = context.session
            let params = try request.pageRequest()
            let page = try PageRequest(limit: params.limit, cursor: params.cursor)
            let inactive = try request.booleanQuery("includeInactive") ?? false
            return JSONResponse(try await database.withScope(session.accessScope) {
                try DirectoryService.users(session, page: page, includeInactive: inactive, on: $0)
            })
        }
        group.get("/users/:id") { _, context in
            let session = context.session
            let id = try context.uuidParameter("id")
            return JSONResponse(try await database.withScope(session.accessScope) { try DirectoryService.user(session, id: id, on: $0) })
        }
        group.get("/roles") { _, context in
            let session = context.session
            return JSONResponse(Items(items: try await database.withScope(session.accessScope) { try DirectoryService.roles(session, on: $0) }))
        }
        group.get("/records/:id/access") { _, context in
            let session = context.session
            let id = try context.uuidParameter("id")
            return JSONResponse(try await database.withScope(session.accessScope) {
                try DirectoryService.recordAccess(session, recordID: id, on: $0)
            })
        }
    }
}

/// A whole (unpaginated) list.
struct Items<Item: Encodable & Sendable>: Encodable, Sendable {
    let items: [Item]
}
