import ComarcaCore
import ComarcaHTTP
import ComarcaTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import PGClient
import Spreadsheet
import Testing

/// Workbooks over HTTP, through the real router: .xlsx uploads of one entity and of several
/// sheets, dry runs, refused files, the rejected-rows report and zone scope. The application,
/// the upload and the job polling are ImportsHTTPTests' own. One test at a time: each holds a
/// database, a pool and a job connection, and the whole run shares one server's connection slots.
@Suite("workbook imports over HTTP", .serialized)
struct ImportsWorkbookHTTPTests {
    typealias HTTP = ImportsHTTPTests

    // MARK: - Helpers

    /// The bytes of a workbook `build` writes with the Spreadsheet module's writer.
    static func workbook(_ build: (XLSXWriter) throws -> Void) throws -> [UInt8] {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("comarca-workbook-\(UUID().uuidString).xlsx")
        defer { try? FileManager.default.removeItem(at: url) }
        let writer = try XLSXWriter(url: url)
        try build(writer)
        try writer.finish()
        return Array(try Data(contentsOf: url))
    }

    /// Tenant A's custom record fields, configured as an operator would (`comarca fields apply`).
    static func addCustomFields(_ f: HTTPFixture) throws {
        let yaml = """
            fields:
              records:
                - {key: cp, label: {es: Código postal}, type: postal_code, aliases: [CP]}
                - {key: fecha_alta, label: {es: Fecha de alta}, type: date}
                - {key: facturacion, label: {es: Facturación}, type: money}
            """
        _ = try FieldSpecs.apply(try FieldSpecs.parse(yaml), slug: f.a.slug, dryRun: false, on: try f.database.connectAsOwner())
    }

    /// Every item of a list endpoint `path` (one page of 200), as `token` sees it.
    static func items(_ client: some TestClientProtocol, _ path: String, token: String?) async throws -> [[String: Any]] {
        let response = try await client.send(.get, path + (path.contains("?") ? "&" : "?") + "limit=200", token: token)
        #expect(response.status == .ok, "\(path): \(String(buffer: response.body))")
        return try HTTP.json(response)["items"] as? [[String: Any]] ?? []
    }

    /// Tenant A's records as `token` sees them, by e-mail.
    static func recordsByEmail(_ client: some TestClientProtocol, token: String?) async throws -> [String: [String: Any]] {
        var byEmail: [String: [String: Any]] = [:]
        for item in try await items(client, "/v1/records", token: token) {
            if let email = item["email"] as? String { byEmail[email] = item }
        }
        return byEmail
    }

    /// Uploads and waits for the job to end; returns the finished job.
    static func importFinished(
        _ client: some TestClientProtocol, token: String?, fields: [(String, String)], file: (name: String, bytes: [UInt8])
    ) async throws -> [String: Any] {
        let response = try await HTTP.upload(client, token: token, fields: fields, file: file)
        #expect(response.status == .accepted, "\(String(buffer: response.body))")
        let id = try #require(try HTTP.json(response)["id"] as? String)
        return try await HTTP.waitUntilFinished(client, id: id.lowercased(), token: token)
    }

    /// A report's lines without the BOM (which must be there), split on CRLF.
    static func reportLines(_ client: some TestClientProtocol, job id: String, kind: String, token: String?) async throws -> [String] {
        let response = try await client.send(.get, "/v1/imports/\(id)/reports/\(kind)", token: token)
        #expect(response.status == .ok, "\(String(buffer: response.body))")
        #expect(response.headers[.contentType] == "text/csv; charset=utf-8")
        let bytes = Array(response.body.readableBytesView)
        #expect(bytes.starts(with: SpreadsheetCSV.byteOrderMark), "the \(kind) report has no BOM")
        return String(decoding: bytes.dropFirst(3), as: UTF8.self).split(separator: "\r\n", omittingEmptySubsequences: false)
            .map(String.init).filter { !$0.isEmpty }
    }

    /// The cells of one report line: `;`-separated, `"` quoting with `""` for a quote.
    static func cells(_ line: String) -> [String] {
        var cells: [String] = []
        var cell = ""
        var quoted = false
        var previous: Character?
        for c in line {
            if quoted {
                if c == "\"" { quoted = false } else { cell.append(c) }
            } else if c == "\"" {
                // A quote right after a closing one is a quote inside the cell.
                if previous == "\"" { cell.append(c) }
                quoted = true
            } else if c == ";" {
                cells.append(cell)
                cell = ""
            } else {
                cell.append(c)
            }
            previous = c
        }
        cells.append(cell)
        return cells
    }

