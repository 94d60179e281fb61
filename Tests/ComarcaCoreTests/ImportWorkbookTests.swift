import ComarcaCore
import ComarcaTestSupport
import Foundation
import PGClient
import Spreadsheet
import Testing

@Suite struct ImportWorkbookTests {
    /// A client's workbook: a cover sheet, accounts, contacts and activities (in that order on
    /// purpose: the import must order them itself), plus a hidden sheet.
    static func workbook(at url: URL, date1904: Bool = false) throws {
        let writer = try XLSXWriter(url: url, date1904: date1904)
        try writer.addSheet(name: "Portada")
        try writer.appendRow([.text("Clientes de ACME — preparado por la consultora")])
        try writer.addSheet(name: "Actividades")
        try writer.appendRow([.text("Asunto"), .text("Tipo"), .text("Vencimiento"), .text("Contacto")])
        try writer.appendRow([.text("Llamada inicial"), .text("Llamada"),
                              .date(SpreadsheetDateTime(year: 2025, month: 3, day: 15, hour: 10, minute: 30, hasTime: true)), .text("jon@ibarra.es")])
        try writer.appendRow([.text("Visita"), .text("Reunión"),
                              .date(SpreadsheetDateTime(year: 2025, month: 4, day: 2, hour: 9, hasTime: true)), .text("nadie@x.es")])
        try writer.addSheet(name: "Contactos")
        try writer.appendRow([.text("Nombre"), .text("Apellidos"), .text("Email"), .text("Teléfono"), .text("CP"),
                              .text("Fecha de alta"), .text("Cuenta"), .text("Sector"), .text("Facturación"), .text("Zona")])
        try writer.appendRow([.richText(["Jo", "n"]), .text("Ander"), .formula("LOWER(\"JON@IBARRA.ES\")", cachedValue: .text("jon@ibarra.es")),
                              .number(612345678), .number(48001), .date(SpreadsheetDateTime(year: 2024, month: 2, day: 29)),
                              .text("B95000006"), .text("Industria"), .number(1234.5), .text("N-BIO")])
        try writer.appendRow([.text("Maite"), .text("Otxoa"), .text("maite@conservas.es"), .numberLiteral("6.12345679E8"), .number(8001),
                              .date(SpreadsheetDateTime(year: 2023, month: 12, day: 1)), .text("Conservas del Cantábrico S.A."),
                              .text("Alimentación"), .empty, .text("N-SDR")])
        try writer.appendRow([.text("Koldo"), .text("Uribe"), .text("koldo@ibarra.es"), .empty, .empty, .empty,
                              .text("Talleres Ibarra S.L."), .text("Industria"), .empty, .text("N-BIO")])
        try writer.appendRow([.text("Ibon"), .text("Lasa"), .text("ibon@lasa.es"), .empty, .empty, .empty,
                              .text("B95000006"), .error("#N/A"), .empty, .text("N-BIO")])
        try writer.appendRow([.text("Nerea"), .text("Sanz"), .text("nerea@sanz.es"), .empty, .empty, .empty,
                              .text("B95000006"), .empty, .empty, .text("N-BIO")], rowNumber: 9)
        try writer.addSheet(name: "Cuentas")
        try writer.appendRow([.text("Razón social"), .text("CIF"), .text("Sector"), .text("Provincia"), .text("Zona")])
        try writer.appendRow([.text("Talleres Ibarra S.L."), .text("B95000006"), .text("Industria"), .text("Bizkaia"), .text("N-BIO")])
        try writer.appendRow([.inlineText("Conservas del Cantábrico S.A."), .text("A39000005"), .text("Alimentación"), .text("Cantabria"), .text("N-SDR")])
        try writer.appendRow([.text("Talleres Ibarra S.L."), .text("B48000004"), .text("Industria"), .text("Bizkaia"), .text("N-BIO")])
        try writer.addSheet(name: "Registros", hidden: true)
        try writer.appendRow([.text("Nombre"), .text("Email")])
        try writer.appendRow([.text("Oculto"), .text("oculto@x.es")])
        try writer.finish()
    }

