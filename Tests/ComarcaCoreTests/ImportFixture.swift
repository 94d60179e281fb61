import ComarcaCore
import ComarcaTestSupport
import Foundation
import PGClient
import Testing

/// A tenant to import into: zones HQ → NORTE → {N-BIO, N-SDR}, SUR → S-SVQ; an admin; a regional
/// importer (NORTE subtree, may import records/accounts/activities); custom record fields
/// covering the import conversions. Files are written into a temporary directory per test.
struct ImportFixture {
    static let yaml = """
        tenant: {slug: acme, name: "ACME Distribuciones, S.L."}
        roles:
          - key: importador
            name: Importador regional
            scope: zone_subtree
            permissions: {records: [list, view, create, edit, import], accounts: [list, view, create, edit, import],
                          activities: [list, view, create, import], imports: [list, view, import]}
        zones:
          - code: HQ
            name: Oficina central
            children:
              - code: NORTE
                name: Región Norte
                children: [{code: N-BIO, name: Bilbao}, {code: N-SDR, name: Santander}]
              - code: SUR
                name: Región Sur
                children: [{code: S-SVQ, name: Sevilla}]
        users:
          - {email: ana@acme.es, name: Ana García, role: admin, zone: HQ}
          - {email: inaki@acme.es, name: Iñaki Etxeberria, role: importador, zone: NORTE}
          - {email: aitor@acme.es, name: Aitor Zubizarreta, role: rep, zone: N-BIO}
          - {email: marta@acme.es, name: Marta Ruiz, role: rep, zone: N-SDR}
          - {email: rocio@acme.es, name: Rocío Gallardo, role: rep, zone: S-SVQ}
        assignment:
          rules:
            - {postal_prefix: "48", zone: N-BIO}
            - {province: Cantabria, zone: N-SDR}
            - {postal_prefix: "41", zone: S-SVQ}
        fields:
          records:
            - {key: sector, type: single_choice, label: {es: Sector, en: Sector},
               options: [{code: ind, label: Industria}, {code: ali, label: Alimentación}, {code: ser, label: Servicios}]}
            - {key: facturacion, label: {es: Facturación}, type: money}
            - {key: fecha_alta, label: {es: Fecha de alta}, type: date}
            - {key: cp, label: {es: Código postal}, type: postal_code, aliases: [CP]}
        """

    let database: TestDatabase
    let app: PGConnection
    /// The second connection an import writes search tokens on, as the CLI's.
    let tokens: PGConnection
    let owner: PGConnection
    let tenantID: UUID
    let zones: [String: UUID]
    let admin: Session
    let importer: Session
    let bio: Session
    let directory: URL

    static func with(_ body: (ImportFixture) throws -> Void) async throws {
        try await TestDatabase.withMigrated { database in
            let owner = try database.connectAsOwner()
            try TenantSetup.apply(try TenantSpec.parse(yaml, fileName: "acme.yaml"), on: owner)
            let tenantID = try #require(try TenantSetup.tenantID(forSlug: "acme", on: owner))
            let (zones, users) = try owner.transaction(settings: AccessScope.operator_(tenantID: tenantID).settings) { tx in
                (
                    try tx.query("SELECT code, zone_id FROM zones WHERE tenant_id = \(tenantID)").decode((String, UUID).self),
                    try tx.query("SELECT email, user_id FROM users WHERE tenant_id = \(tenantID)").decode((String, UUID).self)
                )
            }
            let userIDs = Dictionary(uniqueKeysWithValues: users)
            let app = try database.connectAsApp()
            func session(_ email: String) throws -> Session {
                try SessionLoader.load(tenantID: tenantID, userID: try #require(userIDs[email]), on: app)
            }
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("comarca-import-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            try body(ImportFixture(
                database: database, app: app, tokens: try database.connectAsApp(), owner: owner, tenantID: tenantID, zones: Dictionary(uniqueKeysWithValues: zones),
                admin: try session("ana@acme.es"), importer: try session("inaki@acme.es"), bio: try session("aitor@acme.es"),
                directory: directory))
        }
    }

