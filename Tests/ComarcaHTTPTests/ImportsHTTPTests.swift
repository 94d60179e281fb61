import ComarcaCore
@testable import ComarcaHTTP
import ComarcaTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import PGClient
import Testing

/// Imports over HTTP, through the real router: multipart upload → background job → progress,
/// reports, undo; the one-import-at-a-time rule; bad uploads; body limits; templates; mappings.
@Suite("imports over HTTP")
struct ImportsHTTPTests {
    /// The HTTP fixture's two tenants behind an application whose imports spool into a directory
    /// of the test's own.
    static func withApp(
        maxUploadBytes: Int = ImportSettings.defaultMaxUploadBytes, live: Bool = false,
        _ body: @escaping @Sendable (HTTPFixture, any TestClientProtocol, ImportJobRunner) async throws -> Void
    ) async throws {
        try await TestDatabase.withMigrated { database in
            let owner = try database.connectAsOwner()
            let fixture = HTTPFixture(
                a: try HTTPFixture.setUpTenant(slug: "alfa", on: owner, database: database, everyTable: false),
                b: try HTTPFixture.setUpTenant(slug: "beta", on: owner, database: database, everyTable: false), database: database)
            let pool = PGPool(configuration: database.appPoolConfiguration(maxConnections: 4))
            let spool = FileManager.default.temporaryDirectory.appendingPathComponent("comarca-imports-test-\(UUID().uuidString)")
            let db = Database(pool: pool)
            let runner = ImportJobRunner(database: db, settings: ImportSettings(spoolDirectory: spool, maxUploadBytes: maxUploadBytes, batchSize: 2))
            let app = buildApplication(
                configuration: HTTPConfiguration(host: "127.0.0.1", port: 0),
                dependencies: AppDependencies(database: db, migrations: try MigrationSource(directory: TestDatabase.migrationsDirectory), imports: runner),
                logger: Logger(label: "test"))
            do {
                try await app.test(live ? .live : .router) { client in try await body(fixture, client, runner) }
            } catch {
                await pool.close()
                Self.remove(spool)
                throw error
            }
            await pool.close()
            Self.remove(spool)
        }
    }

    /// The spool and the files the test put beside it.
    static func remove(_ spool: URL) {
        let manager = FileManager.default
        let parent = spool.deletingLastPathComponent()
        for name in (try? manager.contentsOfDirectory(atPath: parent.path)) ?? [] where name.hasPrefix(spool.lastPathComponent) {
            try? manager.removeItem(at: parent.appendingPathComponent(name))
        }
    }

    // MARK: - Helpers

    static let boundary = "----ComarcaTestBoundary7MA4YWxkTrZu0gW"