    @Test func aWorkbookImportsAccountsContactsAndActivitiesInDependencyOrder() async throws {
        try await ImportFixture.with { f in
            let url = f.directory.appendingPathComponent("cliente.xlsx")
            try Self.workbook(at: url)
            let job = try f.importFile(f.admin, ImportRequest(entity: nil, fileURL: url))
            #expect(job.status == "completed", "\(job.failure ?? "")")
            #expect(job.counts == .init(created: 3 + 3 + 1, updated: 0, skipped: 0, rejected: 0 + 2 + 1))
            let codes = job.warnings.map(\.code)
            #expect(codes.filter { $0 == "sheet_not_imported" }.count == 2)  // Portada, and the hidden Registros
            #expect(try f.count("accounts") == 3)  // Talleres Ibarra twice (different CIFs) and Conservas

            let sheets = try f.asOperator {
                try $0.query("SELECT sheet_index::int, row_number, action FROM import_rows WHERE tenant_id = \(f.tenantID) AND job_id = \(job.id) ORDER BY 1, 2")
                    .decode((Int, Int, String).self).map { "\($0.0):\($0.1):\($0.2)" }
            }
            // Sheets by position: 1 Actividades, 2 Contactos, 3 Cuentas.
            #expect(sheets == [
                "1:2:created", "1:3:rejected",
                "2:2:created", "2:3:created", "2:4:rejected", "2:5:rejected", "2:9:created",
                "3:2:created", "3:3:created", "3:4:created",
            ])
            let findings = try f.asOperator {
                try $0.query("SELECT sheet_index::int, row_number, code FROM import_errors WHERE tenant_id = \(f.tenantID) AND job_id = \(job.id) ORDER BY 1, 2, error_no")
                    .decode((Int, Int?, String).self).map { "\($0.0):\($0.1 ?? 0):\($0.2)" }
            }
            #expect(findings == ["1:3:record_not_found", "2:3:postal_code_padded", "2:4:account_ambiguous", "2:5:cell_error"])

            let jon = try f.asOperator {
                try $0.query("""
                    SELECT concat_ws('|', r.display_name, r.email, r.phone, r.custom->>'cp', r.custom->>'fecha_alta', r.custom->>'facturacion',
                                     a.tax_id, r.stage)
                      FROM records r JOIN accounts a ON a.tenant_id = r.tenant_id AND a.account_id = r.account_id
                     WHERE r.tenant_id = \(f.tenantID) AND r.email = 'jon@ibarra.es'
                    """).scalar(String.self)
            }
            #expect(jon == "Jon Ander|jon@ibarra.es|+34612345678|48001|2024-02-29|1234.5|B95000006|contact")
            let maite = try f.asOperator {
                try $0.query("SELECT concat_ws('|', phone, custom->>'cp') FROM records WHERE tenant_id = \(f.tenantID) AND email = 'maite@conservas.es'").scalar(String.self)
            }
            #expect(maite == "+34612345679|08001")
            #expect(try f.count("activities", "kind = 'call' AND due_at = '2025-03-15 09:30:00+00'") == 1)

            // Undo takes back the parents it created too.
            let undone = try f.app.transaction(settings: f.admin.accessScope.settings) { try ImportService.undo(f.admin, id: job.id, on: $0) }
            #expect(undone.status == "undone")
            #expect(try f.count("accounts") == 0)
            #expect(try f.count("records") == 0)
            #expect(try f.count("activities") == 0)
            // Their search tokens went with them (a statement-level trigger since sql/0016).
            #expect(try f.asOperator { try $0.query("SELECT count(*) FROM record_search_tokens WHERE tenant_id = \(f.tenantID)").scalar(Int.self) } == 0)
        }
    }

    @Test func workbookDatesIn1904SystemImportAsTheSameDays() async throws {
        try await ImportFixture.with { f in
            let url = f.directory.appendingPathComponent("mac.xlsx")
            let writer = try XLSXWriter(url: url, date1904: true)
            try writer.addSheet(name: "Hoja1")
            try writer.appendRow([.text("Nombre"), .text("Email"), .text("Fecha de alta")])
            try writer.appendRow([.text("Ana"), .text("ana@x.es"), .date(SpreadsheetDateTime(year: 2024, month: 12, day: 31))])
            try writer.finish()
            let job = try f.importFile(f.admin, ImportRequest(entity: .records, fileURL: url))
            #expect(job.counts.created == 1)
            #expect(try f.asOperator { try $0.query("SELECT custom->>'fecha_alta' FROM records WHERE tenant_id = \(f.tenantID)").scalar(String.self) } == "2024-12-31")
        }
    }

    @Test func aLegacyXLSFileIsRefusedWithWhatToDo() async throws {
        try await ImportFixture.with { f in
            let url = try f.file("viejo.xls", bytes: Data([0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1] + [UInt8](repeating: 0, count: 504)))
            let error = try #require(throws: CoreError.self) {
                try f.app.transaction(settings: f.admin.accessScope.settings) {
                    try ImportService.create(f.admin, ImportRequest(entity: .records, fileURL: url), on: $0)
                }
            }
            #expect(error.code == .invalidInput)
            #expect(error.message.contains("save it as .xlsx"))
        }
    }
}