    /// Writes `text` in `encoding` (Windows-1252 via Foundation's .windowsCP1252).
    func file(_ name: String, _ text: String, encoding: String.Encoding = .utf8, bom: [UInt8] = []) throws -> URL {
        let url = directory.appendingPathComponent(name)
        var data = Data(bom)
        data.append(try #require(text.data(using: encoding, allowLossyConversion: false)))
        try data.write(to: url)
        return url
    }

    func file(_ name: String, bytes: Data) throws -> URL {
        let url = directory.appendingPathComponent(name)
        try bytes.write(to: url)
        return url
    }

    /// Creates and runs a job as `session`; returns the finished job.
    @discardableResult
    func importFile(_ session: Session, _ request: ImportRequest, batchSize: Int = 20_000) throws -> ImportJobView {
        let job = try app.transaction(settings: session.accessScope.settings) { tx in
            try ImportService.create(session, request, on: tx)
        }
        do {
            // As the CLI runs it: tokens of each batch on a second connection (sql/0019).
            return try ImportService.run(session, jobID: job.id, on: app, tokenConnection: tokens, batchSize: batchSize)
        } catch {
            return try app.transaction(settings: session.accessScope.settings) { tx in try ImportService.get(session, id: job.id, on: tx) }
        }
    }

    /// (row, action, target) of a job, in row order.
    func rows(_ job: ImportJobView) throws -> [Int: String] {
        let rows = try owner.transaction(settings: AccessScope.operator_(tenantID: tenantID).settings) { tx in
            try tx.query("SELECT row_number, action FROM import_rows WHERE tenant_id = \(tenantID) AND job_id = \(job.id) AND sheet_index >= 0")
                .decode((Int, String).self)
        }
        return Dictionary(uniqueKeysWithValues: rows)
    }

    /// row → codes of its findings (errors and warnings); file-level findings under row 0.
    func findings(_ job: ImportJobView) throws -> [Int: [String]] {
        let rows = try owner.transaction(settings: AccessScope.operator_(tenantID: tenantID).settings) { tx in
            try tx.query("""
                SELECT coalesce(row_number, 0), code FROM import_errors
                 WHERE tenant_id = \(tenantID) AND job_id = \(job.id) ORDER BY sheet_index, error_no
                """).decode((Int, String).self)
        }
        return Dictionary(grouping: rows, by: \.0).mapValues { $0.map(\.1) }
    }

    func asOperator<T>(_ body: (PGConnection) throws -> T) throws -> T {
        try owner.transaction(settings: AccessScope.operator_(tenantID: tenantID).settings, body)
    }

    /// Records of the tenant whose search tokens are not exactly their words (none, missing or extra).
    func recordsWithWrongTokens() throws -> Int {
        try asOperator { tx in
            try tx.query("""
                SELECT count(*) FROM records r
                 WHERE r.tenant_id = \(tenantID)
                   AND ARRAY(SELECT t.token FROM record_search_tokens t
                              WHERE t.tenant_id = r.tenant_id AND t.record_id = r.record_id AND t.zone_id = r.zone_id ORDER BY 1)
                       IS DISTINCT FROM
                       ARRAY(SELECT w FROM comarca.record_search_words(r.display_name, r.first_name, r.last_name, r.company_name,
                                                                      r.email, r.phone, r.tax_id) w ORDER BY 1)
                """).scalar(Int.self)
        }
    }

    func tokenCount() throws -> Int {
        try asOperator { try $0.query("SELECT count(*) FROM record_search_tokens WHERE tenant_id = \(tenantID)").scalar(Int.self) }
    }

    func count(_ table: String, _ filter: PGQuery = "true") throws -> Int {
        precondition(["records", "record_events", "accounts", "activities", "import_rows"].contains(table))
        return try asOperator { tx in
            try tx.query("SELECT count(*) FROM \(unsafeRaw: table) WHERE tenant_id = \(tenantID) AND \(filter)").scalar(Int.self)
        }
    }
}
