import ComarcaCore
import Foundation
import Hummingbird
import PGClient

/// The tenant's field specs, so clients can build forms and imports can map columns:
/// `GET /v1/fields/{entity}` (records, accounts, activities, opportunities).
struct FieldsController: Sendable {
    let database: Database

    struct EntityFields: Encodable, Sendable {
        let entity: String
        let fields: [FieldSpec]
    }

    func addRoutes(to group: RouterGroup<AuthenticatedContext>) {
        let database = self.database
        group.get("/fields/:entity") { request, context in
            let session = context.session
            guard let name = context.parameters.get("entity"), let entity = FieldEntity(rawValue: name),
                let permission = Entity(rawValue: entity.rawValue)
            else { throw CoreError(.notFound, "no such entity") }
            try session.require(.view, on: permission)
            let includeArchived = try request.booleanQuery("includeArchived") ?? false
            let set = try await database.withScope(session.accessScope) { try FieldSpecs.load(tenantID: session.tenantID, entity: entity, on: $0) }
            return JSONResponse(EntityFields(entity: entity.rawValue, fields: includeArchived ? set.fields : set.active))
        }
    }
}
