import ComarcaCore
import Foundation
import Hummingbird
import PGClient

/// Admin writes to the tenant's zones, users and roles. Request bodies name only what may be
/// set: `tenantId`, ids and roles of other callers are not fields here, and unknown fields are
/// rejected rather than ignored.
struct ConfigurationController: Sendable {
    let database: Database

    struct CreateZone: Decodable {
        let code: String
        let name: String
        let parentId: UUID?
        enum CodingKeys: String, CodingKey, CaseIterable { case code, name, parentId }
        init(from decoder: any Decoder) throws {
            try StrictKeys.check(decoder, allowed: CodingKeys.allCases.map(\.rawValue))
            let c = try decoder.container(keyedBy: CodingKeys.self)
            code = try c.decode(String.self, forKey: .code)
            name = try c.decode(String.self, forKey: .name)
            parentId = try c.decodeIfPresent(UUID.self, forKey: .parentId)
        }
    }

    struct UpdateZone: Decodable {
        let name: String?
        /// Absent: unchanged; null: becomes a root; an id: moves under it.
        let parentId: UUID??
        enum CodingKeys: String, CodingKey, CaseIterable { case name, parentId }
        init(from decoder: any Decoder) throws {
            try StrictKeys.check(decoder, allowed: CodingKeys.allCases.map(\.rawValue))
            let c = try decoder.container(keyedBy: CodingKeys.self)
            name = try c.decodeIfPresent(String.self, forKey: .name)
            parentId = c.contains(.parentId) ? .some(try c.decodeIfPresent(UUID.self, forKey: .parentId)) : .none
        }
    }

    struct CreateUser: Decodable {
        let email: String
        let displayName: String
        let role: String
        let zoneId: UUID
        enum CodingKeys: String, CodingKey, CaseIterable { case email, displayName, role, zoneId }
        init(from decoder: any Decoder) throws {
            try StrictKeys.check(decoder, allowed: CodingKeys.allCases.map(\.rawValue))
            let c = try decoder.container(keyedBy: CodingKeys.self)
            email = try c.decode(String.self, forKey: .email)
            displayName = try c.decode(String.self, forKey: .displayName)
            role = try c.decode(String.self, forKey: .role)
            zoneId = try c.decode(UUID.self, forKey: .zoneId)
        }
    }

    struct UpdateUser: Decodable {
        let displayName: String?
        let role: String?
        enum CodingKeys: String, CodingKey, CaseIterable { case displayName, role }
        init(from decoder: any Decoder) throws {
            try StrictKeys.check(decoder, allowed: CodingKeys.allCases.map(\.rawValue))
            let c = try decoder.container(keyedBy: CodingKeys.self)
            displayName = try c.decodeIfPresent(String.self, forKey: .displayName)
            role = try c.decodeIfPresent(String.self, forKey: .role)
        }
    }

    struct SaveRole: Decodable {
        let key: String?
        let name: String
        let scope: RoleScope
        let permissions: [String: [String]]
        enum CodingKeys: String, CodingKey, CaseIterable { case key, name, scope, permissions }
        init(from decoder: any Decoder) throws {
            try StrictKeys.check(decoder, allowed: CodingKeys.allCases.map(\.rawValue))
            let c = try decoder.container(keyedBy: CodingKeys.self)
            key = try c.decodeIfPresent(String.self, forKey: .key)
            name = try c.decode(String.self, forKey: .name)
            scope = try c.decode(RoleScope.self, forKey: .scope)
            permissions = try c.decode([String: [String]].self, forKey: .permissions)
        }

        func definition(key: String) throws -> RoleDefinition {
            let json = String(decoding: try JSONEncoder().encode(permissions), as: UTF8.self)
            do {
                return RoleDefinition(key: key, name: name, scope: scope, permissions: try RoleDefinition.permissions(fromJSON: json))
            } catch let error as CoreError {
                throw CoreError(.invalidInput, error.message, fieldErrors: [.init(field: "permissions", message: error.message)])
            }
        }
    }

    struct Handover: Decodable {
        let userId: UUID
        let moveToZoneId: UUID?
        enum CodingKeys: String, CodingKey, CaseIterable { case userId, moveToZoneId }
        init(from decoder: any Decoder) throws {
            try StrictKeys.check(decoder, allowed: CodingKeys.allCases.map(\.rawValue))
            let c = try decoder.container(keyedBy: CodingKeys.self)
            userId = try c.decode(UUID.self, forKey: .userId)
            moveToZoneId = try c.decodeIfPresent(UUID.self, forKey: .moveToZoneId)
        }
    }

    struct Move: Decodable {
        let zoneId: UUID
        enum CodingKeys: String, CodingKey, CaseIterable { case zoneId }
        init(from decoder: any Decoder) throws {
            try StrictKeys.check(decoder, allowed: CodingKeys.allCases.map(\.rawValue))
            zoneId = try decoder.container(keyedBy: CodingKeys.self).decode(UUID.self, forKey: .zoneId)
        }
    }