    // MARK: - One sheet

    /// Clients as an operator's Excel holds them: a phone and postal codes typed as numbers (one
    /// lost its leading zero), a date cell, decimals (one with a number format).
    static let clientsWorkbook: [UInt8] = {
        try! workbook { w in
            try w.addSheet(name: "Clientes")
            try w.appendRow([.text("Nombre"), .text("Apellidos"), .text("Correo electrónico"), .text("Teléfono"), .text("CP"),
                             .text("Fecha de alta"), .text("Facturación"), .text("Zona")])
            try w.appendRow([.text("Amaia"), .text("Etxebarria"), .text("amaia@etxebarria.es"), .number(612345678), .number(8001),
                             .date(SpreadsheetDateTime(year: 2024, month: 2, day: 29)), .number(1234.56), .text("N1")])
            try w.appendRow([.text("Unai"), .text("Goñi"), .text("unai@goni.es"), .number(944000000), .number(39001),
                             .date(SpreadsheetDateTime(year: 2023, month: 12, day: 1)), .formatted(99.9, format: "#,##0.00 €"), .text("N2")])
        }
    }()

    @Test("an .xlsx of records imports over HTTP with exact counts and its dates, postal codes and decimals readable through the API")
    func xlsxRecordsImport() async throws {
        try await HTTP.withApp { f, client, runner in
            try Self.addCustomFields(f)
            let admin = f.a.tokens["admin"]
            let job = try await Self.importFinished(client, token: admin, fields: [("entity", "records")], file: ("clientes.xlsx", Self.clientsWorkbook))
            #expect(job["status"] as? String == "completed", "\(job)")
            #expect(job["fileKind"] as? String == "xlsx")
            #expect(job["rowsTotal"] as? Int == 2)
            #expect(HTTP.counts(job) == ["created": 2, "updated": 0, "skipped": 0, "rejected": 0])
            #expect(try await HTTP.spoolIsEmpty(runner))

            let records = try await Self.recordsByEmail(client, token: admin)
            let amaia = try #require(records["amaia@etxebarria.es"], "\(records.keys.sorted())")
            #expect(amaia["displayName"] as? String == "Amaia Etxebarria")
            #expect(amaia["phone"] as? String == "+34612345678")
            #expect(amaia["zoneId"] as? String == f.a.zones["N1"]?.uuidString)
            let amaiaCustom = try #require(amaia["custom"] as? [String: Any], "\(amaia)")
            #expect(amaiaCustom["cp"] as? String == "08001", "\(amaiaCustom)")
            #expect(amaiaCustom["fecha_alta"] as? String == "2024-02-29", "\(amaiaCustom)")
            #expect(amaiaCustom["facturacion"] as? String == "1234.56", "an exact decimal: \(amaiaCustom)")

            let unai = try #require(records["unai@goni.es"])
            #expect(unai["displayName"] as? String == "Unai Goñi")
            #expect(unai["phone"] as? String == "+34944000000")
            #expect(unai["zoneId"] as? String == f.a.zones["N2"]?.uuidString)
            let unaiCustom = try #require(unai["custom"] as? [String: Any])
            #expect(unaiCustom["cp"] as? String == "39001")
            #expect(unaiCustom["fecha_alta"] as? String == "2023-12-01")
            #expect(unaiCustom["facturacion"] as? String == "99.9", "a formatted number is its value: \(unaiCustom)")

            // The padded postal code is a warning on its row, not an error.
            let errors = try await Self.reportLines(client, job: try #require(job["id"] as? String).lowercased(), kind: "errors", token: admin)
            #expect(errors.count == 2, "\(errors)")
            let padded = Self.cells(errors.last ?? "")
            #expect(padded.count == 7 && padded[1] == "2" && padded[2] == "CP" && padded[4] == "postal_code_padded" && padded[6] == "warning", "\(errors)")
        }
    }

    // MARK: - Several sheets

    /// A client's workbook with its sheets children first (the import must order them itself):
    /// activities naming their contact by e-mail, contacts naming their account by CIF or by
    /// name, accounts. `badContact` adds a contact whose e-mail is not one.
    static func clientWorkbook(badContact: Bool = false) throws -> [UInt8] {
        try workbook { w in
            try w.addSheet(name: "Actividades")
            try w.appendRow([.text("Asunto"), .text("Tipo"), .text("Vencimiento"), .text("Contacto")])
            try w.appendRow([.text("Llamada inicial"), .text("Llamada"),
                             .date(SpreadsheetDateTime(year: 2025, month: 3, day: 15, hour: 10, minute: 30, hasTime: true)), .text("jon@ibarra.es")])
            try w.appendRow([.text("Visita a fábrica"), .text("Reunión"),
                             .date(SpreadsheetDateTime(year: 2025, month: 4, day: 2, hour: 9, hasTime: true)), .text("maite@conservas.es")])
            try w.addSheet(name: "Contactos")
            try w.appendRow([.text("Nombre"), .text("Apellidos"), .text("Email"), .text("Cuenta"), .text("Zona")])
            try w.appendRow([.text("Jon"), .text("Ander"), .text("jon@ibarra.es"), .text("B95000006"), .text("N1")])
            try w.appendRow([.text("Maite"), .text("Otxoa"), .text("maite@conservas.es"), .text("Conservas del Cantábrico S.A."), .text("N2")])
            if badContact {
                try w.appendRow([.text("Koldo"), .text("Uribe"), .text("koldo-en-ibarra"), .text("B95000006"), .text("N1")])
            }
            try w.addSheet(name: "Cuentas")
            try w.appendRow([.text("Razón social"), .text("CIF"), .text("Sector"), .text("Provincia"), .text("Zona")])
            try w.appendRow([.text("Talleres Ibarra S.L."), .text("B95000006"), .text("Industria"), .text("Bizkaia"), .text("N1")])
            try w.appendRow([.text("Conservas del Cantábrico S.A."), .text("A39000005"), .text("Alimentación"), .text("Cantabria"), .text("N2")])
        }
    }

    @Test("a workbook uploaded without an entity imports accounts, contacts and activities in one job, with their links resolved")
    func multiSheetWorkbook() async throws {
        try await HTTP.withApp { f, client, _ in
            let admin = f.a.tokens["admin"]
            let job = try await Self.importFinished(client, token: admin, fields: [], file: ("cliente.xlsx", try Self.clientWorkbook()))
            #expect(job["status"] as? String == "completed", "\(job)")
            #expect(job["entity"] as? String == "workbook")
            #expect(job["rowsTotal"] as? Int == 6)
            #expect(HTTP.counts(job) == ["created": 6, "updated": 0, "skipped": 0, "rejected": 0], "\(job)")
            let jobs = try await Self.items(client, "/v1/imports", token: admin)
            #expect(jobs.count == 1, "one job for the whole workbook: \(jobs)")

            let accounts = try await Self.items(client, "/v1/accounts", token: admin)
            let ibarra = try #require(accounts.first { $0["taxId"] as? String == "B95000006" }, "\(accounts)")
            let conservas = try #require(accounts.first { $0["taxId"] as? String == "A39000005" }, "\(accounts)")
            #expect(ibarra["name"] as? String == "Talleres Ibarra S.L.")
            #expect((ibarra["zoneId"] as? String)?.uppercased() == f.a.zones["N1"]?.uuidString)

            // Contacts link to their account, by CIF and by name.
            let records = try await Self.recordsByEmail(client, token: admin)
            let jon = try #require(records["jon@ibarra.es"])
            let maite = try #require(records["maite@conservas.es"])
            #expect((jon["accountId"] as? String)?.uppercased() == (ibarra["id"] as? String)?.uppercased(), "\(jon)")
            #expect((maite["accountId"] as? String)?.uppercased() == (conservas["id"] as? String)?.uppercased(), "\(maite)")

            // Activities link to their contact: they are on the contact's timeline.
            let jonID = try #require(jon["id"] as? String)
            let jonActivities = try await Self.items(client, "/v1/records/\(jonID)/activities", token: admin)
            #expect(jonActivities.map { $0["subject"] as? String } == ["Llamada inicial"], "\(jonActivities)")
            #expect(jonActivities.first?["kind"] as? String == "call")
            #expect(jonActivities.first?["dueAt"] as? String == "2025-03-15T09:30:00.000Z", "10:30 in Madrid: \(jonActivities)")
            let maiteActivities = try await Self.items(client, "/v1/records/\(try #require(maite["id"] as? String))/activities", token: admin)
            #expect(maiteActivities.map { $0["subject"] as? String } == ["Visita a fábrica"], "\(maiteActivities)")
        }
    }

    @Test("a dry run of a workbook gives the counts the real run then gives, and writes nothing")
    func workbookDryRun() async throws {
        try await HTTP.withApp { f, client, runner in
            let admin = f.a.tokens["admin"]
            let file = ("cliente.xlsx", try Self.clientWorkbook(badContact: true))
            let before = try f.snapshotOfA()
            let dry = try await Self.importFinished(client, token: admin, fields: [("dryRun", "true")], file: file)
            #expect(dry["status"] as? String == "completed", "\(dry)")
            #expect(dry["dryRun"] as? Bool == true)
            #expect(HTTP.counts(dry) == ["created": 6, "updated": 0, "skipped": 0, "rejected": 1], "\(dry)")
            #expect(try f.snapshotOfA() == before, "the dry run wrote")
            #expect(try await HTTP.spoolIsEmpty(runner))

            let real = try await Self.importFinished(client, token: admin, fields: [], file: file)
            #expect(real["status"] as? String == "completed", "\(real)")
            #expect(real["dryRun"] as? Bool == false)
            #expect(HTTP.counts(real) == HTTP.counts(dry), "\(real)")
            #expect(try f.snapshotOfA() != before)
        }
    }

    // MARK: - Refused files

    /// The first sector of a Compound File (the container of legacy .xls and of password-protected
    /// .xlsx): its header, then a directory naming the streams Excel writes when it encrypts.
    static let encryptedWorkbook: [UInt8] = {
        func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }
        func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8((v >> (8 * $0)) & 0xFF) } }
        var header: [UInt8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1] + Array(repeating: 0, count: 16)
        header += le16(0x3E) + le16(3) + le16(0xFFFE) + le16(9) + le16(6) + Array(repeating: 0, count: 6)
        header += le32(0) + le32(1) + le32(1) + le32(0) + le32(0x1000) + le32(0xFFFF_FFFE) + le32(0) + le32(0xFFFF_FFFE) + le32(0)
        header += le32(0)  // the first FAT sector
        header += Array(repeating: 0xFF, count: 512 - header.count)
        var directory: [UInt8] = []
        for (name, type) in [("Root Entry", UInt8(5)), ("EncryptionInfo", 2), ("EncryptedPackage", 2)] {
            let utf16 = Array(name.utf16)
            var entry = utf16.flatMap(le16) + le16(0)
            entry += Array(repeating: 0, count: 64 - entry.count)
            entry += le16(UInt16(2 * (utf16.count + 1))) + [type, 1]
            entry += Array(repeating: 0, count: 128 - entry.count)
            directory += entry
        }
        directory += Array(repeating: 0, count: 512 - directory.count)
        return header + directory
    }()

    @Test(
        "rejects legacy, password-protected and non-workbook files with a 400 problem before any job exists",
        arguments: [
            ("a legacy .xls", "ventas.xls", [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1] + Array(repeating: 0, count: 504), "records", "save it as .xlsx"),
            ("a password-protected workbook", "protegido.xlsx", ImportsWorkbookHTTPTests.encryptedWorkbook, "", "without a password"),
            ("an empty zip named .xlsx", "vacio.xlsx", [0x50, 0x4B, 0x05, 0x06] + Array(repeating: 0, count: 18), "", "not an .xlsx workbook"),
        ] as [(String, String, [UInt8], String, String)]
    )
    func refusedFiles(_ label: String, name: String, bytes: [UInt8], entity: String, says: String) async throws {
        try await HTTP.withApp { f, client, runner in
            let admin = f.a.tokens["admin"]
            let before = try f.snapshotOfA()
            let response = try await HTTP.upload(client, token: admin, fields: entity.isEmpty ? [] : [("entity", entity)], file: (name, bytes))
            #expect(response.status == .badRequest, "\(label): \(String(buffer: response.body))")
            #expect(response.headers[.contentType] == "application/problem+json")
            let problem = try HTTP.json(response)
            #expect(problem["type"] as? String == "urn:comarca:problem:invalid-upload", "\(label): \(problem)")
            #expect((problem["detail"] as? String)?.contains(says) == true, "\(label): \(problem)")
            #expect((problem["errors"] as? [[String: Any]])?.compactMap { $0["field"] as? String } == ["file"], "\(label): \(problem)")
            #expect(try await HTTP.spoolIsEmpty(runner), "\(label): the upload stayed in the spool")
            #expect(try await Self.items(client, "/v1/imports", token: admin).isEmpty, "\(label): a refused upload left a job")
            #expect(try f.snapshotOfA() == before)
        }
    }

    @Test("a damaged .xlsx is taken (its signature is a workbook's) but its job fails, saying what is wrong, and writes nothing")
    func damagedWorkbookFails() async throws {
        try await HTTP.withApp { f, client, runner in
            let admin = f.a.tokens["admin"]
            let before = try f.snapshotOfA()
            let whole = Self.clientsWorkbook
            let damaged = Array(whole.prefix(whole.count / 2))
            let job = try await Self.importFinished(client, token: admin, fields: [("entity", "records")], file: ("roto.xlsx", damaged))
            #expect(job["status"] as? String == "failed", "\(job)")
            #expect(job["fileKind"] as? String == "xlsx")
            let failure = try #require(job["failure"] as? String, "\(job)")
            #expect(failure.hasPrefix("roto.xlsx"), "\(failure)")
            #expect(failure.contains("is not an Excel workbook") && failure.contains("save it from Excel as .xlsx"), "\(failure)")
            #expect(failure.components(separatedBy: "roto.xlsx").count == 2, "the file is named once: \(failure)")
            #expect(HTTP.counts(job) == ["created": 0, "updated": 0, "skipped": 0, "rejected": 0], "\(job)")
            #expect(try f.snapshotOfA() == before)
            #expect(try await HTTP.spoolIsEmpty(runner))
        }
    }

    @Test("bytes of no spreadsheet kind are read as CSV (the kind comes from the bytes, not the name); the job fails with no_header and writes nothing")
    func garbageFails() async throws {
        try await HTTP.withApp { f, client, runner in
            let admin = f.a.tokens["admin"]
            let before = try f.snapshotOfA()
            // A PNG signature, then 4 KiB of scrambled bytes.
            let garbage: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
                + (0..<4096).map { UInt8(truncatingIfNeeded: (UInt32($0) &* 2_654_435_761) >> 13) }
            let job = try await Self.importFinished(client, token: admin, fields: [("entity", "records")], file: ("foto.xlsx", garbage))
            #expect(job["status"] as? String == "failed", "\(job)")
            #expect(job["fileKind"] as? String == "csv")
            let failure = try #require(job["failure"] as? String, "\(job)")
            #expect(failure.contains("foto.xlsx cannot be imported as it is") && failure.contains("nothing was written"), "\(failure)")
            let errors = try await Self.reportLines(client, job: try #require(job["id"] as? String).lowercased(), kind: "errors", token: admin)
            #expect(errors.count == 2, "\(errors)")
            let finding = Self.cells(errors.last ?? "")
            #expect(finding.count == 7 && finding[1].isEmpty && finding[4] == "no_header" && finding[6] == "error", "\(errors)")
            #expect(try f.snapshotOfA() == before)
            #expect(try await HTTP.spoolIsEmpty(runner))
        }
    }

    // MARK: - Reports

    @Test("the rejected-rows report of an .xlsx job is CSV for Spanish Excel: the sheet's columns, the errors and the original row number")
    func rejectedRowsReport() async throws {
        try await HTTP.withApp { f, client, _ in
            try Self.addCustomFields(f)
            let admin = f.a.tokens["admin"]
            let file = try Self.workbook { w in
                try w.addSheet(name: "Clientes")
                try w.appendRow([.text("Nombre"), .text("Apellidos"), .text("NIF/CIF"), .text("Teléfono"), .text("Fecha de alta"), .text("Zona")])
                try w.appendRow([.text("Ane"), .text("Arregi"), .text("12345678Z"), .number(612000001),
                                 .date(SpreadsheetDateTime(year: 2024, month: 5, day: 6)), .text("N1")])
                try w.appendRow([.text("Mikel"), .text("Sáez; hijo"), .text("12345678A"), .number(612000002),
                                 .date(SpreadsheetDateTime(year: 2024, month: 5, day: 7)), .text("N1")])
                try w.appendRow([.text("Irati"), .text("Zabala"), .text("X1234567L"), .number(612000003),
                                 .date(SpreadsheetDateTime(year: 2024, month: 5, day: 8)), .text("N2")])
            }
            let job = try await Self.importFinished(client, token: admin, fields: [("entity", "records")], file: ("clientes.xlsx", file))
            #expect(job["status"] as? String == "completed", "\(job)")
            #expect(HTTP.counts(job) == ["created": 2, "updated": 0, "skipped": 0, "rejected": 1], "\(job)")
            let id = try #require(job["id"] as? String).lowercased()

            let response = try await client.send(.get, "/v1/imports/\(id)/reports/rejected", token: admin)
            #expect(response.headers[.contentDisposition] == "attachment; filename=\"import-\(id)-rejected.csv\"")
            let lines = try await Self.reportLines(client, job: id, kind: "rejected", token: admin)
            #expect(lines.count == 2, "\(lines)")
            #expect(lines.first == "Nombre;Apellidos;NIF/CIF;Teléfono;Fecha de alta;Zona;errores;fila original")
            let row = Self.cells(lines.last ?? "")
            #expect(row.count == 8, "\(row)")
            #expect(Array(row.prefix(3)) == ["Mikel", "Sáez; hijo", "12345678A"], "\(row)")
            // Numbers as they were typed, dates as ISO days: the file re-imports as it is.
            #expect(row[3] == "612000002" && row[4] == "2024-05-07" && row[5] == "N1", "\(row)")
            #expect(row[7] == "3", "the original row number: \(row)")
            #expect(row[6].contains("NIF/CIF"), "the error names its column: \(row)")
        }
    }

    // MARK: - Zone scope

    @Test("rejects a rep's workbook row for a zone outside their scope (zone_out_of_scope); the rep sees nothing of that zone")
    func repZoneScope() async throws {
        try await HTTP.withApp { f, client, _ in
            let admin = f.a.tokens["admin"]
            // The tenant lets its reps import records in their own zone.
            let role = try await client.send(.post, "/v1/roles", token: admin, json: """
                {"key":"rep_importador","name":"Comercial que importa","scope":"own_zone",
                 "permissions":{"records":["list","view","create","edit","import"],"imports":["list","view","import"]}}
                """)
            #expect(role.status == .created, "\(String(buffer: role.body))")
            let n1 = try #require(f.a.users["n1"]).uuidString
            let moved = try await client.send(.patch, "/v1/users/\(n1)", token: admin, json: #"{"role":"rep_importador"}"#)
            #expect(moved.status == .ok, "\(String(buffer: moved.body))")

            let rep = f.a.tokens["n1"]
            let file = try Self.workbook { w in
                try w.addSheet(name: "Clientes")
                try w.appendRow([.text("Nombre"), .text("Apellidos"), .text("Correo electrónico"), .text("Zona")])
                try w.appendRow([.text("Ane"), .text("Arregi"), .text("ane@arregi.es"), .text("N1")])
                try w.appendRow([.text("Rocío"), .text("Gallardo"), .text("rocio@gallardo.es"), .text("S1")])
            }
            let job = try await Self.importFinished(client, token: rep, fields: [("entity", "records")], file: ("mis clientes.xlsx", file))
            #expect(job["status"] as? String == "completed", "\(job)")
            #expect(HTTP.counts(job) == ["created": 1, "updated": 0, "skipped": 0, "rejected": 1], "\(job)")
            let id = try #require(job["id"] as? String).lowercased()
            let errors = try await Self.reportLines(client, job: id, kind: "errors", token: rep)
            #expect(errors.count == 2, "\(errors)")
            let refused = Self.cells(errors.last ?? "")
            #expect(refused.count == 7 && refused[1] == "3" && refused[2] == "Zona" && refused[3] == "S1" && refused[4] == "zone_out_of_scope", "\(errors)")
            #expect(refused.count == 7 && refused[6] == "error")

            // The rep sees their own zone only: the row they may import, none of S1's.
            let seen = try await Self.items(client, "/v1/records", token: rep)
            #expect(Set(seen.compactMap { $0["email"] as? String }) == ["ane@arregi.es"], "\(seen)")
            #expect(Set(seen.compactMap { ($0["zoneId"] as? String)?.uppercased() }) == [try #require(f.a.zones["N1"]).uuidString])
            let s1Record = try #require(f.a.records["S1"]).uuidString
            #expect(try await client.send(.get, "/v1/records/\(s1Record)", token: rep).status == .notFound)
            // Nor was the refused row written where the admin would see it.
            #expect(try await Self.recordsByEmail(client, token: admin)["rocio@gallardo.es"] == nil)
        }
    }
}
