public import Foundation
public import PGClient

/// An account (the company a contact belongs to), with the segment fields reports group by.
public struct AccountView: Sendable, Codable, Equatable {
    public let id: UUID
    public let zoneId: UUID
    public let name: String
    public let taxId: String?
    public let sector: String?
    public let size: String?
    public let province: String?
    public let custom: [String: FieldValue]
    public let version: Int
    public let createdAt: Date
    public let updatedAt: Date
}

/// What a caller gives to create an account.
public struct AccountInput: Sendable, Codable, Equatable {
    public var name: String
    public var taxId: String?
    public var sector: String?
    public var size: String?
    public var province: String?
    /// The zone to create it in; the caller's own zone when absent or not visible to the caller.
    public var zoneId: UUID?

    public init(name: String, taxId: String? = nil, sector: String? = nil, size: String? = nil, province: String? = nil, zoneId: UUID? = nil) {
        self.name = name
        self.taxId = taxId
        self.sector = sector
        self.size = size
        self.province = province
        self.zoneId = zoneId
    }
}

/// A partial update: nil leaves a field as it is, an empty string clears it (name cannot be cleared).
public struct AccountChanges: Sendable, Codable, Equatable {
    public var name: String?
    public var taxId: String?
    public var sector: String?
    public var size: String?
    public var province: String?

    public init(name: String? = nil, taxId: String? = nil, sector: String? = nil, size: String? = nil, province: String? = nil) {
        self.name = name
        self.taxId = taxId
        self.sector = sector
        self.size = size
        self.province = province
    }
}

/// Accounts: create, read, update with If-Match, list by zone, delete. A tax id (CIF) is unique
/// in the tenant: a second account with it is a `conflict`, naming the first only when the
/// caller can see it.
public enum AccountService {
    public static func create(
        _ session: Session, _ input: AccountInput, custom: [String: FieldValue] = [:], on connection: PGConnection
    ) throws -> AccountView {
        try session.require(.create, on: .accounts)
        var zoneID = session.zoneID
        if let requested = input.zoneId, try RecordSupport.zoneIsVisible(requested, session: session, on: connection) {
            zoneID = requested
        }
        let id = try insert(session, input, zoneID: zoneID, custom: custom, on: connection)
        return try get(session, id: id, on: connection)
    }

    /// Validates and inserts; the zone is already decided (visible).
    static func insert(
        _ session: Session, _ input: AccountInput, zoneID: UUID, custom: [String: FieldValue], on connection: PGConnection
    ) throws -> UUID {
        var name: String?, taxID: String?, sector: String?, size: String?, province: String?
        try RecordSupport.collect([
            {
                name = try RecordSupport.text(input.name, field: "name")
                if name == nil { throw CoreError.invalid("name", "an account needs a name") }
            },
            { taxID = try RecordSupport.taxID(input.taxId) },
            { sector = try RecordSupport.text(input.sector, field: "sector", max: 100) },
            { size = try RecordSupport.text(input.size, field: "size", max: 50) },
            { province = try RecordSupport.text(input.province, field: "province", max: 100) },
        ])
        guard let name else { throw CoreError.invalid("name", "an account needs a name") }
        var given: [String: String] = ["name": name]
        given["tax_id"] = taxID
        given["sector"] = sector
        given["size"] = size
        given["province"] = province
        let fields = try RecordSupport.validateFields(
            entity: .accounts, builtins: given, custom: custom, stage: nil, partial: false, session: session, on: connection)
        let customValues = fields.custom
        var written = customValues
        for (key, value) in fields.builtins { written[key] = value }
        if let taxID { try rejectTaxIDInUse(taxID, excluding: nil, session: session, on: connection) }
        do {
            return try connection.query("""
                INSERT INTO accounts (tenant_id, zone_id, name, name_key, tax_id, sector, size, province, custom, created_by)
                VALUES (\(session.tenantID), \(zoneID), \(name), \(Normalize.folded(name)), \(taxID), \(sector), \(size), \(province),
                        \(RecordSupport.customJSON(customValues))::jsonb, \(session.userID))
                RETURNING account_id
                """).scalar(UUID.self)
        } catch let error as PGError where error.code == .uniqueViolation && error.constraint == "accounts_tax_id_key" {
            throw taxIDElsewhere
        } catch let error as PGError {
            throw RecordSupport.uniqueFieldConflict(error, uniqueKeys: fields.uniqueKeys, written: written) ?? error
        }
    }

