import ComarcaCore
import ComarcaTestSupport
import Foundation
import PGClient
import Testing

/// Workbooks whose sheets need their own entity, mode and match; dry runs that leave the same
/// reports as real runs; mapping files whose mistakes are pointed at by line and column.
@Suite struct ImportSheetMappingTests {
    static func report(_ f: ImportFixture, _ job: ImportJobView, _ kind: ImportReportKind) throws -> [String] {
        var bytes: [UInt8] = []
        try f.app.transaction(settings: f.admin.accessScope.settings) { tx in
            try ImportService.writeReport(f.admin, id: job.id, kind: kind, on: tx) { bytes += $0 }
        }
        let text = String(decoding: bytes.dropFirst(3), as: UTF8.self)
        return text.components(separatedBy: "\r\n").filter { !$0.isEmpty }
    }

    static let firstWorkbook: [ForeignWorkbook.Sheet] = [
        .init(name: "Cuentas", rows: [
            #"["Razón social", "CIF", "Zona"]"#,
            #"["Talleres Ibarra S.L.", "B95000006", "N-BIO"]"#,
            #"["Conservas del Cantábrico S.A.", "A39000005", "N-SDR"]"#,
        ]),
        .init(name: "Contactos", rows: [
            #"["Nombre", "Email", "Cuenta", "Zona"]"#,
            #"["Jon", "jon@ibarra.es", "B95000006", "N-BIO"]"#,
            #"["Maite", "maite@conservas.es", "A39000005", "N-SDR"]"#,
        ]),
    ]

    /// Accounts change by CIF, contacts by e-mail; one new of each; one bad contact.
    static let secondWorkbook: [ForeignWorkbook.Sheet] = [
        .init(name: "Cuentas", rows: [
            #"["Razón social", "CIF", "Zona"]"#,
            #"["Talleres Ibarra Sociedad Limitada", "B95000006", "N-BIO"]"#,
            #"["Pescados del Norte S.L.", "B48000004", "N-BIO"]"#,
        ]),
        .init(name: "Contactos", rows: [
            #"["Nombre", "Email", "Cuenta", "Zona"]"#,
            #"["Jon Ander", "jon@ibarra.es", "B95000006", "N-BIO"]"#,
            #"["Koldo", "koldo@pescados.es", "B48000004", "N-BIO"]"#,
            #"["Nadie", "no es un email", "B48000004", "N-BIO"]"#,
        ]),
    ]

    static let perSheetMapping = """
        sheets:
          Cuentas: {entity: accounts, mode: upsert, match: tax_id}
          Contactos: {entity: contacts, mode: upsert, match: email}
        """

    @Test func aWorkbookUpsertsAccountsByTaxIDAndContactsByEmailInOneImport() async throws {
        try await ImportFixture.with { f in
            let first = f.directory.appendingPathComponent("primero.xlsx")
            try ForeignWorkbook.write(Self.firstWorkbook, to: first)
            let created = try f.importFile(f.admin, ImportRequest(entity: nil, fileURL: first))
            #expect(created.counts == .init(created: 4, updated: 0, skipped: 0, rejected: 0), "\(created.failure ?? "")")

            let second = f.directory.appendingPathComponent("segundo.xlsx")
            try ForeignWorkbook.write(Self.secondWorkbook, to: second)
            let mapping = try ImportMapping.parse(Self.perSheetMapping, fileName: "mapping.yaml")
            let job = try f.importFile(f.admin, ImportRequest(entity: nil, fileURL: second, mapping: mapping))
            #expect(job.status == "completed", "\(job.failure ?? "")")
            #expect(job.counts == .init(created: 2, updated: 2, skipped: 0, rejected: 1))
            #expect(try f.count("accounts") == 3)
            #expect(try f.count("records") == 3)
            let names = try f.asOperator {
                try $0.query("SELECT name FROM accounts WHERE tenant_id = \(f.tenantID) ORDER BY name").decode(String.self)
            }
            #expect(names == ["Conservas del Cantábrico S.A.", "Pescados del Norte S.L.", "Talleres Ibarra Sociedad Limitada"])
            let jon = try f.asOperator {
                try $0.query("SELECT first_name FROM records WHERE tenant_id = \(f.tenantID) AND email = 'jon@ibarra.es'").decode(String.self)
            }
            #expect(jon == ["Jon Ander"])
        }
    }