    func addRoutes(to group: RouterGroup<AuthenticatedContext>) {
        let database = self.database
        // Handover: the zone gets a new rep in one step; the previous one is deactivated or moved.
        group.post("/zones/:id/handover") { request, context in
            let session = context.session
            let zoneID = try context.uuidParameter("id")
            let body = try await request.decode(as: Handover.self, context: context)
            let (zoneCode, email, moveTo) = try await database.withScope(session.accessScope) { connection in
                (try DirectoryService.zone(session, id: zoneID, on: connection).code,
                 try DirectoryService.user(session, id: body.userId, on: connection).email,
                 try body.moveToZoneId.map { try DirectoryService.zone(session, id: $0, on: connection).code })
            }
            _ = try await database.pool.withConnection { connection in
                try ZoneService.handover(session: session, zone: zoneCode, to: email, moveTo: moveTo, on: connection)
            }
            return JSONResponse(try await database.withScope(session.accessScope) { try DirectoryService.zone(session, id: zoneID, on: $0) })
        }
        group.post("/users/:id/move") { request, context in
            let session = context.session
            let userID = try context.uuidParameter("id")
            let body = try await request.decode(as: Move.self, context: context)
            let (email, zoneCode) = try await database.withScope(session.accessScope) { connection in
                (try DirectoryService.user(session, id: userID, on: connection).email,
                 try DirectoryService.zone(session, id: body.zoneId, on: connection).code)
            }
            _ = try await database.pool.withConnection { connection in
                try UserService.move(session: session, email: email, toZone: zoneCode, on: connection)
            }
            return JSONResponse(try await database.withScope(session.accessScope) { try DirectoryService.user(session, id: userID, on: $0) })
        }
        group.post("/zones") { request, context in
            let session = context.session
            let body = try await request.decode(as: CreateZone.self, context: context)
            let zone = ConfigurationService.NewZone(code: body.code, name: body.name, parentId: body.parentId)
            return JSONResponse(try await database.withScope(session.accessScope) { try ConfigurationService.createZone(session, zone, on: $0) }, status: .created)
        }
        group.patch("/zones/:id") { request, context in
            let session = context.session
            let id = try context.uuidParameter("id")
            let body = try await request.decode(as: UpdateZone.self, context: context)
            return JSONResponse(try await database.withScope(session.accessScope) {
                try ConfigurationService.updateZone(session, id: id, name: body.name, parentId: body.parentId, on: $0)
            })
        }
        group.delete("/zones/:id") { _, context in
            let session = context.session
            let id = try context.uuidParameter("id")
            try await database.withScope(session.accessScope) { try ConfigurationService.deleteZone(session, id: id, on: $0) }
            return NoContent()
        }
        group.post("/users") { request, context in
            let session = context.session
            let body = try await request.decode(as: CreateUser.self, context: context)
            let user = ConfigurationService.NewUser(email: body.email, displayName: body.displayName, role: body.role, zoneId: body.zoneId)
            return JSONResponse(try await database.withScope(session.accessScope) { try ConfigurationService.createUser(session, user, on: $0) }, status: .created)
        }
        group.patch("/users/:id") { request, context in
            let session = context.session
            let id = try context.uuidParameter("id")
            let body = try await request.decode(as: UpdateUser.self, context: context)
            return JSONResponse(try await database.withScope(session.accessScope) {
                try ConfigurationService.updateUser(session, id: id, displayName: body.displayName, role: body.role, on: $0)
            })
        }
        group.delete("/users/:id") { _, context in
            let session = context.session
            let id = try context.uuidParameter("id")
            try await database.withScope(session.accessScope) { try ConfigurationService.deactivateUser(session, id: id, on: $0) }
            return NoContent()
        }
        group.post("/roles") { request, context in
            let session = context.session
            let body = try await request.decode(as: SaveRole.self, context: context)
            guard let key = body.key else { throw CoreError.invalid("key", "required") }
            let role = try body.definition(key: key)
            return JSONResponse(try await database.withScope(session.accessScope) {
                try ConfigurationService.saveRole(session, role, creating: true, on: $0)
            }, status: .created)
        }
        group.put("/roles/:key") { request, context in
            let session = context.session
            guard let key = context.parameters.get("key") else { throw CoreError(.notFound, "role not found") }
            let body = try await request.decode(as: SaveRole.self, context: context)
            if let bodyKey = body.key, bodyKey != key { throw CoreError.invalid("key", "must match the path") }
            let role = try body.definition(key: key)
            return JSONResponse(try await database.withScope(session.accessScope) {
                try ConfigurationService.saveRole(session, role, creating: false, on: $0)
            })
        }
        group.delete("/roles/:key") { _, context in
            let session = context.session
            guard let key = context.parameters.get("key") else { throw CoreError(.notFound, "role not found") }
            try await database.withScope(session.accessScope) { try ConfigurationService.deleteRole(session, key: key, on: $0) }
            return NoContent()
        }
    }
}

/// Rejects JSON bodies with fields an endpoint does not take, so a client that sends
/// `tenantId`, `zoneId` or `role` where they are not allowed learns it at once.
enum StrictKeys {
    struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    static func check(_ decoder: any Decoder, allowed: [String]) throws {
        let container = try decoder.container(keyedBy: AnyKey.self)
        let unknown = container.allKeys.map(\.stringValue).filter { !allowed.contains($0) }.sorted()
        guard unknown.isEmpty else {
            throw CoreError(
                .invalidInput, "unknown fields: \(unknown.joined(separator: ", "))",
                fieldErrors: unknown.map { .init(field: $0, message: "not a field of this request") })
        }
    }
}