    static let taxIDElsewhere = CoreError(
        .conflict, "an account with this tax id already exists elsewhere in the company",
        fieldErrors: [.init(field: "taxId", message: "an account with this tax id already exists elsewhere in the company")])

    /// A visible account with this tax id is a conflict naming it; an invisible one surfaces as
    /// the unique violation on insert (`taxIDElsewhere`).
    static func rejectTaxIDInUse(_ taxID: String, excluding: UUID?, session: Session, on connection: PGConnection) throws {
        let found = try connection.query("""
            SELECT account_id, name FROM accounts
             WHERE tenant_id = \(session.tenantID) AND tax_id = \(taxID) AND account_id IS DISTINCT FROM \(excluding)::uuid
            """).decode((UUID, String).self)
        if let (id, name) = found.first {
            throw CoreError(
                .conflict, "an account with this tax id already exists: \(name) (\(id.uuidString.lowercased()))",
                fieldErrors: [.init(field: "taxId", message: "already used by account \(id.uuidString.lowercased()) (\(name))")])
        }
    }

    static let columns: PGQuery = """
        SELECT account_id, zone_id, name, tax_id, sector, size, province, custom::text, version, created_at, updated_at,
               updated_at::text AS cursor_key
          FROM accounts
        """

    static func view(_ row: PGRow) throws -> AccountView {
        AccountView(
            id: try row.decode(at: 0), zoneId: try row.decode(at: 1), name: try row.decode(at: 2), taxId: try row.decode(at: 3),
            sector: try row.decode(at: 4), size: try row.decode(at: 5), province: try row.decode(at: 6),
            custom: try RecordSupport.custom(fromJSON: try row.decode(String.self, at: 7)), version: try row.decode(at: 8),
            createdAt: try row.decode(at: 9), updatedAt: try row.decode(at: 10))
    }

    public static func get(_ session: Session, id: UUID, on connection: PGConnection) throws -> AccountView {
        try session.require(.view, on: .accounts)
        guard let row = try connection.query("""
            \(columns) WHERE tenant_id = \(session.tenantID) AND account_id = \(id)
            """).firstRow else { throw CoreError(.notFound, "account not found") }
        return try view(row)
    }

    /// Accounts newest-updated first, in one zone (when given; it must be visible) or in every
    /// zone the caller sees.
    public static func list(_ session: Session, zoneID: UUID? = nil, page: PageRequest, on connection: PGConnection) throws -> Page<AccountView> {
        try session.require(.list, on: .accounts)
        var filter: PGQuery = "tenant_id = \(session.tenantID)"
        if let zoneID {
            guard try RecordSupport.zoneIsVisible(zoneID, session: session, on: connection) else {
                throw CoreError(.notFound, "zone not found")
            }
            filter = filter + " AND zone_id = \(zoneID)"
        } else if let zones = session.visibleZoneIDs {
            filter = filter + " AND zone_id = ANY(\(zones))"
        }
        if let after = try page.after([.timestamp, .uuid]) {
            filter = filter + " AND (updated_at, account_id) < (\(after.timestamp(0))::timestamptz, \(after.uuid(1)))"
        }
        let rows = try connection.query("""
            \(columns) WHERE \(filter)
             ORDER BY updated_at DESC, account_id DESC
             LIMIT \(page.limit + 1)
            """)
        var cursorKeys: [UUID: String] = [:]
        let views = try rows.map { row in
            let view = try view(row)
            cursorKeys[view.id] = try row.decode(String.self, at: 11)
            return view
        }
        return page.page(from: views) { [cursorKeys[$0.id] ?? "", $0.id.uuidString.lowercased()] }
    }