    @Test func workbookReportsNameSheetsByTheirName() async throws {
        try await ImportFixture.with { f in
            let url = f.directory.appendingPathComponent("libro.xlsx")
            try ForeignWorkbook.write(Self.secondWorkbook, to: url)
            let job = try f.importFile(f.admin, ImportRequest(entity: nil, fileURL: url))
            let errors = try Self.report(f, job, .errors)
            let sheets = errors.dropFirst().map { $0.components(separatedBy: ";").first ?? "" }
            #expect(!sheets.isEmpty && sheets.allSatisfy { $0 == "Contactos" }, "\(errors)")
            let result = try Self.report(f, job, .result).dropFirst().map { $0.components(separatedBy: ";").prefix(3).joined(separator: ";") }
            #expect(result == ["Cuentas;2;created", "Cuentas;3;created", "Contactos;2;created", "Contactos;3;created", "Contactos;4;rejected"])
            let rejected = try Self.report(f, job, .rejected)
            #expect(rejected.first == "# Contactos", "\(rejected)")
        }
    }

    @Test func aDryRunWritesTheErrorsAndRejectedRowsReportsARealRunWould() async throws {
        try await ImportFixture.with { f in
            let url = try f.file("a.csv", "Nombre;Email\nAna;ana@x.es\nLuis;mal\n")
            let dry = try f.importFile(f.admin, ImportRequest(entity: .records, fileURL: url, dryRun: true))
            #expect(dry.counts == .init(created: 1, updated: 0, skipped: 0, rejected: 1))
            #expect(try f.count("records") == 0)
            let dryErrors = try Self.report(f, dry, .errors)
            let dryRejected = try Self.report(f, dry, .rejected)
            #expect(dryRejected.count == 2, "\(dryRejected)")
            #expect(dryRejected.last?.hasPrefix("Luis;mal;") == true)

            let real = try f.importFile(f.admin, ImportRequest(entity: .records, fileURL: url))
            #expect(try Self.report(f, real, .errors) == dryErrors)
            #expect(try Self.report(f, real, .rejected) == dryRejected)
            // The CSV names its sheet by the file's name in both.
            #expect(dryErrors.last?.hasPrefix("a.csv;3;") == true, "\(dryErrors)")
        }
    }

    @Test func mappingFileErrorsSayFileLineColumnAndKey() throws {
        let text = """
            columns: {"Razón Social": company_name}
            colums: {}
            mode: upsrt
            locale: {decimal_comma: quizas, zona: x}
            sheets:
              Cuentas: {entity: cuentas, match: tax_id}
            header_row: primera
            """
        do {
            _ = try ImportMapping.parse(text, fileName: "m.yaml")
            Issue.record("a mapping with mistakes was accepted")
        } catch let error as CoreError {
            let lines = error.message.components(separatedBy: "\n")
            #expect(lines.first == "m.yaml: 6 problems", "\(error.message)")
            for expected in [
                "m.yaml:2:1: colums: unknown key 'colums'",
                "m.yaml:3:7: mode: ",
                "m.yaml:4:25: locale.decimal_comma: ",
                "m.yaml:4:33: locale.zona: unknown key 'zona'",
                "m.yaml:6:21: sheets.Cuentas.entity: ",
                "m.yaml:7:13: header_row: ",
            ] {
                #expect(lines.contains { $0.hasPrefix(expected) }, "\(expected) in \(error.message)")
            }
            #expect(!error.message.contains("Cannot initialize"), "\(error.message)")
        }
    }

    @Test func aMappingThatIsNotYAMLSaysWhere() throws {
        do {
            _ = try ImportMapping.parse("columns: {a: b\nmode: create\n", fileName: "roto.yaml")
            Issue.record("broken YAML was accepted")
        } catch let error as CoreError {
            #expect(error.message.contains("roto.yaml:"), "\(error.message)")
            #expect(error.message.range(of: #"roto\.yaml:\d+:\d+: "#, options: .regularExpression) != nil, "\(error.message)")
        }
    }
}