    /// A multipart/form-data body: text parts, then the file part.
    static func multipart(_ fields: [(String, String)], file: (name: String, bytes: [UInt8])?) -> ByteBuffer {
        var body: [UInt8] = []
        for (name, value) in fields {
            body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n".utf8)
        }
        if let file {
            body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\(file.name)\"\r\nContent-Type: text/csv\r\n\r\n".utf8)
            body += file.bytes
            body += Array("\r\n".utf8)
        }
        body += Array("--\(boundary)--\r\n".utf8)
        return ByteBuffer(bytes: body)
    }

    static func upload(
        _ client: some TestClientProtocol, token: String?, fields: [(String, String)] = [], file: (name: String, bytes: [UInt8])?
    ) async throws -> TestResponse {
        var headers: HTTPFields = [.contentType: "multipart/form-data; boundary=\(boundary)"]
        if let token { headers[.authorization] = "Bearer \(token)" }
        return try await client.execute(uri: "/v1/imports", method: .post, headers: headers, body: multipart(fields, file: file))
    }

    static func json(_ response: TestResponse) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any], "\(String(buffer: response.body))")
    }

    /// Polls the job until it is over (10 s at most).
    static func waitUntilFinished(_ client: some TestClientProtocol, id: String, token: String?) async throws -> [String: Any] {
        let deadline = Date().addingTimeInterval(10)
        while true {
            let job = try json(try await client.send(.get, "/v1/imports/\(id)", token: token))
            if let status = job["status"] as? String, ["completed", "failed", "cancelled", "undone"].contains(status) { return job }
            guard Date() < deadline else {
                Issue.record("the import did not finish in 10 s: \(job)")
                return job
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    static func counts(_ job: [String: Any]) -> [String: Int] {
        (job["counts"] as? [String: Any] ?? [:]).compactMapValues { $0 as? Int }
    }

    /// Waits for the runner to remove the job's spool directory (it does so once the job is over).
    static func spoolIsEmpty(_ runner: ImportJobRunner) async throws -> Bool {
        for _ in 0..<100 {
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: runner.settings.spoolDirectory.path)) ?? []
            if entries.isEmpty { return true }
            try await Task.sleep(for: .milliseconds(20))
        }
        return false
    }

    /// Display names of tenant A's records, as its admin sees them.
    static func recordNames(_ client: some TestClientProtocol, _ f: HTTPFixture) async throws -> Set<String> {
        let page = try json(try await client.send(.get, "/v1/records?limit=200", token: f.a.tokens["admin"]))
        return Set((page["items"] as? [[String: Any]] ?? []).compactMap { $0["displayName"] as? String })
    }

    /// Spanish-locale Excel "CSV": Windows-1252, `;`, CRLF; row 3 has a bad e-mail.
    static let spanishCSV: [UInt8] = {
        let text = """
            Nombre;Apellidos;Empresa;Correo electrónico;Teléfono;Zona
            Iñaki;Muñoz;Talleres Muñoz;inaki@munoz.es;612 345 678;N1
            José;Peña;Peña € Hijos;no-es-un-correo;612345679;N1
            Lucía;Gómez;;lucia@gomez.es;944000000;N2

            """.replacingOccurrences(of: "\n", with: "\r\n")
        return Array(text.data(using: .windowsCP1252, allowLossyConversion: false)!)
    }()

    /// A queued job made through the engine directly (nothing runs it): holds the records lock.
    /// Its file lies next to the spool (removed with it).
    static func queuedJob(_ f: HTTPFixture, _ runner: ImportJobRunner) throws -> ImportJobView {
        let app = try f.database.connectAsApp()
        let session = try SessionLoader.load(tenantID: f.a.id, userID: try #require(f.a.users["admin"]), on: app)
        let url = URL(fileURLWithPath: runner.settings.spoolDirectory.path + "-queued-\(UUID().uuidString).csv")
        try Data("Nombre;Apellidos\r\nAna;Sanz\r\n".utf8).write(to: url)
        return try app.transaction(settings: session.accessScope.settings) { tx in
            try ImportService.create(session, ImportRequest(entity: .records, fileURL: url, fileName: "cola.csv"), on: tx)
        }
    }

    // MARK: - Upload, progress, reports, undo

    @Test("a Windows-1252 ';' CSV uploads as a job that runs in the background; counts, reports and undo are exact")
    func uploadRunReportsUndo() async throws {
        try await Self.withApp { f, client, runner in
            let admin = f.a.tokens["admin"]
            let response = try await Self.upload(client, token: admin, fields: [("entity", "records")], file: ("clientes.csv", Self.spanishCSV))
            #expect(response.status == .accepted, "\(String(buffer: response.body))")
            let created = try Self.json(response)
            let id = try #require(created["id"] as? String).lowercased()
            #expect(response.headers[.location] == "/v1/imports/\(id)")
            #expect(created["fileName"] as? String == "clientes.csv")
            #expect(created["entity"] as? String == "records")

            let job = try await Self.waitUntilFinished(client, id: id, token: admin)
            #expect(job["status"] as? String == "completed", "\(job)")
            #expect(Self.counts(job) == ["created": 2, "updated": 0, "skipped": 0, "rejected": 1])
            #expect(job["rowsTotal"] as? Int == 3)
            #expect(job["fileKind"] as? String == "csv")
            #expect(try await Self.spoolIsEmpty(runner), "the upload stayed in the spool after the job")
            #expect(try await Self.recordNames(client, f).isSuperset(of: ["Iñaki Muñoz", "Lucía Gómez"]))
            // Searchable at once: the job wrote their search tokens on its second connection.
            let found = try Self.json(try await client.send(.get, "/v1/records?q=munoz%20talleres", token: admin))
            #expect((found["items"] as? [[String: Any]] ?? []).compactMap { $0["displayName"] as? String } == ["Iñaki Muñoz"])

            // The list shows it, newest first.
            let list = try Self.json(try await client.send(.get, "/v1/imports", token: admin))
            #expect((list["items"] as? [[String: Any]])?.compactMap { ($0["id"] as? String)?.lowercased() } == [id])

            // Errors: BOM, ';', the bad row with its column, value and message.
            let errors = try await client.send(.get, "/v1/imports/\(id)/reports/errors", token: admin)
            #expect(errors.status == .ok)
            #expect(errors.headers[.contentType] == "text/csv; charset=utf-8")
            #expect(errors.headers[.contentDisposition] == "attachment; filename=\"import-\(id)-errors.csv\"")
            let errorBytes = Array(errors.body.readableBytesView)
            #expect(errorBytes.starts(with: [0xEF, 0xBB, 0xBF]))
            let errorLines = String(decoding: errorBytes.dropFirst(3), as: UTF8.self).split(separator: "\r\n").map(String.init)
            #expect(errorLines.first == "hoja;fila;columna;valor;codigo;mensaje;gravedad")
            let bad = try #require(errorLines.first { $0.contains("no-es-un-correo") }, "\(errorLines)")
            let cells = bad.split(separator: ";", omittingEmptySubsequences: false).map(String.init)
            #expect(cells.count == 7)
            #expect(cells[1] == "3" && cells[2] == "Correo electrónico" && cells[3] == "no-es-un-correo" && cells[4] == "invalid_value")
            #expect(!cells[5].isEmpty && cells[6] == "error")

            // Rejected rows: the file's own layout plus the errors and the original row number.
            let rejected = try await client.send(.get, "/v1/imports/\(id)/reports/rejected", token: admin)
            #expect(rejected.status == .ok)
            let rejectedBytes = Array(rejected.body.readableBytesView)
            #expect(rejectedBytes.starts(with: [0xEF, 0xBB, 0xBF]))
            let rejectedLines = String(decoding: rejectedBytes.dropFirst(3), as: UTF8.self).split(separator: "\r\n").map(String.init)
            #expect(rejectedLines.count == 2)
            #expect(rejectedLines.first == "Nombre;Apellidos;Empresa;Correo electrónico;Teléfono;Zona;errores;fila original")
            #expect(rejectedLines.last?.hasPrefix("José;Peña;Peña € Hijos;no-es-un-correo;612345679;N1;") == true, "\(rejectedLines)")
            #expect(rejectedLines.last?.hasSuffix(";3") == true)

            let result = try await client.send(.get, "/v1/imports/\(id)/reports/result", token: admin)
            #expect(String(buffer: result.body).split(separator: "\r\n").count == 4)
            #expect(try await client.send(.get, "/v1/imports/\(id)/reports/bogus", token: admin).status == .notFound)

            // Undo: what it created is gone.
            let undone = try await client.send(.post, "/v1/imports/\(id)/undo", token: admin)
            #expect(undone.status == .ok, "\(String(buffer: undone.body))")
            #expect(try Self.json(undone)["status"] as? String == "undone")
            #expect(try await Self.recordNames(client, f).isDisjoint(with: ["Iñaki Muñoz", "Lucía Gómez"]))
            let again = try await client.send(.post, "/v1/imports/\(id)/undo", token: admin)
            #expect(again.status == .conflict)
        }
    }

    @Test("a dry run gives the counts of the real run and writes nothing")
    func dryRunWritesNothing() async throws {
        try await Self.withApp { f, client, runner in
            let admin = f.a.tokens["admin"]
            let before = try await Self.recordNames(client, f)
            let response = try await Self.upload(
                client, token: admin, fields: [("entity", "records"), ("dryRun", "true")], file: ("clientes.csv", Self.spanishCSV))
            #expect(response.status == .accepted)
            let id = try #require(try Self.json(response)["id"] as? String)
            let job = try await Self.waitUntilFinished(client, id: id, token: admin)
            #expect(job["status"] as? String == "completed")
            #expect(job["dryRun"] as? Bool == true)
            #expect(Self.counts(job) == ["created": 2, "updated": 0, "skipped": 0, "rejected": 1])
            #expect(try await Self.recordNames(client, f) == before)
            #expect(try await Self.spoolIsEmpty(runner))
        }
    }

    @Test("rejects a second import of the same entity while one is queued (409), and cancels the queued one")
    func oneImportAtATime() async throws {
        try await Self.withApp { f, client, runner in
            let admin = f.a.tokens["admin"]
            let queued = try Self.queuedJob(f, runner)
            let second = try await Self.upload(client, token: admin, fields: [("entity", "records")], file: ("clientes.csv", Self.spanishCSV))
            #expect(second.status == .conflict)
            #expect(second.headers[.contentType] == "application/problem+json")
            #expect(String(buffer: second.body).contains("urn:comarca:problem:conflict"))
            #expect(try await Self.spoolIsEmpty(runner), "a refused upload stayed in the spool")
            // A dry run checks without writing, so it is not blocked.
            let dry = try await Self.upload(client, token: admin, fields: [("entity", "records"), ("dryRun", "on")], file: ("c.csv", Self.spanishCSV))
            #expect(dry.status == .accepted)
            _ = try await Self.waitUntilFinished(client, id: try #require(try Self.json(dry)["id"] as? String), token: admin)

            let queuedID = queued.id.uuidString.lowercased()
            let shown = try Self.json(try await client.send(.get, "/v1/imports/\(queuedID)", token: admin))
            #expect(shown["status"] as? String == "queued")
            #expect(shown["rowsDone"] as? Int == 0)
            let cancelled = try await client.send(.post, "/v1/imports/\(queuedID)/cancel", token: admin)
            #expect(cancelled.status == .ok)
            #expect(try Self.json(cancelled)["status"] as? String == "cancelled")
            #expect(try await client.send(.post, "/v1/imports/\(queuedID)/cancel", token: admin).status == .conflict)
            // Now the entity is free again.
            let third = try await Self.upload(client, token: admin, fields: [("entity", "records")], file: ("clientes.csv", Self.spanishCSV))
            #expect(third.status == .accepted)
            _ = try await Self.waitUntilFinished(client, id: try #require(try Self.json(third)["id"] as? String), token: admin)
        }
    }

    @Test("jobs a previous process left queued are resumed in the background, as the users who started them")
    func resume() async throws {
        try await Self.withApp { f, client, runner in
            let queued = try Self.queuedJob(f, runner)
            // The session of the process that died still holds the job's lock for a moment (the
            // engine's advisory lock, keyed as ImportService.run keys it): the runner waits.
            let dead = try f.database.connectAsApp()
            let key = "comarca.import:" + queued.id.uuidString.lowercased()
            _ = try dead.query("SELECT pg_advisory_lock(hashtextextended(\(key), 0))")
            #expect(try await runner.resumeInterrupted() == 1)
            try await Task.sleep(for: .milliseconds(500))
            let waiting = try Self.json(try await client.send(.get, "/v1/imports/\(queued.id.uuidString)", token: f.a.tokens["admin"]))
            #expect(waiting["status"] as? String == "queued")
            _ = try dead.query("SELECT pg_advisory_unlock(hashtextextended(\(key), 0))")
            let job = try await Self.waitUntilFinished(client, id: queued.id.uuidString, token: f.a.tokens["admin"])
            #expect(job["status"] as? String == "completed", "\(job)")
            #expect(Self.counts(job)["created"] == 1)
            #expect(try await runner.resumeInterrupted() == 0)
        }
    }

    @Test("a left-behind job whose creator was deactivated is marked failed, saying why, and not tried at every start")
    func resumeOfDeactivatedCreatorFails() async throws {
        try await Self.withApp { f, client, runner in
            let queued = try Self.queuedJob(f, runner)
            let owner = try f.database.connectAsOwner()
            try owner.transaction(settings: AccessScope.operator_(tenantID: f.a.id).settings) { tx in
                try tx.execute("UPDATE users SET deactivated_at = now(), zone_id = NULL WHERE tenant_id = \(f.a.id) AND user_id = \(try #require(f.a.users["admin"]))")
            }
            #expect(try await runner.resumeInterrupted() == 0)
            let failed = try owner.transaction(settings: AccessScope.operator_(tenantID: f.a.id).settings) { tx in
                try tx.query("SELECT status, failure FROM import_jobs WHERE tenant_id = \(f.a.id) AND job_id = \(queued.id)").decode((String, String?).self)[0]
            }
            #expect(failed.0 == "failed")
            #expect(failed.1?.contains("can no longer act") == true, "\(failed)")
            #expect(try await runner.resumeInterrupted() == 0)
            _ = client
        }
    }

    // MARK: - Bad uploads and limits

    @Test("rejects a legacy .xls with a 400 problem that says to save it as .xlsx, and leaves no file behind")
    func legacyXLSIsRefused() async throws {
        try await Self.withApp { f, client, runner in
            let xls: [UInt8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1] + Array(repeating: 0, count: 504)
            let response = try await Self.upload(client, token: f.a.tokens["admin"], fields: [("entity", "records")], file: ("ventas.xls", xls))
            #expect(response.status == .badRequest)
            #expect(response.headers[.contentType] == "application/problem+json")
            let problem = try Self.json(response)
            #expect(problem["type"] as? String == "urn:comarca:problem:invalid-upload")
            #expect((problem["detail"] as? String)?.contains("save it as .xlsx") == true, "\(problem)")
            #expect((problem["errors"] as? [[String: Any]])?.first?["field"] as? String == "file")
            #expect(try await Self.spoolIsEmpty(runner))
            let list = try Self.json(try await client.send(.get, "/v1/imports", token: f.a.tokens["admin"]))
            #expect((list["items"] as? [Any])?.isEmpty == true, "a refused upload left a job")
        }
    }

    @Test(
        "rejects malformed uploads with a 400 problem naming the field",
        arguments: [
            ("no file part", [("entity", "records")], false, "file"),
            ("an unknown entity", [("entity", "clientes")], true, "entity"),
            ("an unreadable mapping", [("entity", "records"), ("mapping", "columns: [unclosed")], true, "mapping"),
            ("a mapping with an unknown key", [("entity", "records"), ("mapping", "colums: {}")], true, "mapping"),
            ("a bad flag", [("entity", "records"), ("dryRun", "quizás")], true, "dryRun"),
            ("an unknown part", [("entity", "records"), ("tenantId", "x")], true, "tenantId"),
            ("a CSV without an entity", [], true, "entity"),
            ("update without a match key", [("entity", "records"), ("mode", "update")], true, "match"),
            ("an unknown saved mapping", [("mappingName", "nada")], true, "mappingName"),
            ("a YAML alias bomb as the mapping", [("entity", "records"), ("mapping", HostileDocuments.aliasBomb(levels: 9))], true, "mapping"),
            ("a mapping nested 10 000 deep", [("entity", "records"), ("mapping", String(repeating: "[", count: 10_000))], true, "mapping"),
        ] as [(String, [(String, String)], Bool, String)]
    )
    func malformedUploads(_ label: String, fields: [(String, String)], withFile: Bool, field: String) async throws {
        try await Self.withApp { f, client, runner in
            let started = ContinuousClock.now
            let response = try await Self.upload(
                client, token: f.a.tokens["admin"], fields: fields, file: withFile ? ("clientes.csv", Self.spanishCSV) : nil)
            // Refused before any expansion: a bomb once held a core for 70 s.
            #expect(ContinuousClock.now - started < .seconds(5), "\(label)")
            #expect(response.status == .badRequest, "\(label): \(String(buffer: response.body))")
            let problem = try Self.json(response)
            #expect(problem["type"] as? String == "urn:comarca:problem:invalid-upload", "\(label)")
            let fields = (problem["errors"] as? [[String: Any]])?.compactMap { $0["field"] as? String } ?? []
            #expect(fields.contains(field), "\(label): \(problem)")
            #expect(try await Self.spoolIsEmpty(runner), "\(label): the upload stayed in the spool")
        }
    }

    @Test("rejects a body that is not multipart/form-data, or one cut before its closing boundary")
    func notMultipart() async throws {
        try await Self.withApp { f, client, _ in
            let json = try await client.send(.post, "/v1/imports", token: f.a.tokens["admin"], json: #"{"entity":"records"}"#)
            #expect(json.status == .badRequest)
            #expect(String(buffer: json.body).contains("urn:comarca:problem:invalid-upload"))
            var cut = Self.multipart([("entity", "records")], file: ("c.csv", Self.spanishCSV))
            cut.moveWriterIndex(to: cut.writerIndex - 10)
            let truncated = try await client.execute(
                uri: "/v1/imports", method: .post,
                headers: [.authorization: "Bearer \(f.a.tokens["admin"]!)", .contentType: "multipart/form-data; boundary=\(Self.boundary)"],
                body: cut)
            #expect(truncated.status == .badRequest)
        }
    }

    @Test("the 1 MiB body limit still holds on other routes, while imports take larger files up to their own limit")
    func bodyLimits() async throws {
        // Over a real socket, so the upload arrives in many chunks.
        try await Self.withApp(maxUploadBytes: 3 << 20, live: true) { f, client, runner in
            let admin = f.a.tokens["admin"]
            let big = #"{"firstName":""# + String(repeating: "a", count: (1 << 20) + 1024) + #""}"#
            let tooLarge = try await client.send(.post, "/v1/records", token: admin, json: big)
            #expect(tooLarge.status == .contentTooLarge)
            #expect(String(buffer: tooLarge.body).contains("urn:comarca:problem:body-too-large"))

            // 2 MiB: over the JSON limit, under the import limit.
            var csv = Array("Nombre;Apellidos\r\n".utf8)
            let row = Array(("Ana;" + String(repeating: "s", count: 30_000) + "\r\n").utf8)
            while csv.count < 2 << 20 { csv += row }
            let accepted = try await Self.upload(client, token: admin, fields: [("entity", "records"), ("dryRun", "true")], file: ("grande.csv", csv))
            #expect(accepted.status == .accepted, "\(String(buffer: accepted.body))")
            let id = try #require(try Self.json(accepted)["id"] as? String)
            let job = try await Self.waitUntilFinished(client, id: id, token: admin)
            #expect(job["fileKind"] as? String == "csv")

            // 4 MiB: over the import limit.
            csv += csv
            let refused = try await Self.upload(client, token: admin, fields: [("entity", "records")], file: ("enorme.csv", csv))
            #expect(refused.status == .contentTooLarge)
            #expect(String(buffer: refused.body).contains("urn:comarca:problem:body-too-large"))
            #expect(try await Self.spoolIsEmpty(runner))
        }
    }

    // MARK: - Templates and mappings

    @Test("the template has the tenant's header labels for Spanish Excel and imports back as it is")
    func templateRoundTrip() async throws {
        try await Self.withApp { f, client, _ in
            let admin = f.a.tokens["admin"]
            let template = try await client.send(.get, "/v1/imports/templates/records", token: admin)
            #expect(template.status == .ok)
            #expect(template.headers[.contentType] == "text/csv; charset=utf-8")
            #expect(template.headers[.contentDisposition] == "attachment; filename=\"import-template-records.csv\"")
            let bytes = Array(template.body.readableBytesView)
            #expect(bytes.starts(with: [0xEF, 0xBB, 0xBF]))
            let header = String(decoding: bytes.dropFirst(3), as: UTF8.self)
            #expect(header == "Nombre;Apellidos;Empresa;Correo electrónico;Teléfono;NIF/CIF;Origen;Campaña;ID externo;Zona;Propietario;Cuenta;Etapa;Motivo de descalificación\r\n")
            #expect(try await client.send(.get, "/v1/imports/templates/opportunities", token: admin).status == .notFound)
            let accounts = String(buffer: try await client.send(.get, "/v1/imports/templates/accounts", token: admin).body)
            #expect(accounts.contains("Razón social;CIF;Sector;Tamaño;Provincia;Zona"))

            // Filled in, the template imports with every column recognised.
            let filled = bytes + Array("Ane;Goikoetxea;Talleres Ane;ane@talleres.es;612000111;;Web;;T-1;N1;n1@alfa.test;;Objetivo;\r\n".utf8)
            let response = try await Self.upload(client, token: admin, fields: [("entity", "records")], file: ("plantilla.csv", filled))
            #expect(response.status == .accepted)
            let job = try await Self.waitUntilFinished(client, id: try #require(try Self.json(response)["id"] as? String), token: admin)
            #expect(job["status"] as? String == "completed", "\(job)")
            #expect(Self.counts(job)["created"] == 1, "\(job)")
            #expect((job["warnings"] as? [Any])?.isEmpty == true, "\(job)")
        }
    }

    @Test("a saved mapping is listed, checked strictly, and used by name (its entity too)")
    func savedMappings() async throws {
        try await Self.withApp { f, client, _ in
            let admin = f.a.tokens["admin"]
            let saved = try await client.send(.put, "/v1/import-mappings/clientes web", token: admin,
                json: #"{"entity":"records","mapping":{"columns":{"Mail":"email","Nom":"first_name"},"locale":{"date_order":"dmy"}}}"#)
            #expect(saved.status == .ok, "\(String(buffer: saved.body))")
            let list = try Self.json(try await client.send(.get, "/v1/import-mappings", token: admin))
            let items = try #require(list["items"] as? [[String: Any]])
            #expect(items.count == 1 && items[0]["name"] as? String == "clientes web" && items[0]["entity"] as? String == "records")

            let unknownKey = try await client.send(.put, "/v1/import-mappings/x", token: admin, json: #"{"entity":"records","mapping":{"colums":{}}}"#)
            #expect(unknownKey.status.code == 422)
            let unknownField = try await client.send(.put, "/v1/import-mappings/x", token: admin, json: #"{"entity":"records","mapping":{},"tenantId":"x"}"#)
            #expect(unknownField.status.code == 422)
            let badEntity = try await client.send(.put, "/v1/import-mappings/x", token: admin, json: #"{"entity":"deals","mapping":{}}"#)
            #expect(badEntity.status.code == 422)

            // Tenant B's mapping of the same name is B's own.
            #expect(try await client.send(.put, "/v1/import-mappings/clientes web", token: f.b.tokens["admin"],
                json: #"{"entity":"accounts","mapping":{}}"#).status == .ok)
            let stillA = try Self.json(try await client.send(.get, "/v1/import-mappings", token: admin))
            #expect((stillA["items"] as? [[String: Any]])?.first?["entity"] as? String == "records")

            let csv = Array("Nom;Mail;Zona\r\nMiren;miren@ejemplo.es;N1\r\n".utf8)
            let response = try await Self.upload(client, token: admin, fields: [("mappingName", "clientes web")], file: ("web.csv", csv))
            #expect(response.status == .accepted, "\(String(buffer: response.body))")
            let job = try await Self.waitUntilFinished(client, id: try #require(try Self.json(response)["id"] as? String), token: admin)
            #expect(job["entity"] as? String == "records")
            #expect(Self.counts(job)["created"] == 1, "\(job)")
        }
    }

    // MARK: - Who may

    @Test("rejects a rep's upload before reading it; another tenant's uploads and jobs stay apart")
    func isolation() async throws {
        try await Self.withApp { f, client, runner in
            let rep = try await Self.upload(client, token: f.a.tokens["n1"], fields: [("entity", "records")], file: ("c.csv", Self.spanishCSV))
            #expect(rep.status == .forbidden)
            #expect(try await Self.spoolIsEmpty(runner))

            let ofA = try Self.queuedJob(f, runner)
            let idA = ofA.id.uuidString.lowercased()
            let other = try await Self.upload(client, token: f.b.tokens["admin"], fields: [("entity", "records")], file: ("c.csv", Self.spanishCSV))
            #expect(other.status == .accepted, "tenant A's queued import must not block tenant B")
            let idB = try #require(try Self.json(other)["id"] as? String).lowercased()
            _ = try await Self.waitUntilFinished(client, id: idB, token: f.b.tokens["admin"])

            let listA = String(buffer: try await client.send(.get, "/v1/imports", token: f.a.tokens["admin"]).body).lowercased()
            #expect(listA.contains(idA) && !listA.contains(idB))
            let listB = String(buffer: try await client.send(.get, "/v1/imports", token: f.b.tokens["admin"]).body).lowercased()
            #expect(listB.contains(idB) && !listB.contains(idA))
            for (method, path) in [(HTTPRequest.Method.get, "/v1/imports/\(idA)"), (.get, "/v1/imports/\(idA)/reports/errors"),
                                   (.post, "/v1/imports/\(idA)/cancel"), (.post, "/v1/imports/\(idA)/undo")] {
                #expect(try await client.send(method, path, token: f.b.tokens["admin"]).status == .notFound, "\(method) \(path)")
            }
            let stillQueued = try Self.json(try await client.send(.get, "/v1/imports/\(idA)", token: f.a.tokens["admin"]))
            #expect(stillQueued["status"] as? String == "queued")
            #expect(stillQueued["cancelRequested"] as? Bool == false)
        }
    }
}

/// The streaming multipart parser on its own: any chunking gives the same parts.
@Suite("multipart parser")
struct MultipartParserTests {
    static let body = Array("""
        preamble to ignore\r
        --XyZ\r
        Content-Disposition: form-data; name="entity"\r
        \r
        records\r
        --XyZ   \r
        Content-Disposition: form-data; name="file"; filename="C:\\Users\\ana\\pe\\"dro\\"; y.csv"\r
        Content-Type: text/csv\r
        \r
        a;b --XyZ\r
        --Xy\r
        \r
        --XyZ\r
        Content-Disposition: form-data;\r
          name=empty; filename*=UTF-8''na%C3%AFve%20%E2%82%AC.csv\r
        \r
        \r
        --XyZ--\r
        epilogue
        """.utf8)

    static func parse(_ body: [UInt8], splitAt cuts: [Int]) throws -> [(MultipartPartHeaders, [UInt8])] {
        var parser = MultipartParser(boundary: "XyZ")
        var events: [MultipartParser.Event] = []
        var from = 0
        for cut in cuts + [body.count] {
            events += try parser.feed(body[from..<cut])
            from = cut
        }
        try parser.finish()
        var parts: [(MultipartPartHeaders, [UInt8])] = []
        for event in events {
            switch event {
            case .part(let headers): parts.append((headers, []))
            case .body(let bytes): parts[parts.count - 1].1 += bytes
            case .partEnd: break
            }
        }
        return parts
    }

    @Test("parts, quoted and extended file names, padding and boundary look-alikes, at every split point")
    func everySplit() throws {
        let whole = try Self.parse(Self.body, splitAt: [])
        #expect(whole.map(\.0.name) == ["entity", "file", "empty"])
        #expect(whole[0].1 == Array("records".utf8))
        #expect(whole[1].0.fileName == "pe\"dro\"; y.csv")
        #expect(whole[1].0.contentType == "text/csv")
        #expect(whole[1].1 == Array("a;b --XyZ\r\n--Xy\r\n".utf8))
        #expect(whole[2].0.fileName == "naïve €.csv")
        #expect(whole[2].1.isEmpty)
        for cut in 1..<Self.body.count {
            let split = try Self.parse(Self.body, splitAt: [cut])
            #expect(split.map(\.0) == whole.map(\.0) && split.map(\.1) == whole.map(\.1), "split at \(cut)")
        }
        let bytewise = try Self.parse(Self.body, splitAt: Array(1..<Self.body.count))
        #expect(bytewise.map(\.1) == whole.map(\.1))
    }

    @Test("rejects a body without its closing boundary, a part without a name, and a boundary line without CRLF")
    func malformed() {
        #expect(throws: CoreError.self) { try MultipartParserTests.parse(Array("--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx".utf8), splitAt: []) }
        #expect(throws: CoreError.self) { try MultipartParserTests.parse(Array("--XyZ\r\nContent-Type: text/plain\r\n\r\nx\r\n--XyZ--".utf8), splitAt: []) }
        #expect(throws: CoreError.self) { try MultipartParserTests.parse(Array("--XyZ junk\r\n".utf8), splitAt: []) }
    }

    @Test("the reader stops with 413 as soon as a body without Content-Length passes its limit")
    func readerLimit() async throws {
        let chunks = [Array("--XyZ\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\n".utf8)]
            + Array(repeating: Array(repeating: UInt8(ascii: "x"), count: 64), count: 10)
        let body = AsyncStream<ByteBuffer> { continuation in
            for chunk in chunks { continuation.yield(ByteBuffer(bytes: chunk)) }
            continuation.finish()
        }
        let reader = MultipartReader(body: body, boundary: "XyZ", limit: 300)
        #expect(try await reader.nextPart()?.name == "file")
        var received = 0
        await #expect(throws: HTTPError.self) {
            while let chunk = try await reader.nextChunk() { received += chunk.readableBytes }
        }
        #expect(received < 300)
        #expect(reader.failure is HTTPError)
    }

    @Test("reads the boundary from the Content-Type, quoted or not; other types have none")
    func boundaries() {
        #expect(MultipartParser.boundary(contentType: "multipart/form-data; boundary=abc") == "abc")
        #expect(MultipartParser.boundary(contentType: "Multipart/Form-Data; charset=utf-8; boundary=\"a b:c\"") == "a b:c")
        #expect(MultipartParser.boundary(contentType: "application/json") == nil)
        #expect(MultipartParser.boundary(contentType: "multipart/form-data") == nil)
        #expect(MultipartParser.boundary(contentType: "multipart/form-data; boundary=" + String(repeating: "x", count: 71)) == nil)
    }

    @Test("keeps a client's file name safe as a file name")
    func safeNames() {
        #expect(ImportUpload.safeFileName("clientes 2025.csv") == "clientes 2025.csv")
        #expect(ImportUpload.safeFileName("..") == "upload")
        #expect(ImportUpload.safeFileName(nil) == "upload")
        #expect(ImportUpload.safeFileName("a\u{0}b\nc.csv") == "abc.csv")
        #expect(ImportUpload.safeFileName(String(repeating: "ñ", count: 300) + ".csv").utf8.count <= 200)
    }
}