    public static func update(
        _ session: Session, id: UUID, _ changes: AccountChanges, custom: [String: FieldValue] = [:],
        expectedVersion: Int?, on connection: PGConnection
    ) throws -> AccountView {
        try session.require(.edit, on: .accounts)
        let rows = try connection.query("""
            SELECT name, tax_id, sector, size, province, custom::text, version FROM accounts
             WHERE tenant_id = \(session.tenantID) AND account_id = \(id) FOR UPDATE
            """).decode((String, String?, String?, String?, String?, String, Int).self)
        guard let current = rows.first else { throw CoreError(.notFound, "account not found") }
        if let expectedVersion, expectedVersion != current.6 {
            throw CoreError(.preconditionFailed, "the account has changed since version \(expectedVersion) (it is at version \(current.6)); reload it and try again")
        }
        var name = current.0, taxID = current.1, sector = current.2, size = current.3, province = current.4
        try RecordSupport.collect([
            {
                if let change = changes.name {
                    guard let value = try RecordSupport.text(change, field: "name") else { throw CoreError.invalid("name", "an account needs a name") }
                    name = value
                }
            },
            { if let change = changes.taxId { taxID = try RecordSupport.taxID(change) } },
            { if let change = changes.sector { sector = try RecordSupport.text(change, field: "sector", max: 100) } },
            { if let change = changes.size { size = try RecordSupport.text(change, field: "size", max: 50) } },
            { if let change = changes.province { province = try RecordSupport.text(change, field: "province", max: 100) } },
        ])
        var merged = try RecordSupport.custom(fromJSON: current.5)
        var changed: [String: String] = [:]
        if changes.name != nil { changed["name"] = name }
        if changes.taxId != nil { changed["tax_id"] = taxID ?? "" }
        if changes.sector != nil { changed["sector"] = sector ?? "" }
        if changes.size != nil { changed["size"] = size ?? "" }
        if changes.province != nil { changed["province"] = province ?? "" }
        var uniqueKeys: Set<String> = []
        if !changed.isEmpty || !custom.isEmpty {
            let existing = RecordSupport.existingValues(
                builtins: ["name": current.0, "tax_id": current.1, "sector": current.2, "size": current.3, "province": current.4],
                custom: merged)
            let fields = try RecordSupport.validateFields(
                entity: .accounts, builtins: changed, custom: custom, stage: nil, partial: true, existing: existing,
                session: session, on: connection)
            for (key, value) in fields.custom { merged[key] = value.isEmpty ? nil : value }
            uniqueKeys = fields.uniqueKeys
        }
        var written = merged
        for (key, value) in ["name": name, "tax_id": taxID, "sector": sector, "size": size, "province": province] {
            written[key] = value.map(FieldValue.string) ?? .null
        }
        if let taxID, taxID != current.1 { try rejectTaxIDInUse(taxID, excluding: id, session: session, on: connection) }
        do {
            try connection.execute("""
                UPDATE accounts
                   SET name = \(name), name_key = \(Normalize.folded(name)), tax_id = \(taxID), sector = \(sector),
                       size = \(size), province = \(province), custom = \(RecordSupport.customJSON(merged))::jsonb
                 WHERE tenant_id = \(session.tenantID) AND account_id = \(id) AND version = \(current.6)
                """)
        } catch let error as PGError where error.code == .uniqueViolation && error.constraint == "accounts_tax_id_key" {
            throw taxIDElsewhere
        } catch let error as PGError {
            throw RecordSupport.uniqueFieldConflict(error, uniqueKeys: uniqueKeys, written: written) ?? error
        }
        return try get(session, id: id, on: connection)
    }

    /// Deletes an account with its own activities. One that still has contacts or opportunities
    /// is a `conflict`.
    public static func delete(_ session: Session, id: UUID, expectedVersion: Int?, on connection: PGConnection) throws {
        try session.require(.delete, on: .accounts)
        let versions = try connection.query("""
            SELECT version FROM accounts WHERE tenant_id = \(session.tenantID) AND account_id = \(id) FOR UPDATE
            """).decode(Int.self)
        guard let version = versions.first else { throw CoreError(.notFound, "account not found") }
        if let expectedVersion, expectedVersion != version {
            throw CoreError(.preconditionFailed, "the account has changed since version \(expectedVersion) (it is at version \(version)); reload it and try again")
        }
        try RecordSupport.atomically(connection) {
            try connection.execute("""
                DELETE FROM activities
                 WHERE tenant_id = \(session.tenantID) AND account_id = \(id) AND record_id IS NULL AND opportunity_id IS NULL
                """)
            do {
                try connection.execute("DELETE FROM accounts WHERE tenant_id = \(session.tenantID) AND account_id = \(id)")
            } catch let error as PGError where error.code == .foreignKeyViolation {
                throw CoreError(.conflict, "the account still has contacts, opportunities or activities and cannot be deleted")
            }
        }
    }
}
