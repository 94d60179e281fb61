import ComarcaCore
import ComarcaTestSupport
import Foundation
import PGClient
import Testing

@Suite struct ImportEntitiesTests {
    static let accountsCSV = """
        Razón social;CIF;Sector;Provincia;Zona
        Talleres Ibarra S.L.;B95000006;Industria;Bizkaia;N-BIO
        Conservas del Cantábrico S.A.;A39000005;Alimentación;Cantabria;N-SDR
        Talleres Ibarra S.L.;B48000004;Industria;Bizkaia;N-BIO
        Sin CIF;;Servicios;;N-BIO

        """

    @Test func accountsImportAndContactsLinkByCIFOrNameWithAmbiguityReported() async throws {
        try await ImportFixture.with { f in
            let accounts = try f.importFile(f.admin, ImportRequest(entity: .accounts, fileURL: try f.file("cuentas.csv", Self.accountsCSV)))
            // The second "Talleres Ibarra" has another CIF: a different company with the same name.
            #expect(accounts.counts == .init(created: 4, updated: 0, skipped: 0, rejected: 0))
            #expect(try f.findings(accounts).isEmpty, "\(String(describing: try? f.findings(accounts)))")

            let contacts = try f.file("contactos.csv", """
                Nombre;Apellidos;Email;Cuenta;Zona
                Jon;Ander;jon@ibarra.es;B95000006;N-BIO
                Maite;Otxoa;maite@conservas.es;conservas del cantabrico s.a.;N-SDR
                Koldo;Uribe;koldo@ibarra.es;Talleres Ibarra S.L.;N-BIO
                Edurne;Sanz;edurne@nadie.es;Empresa Inventada S.L.;N-BIO
                Ibon;Lasa;ibon@nada.es;;N-BIO

                """)
            let job = try f.importFile(f.admin, ImportRequest(entity: .contacts, fileURL: contacts))
            #expect(try f.rows(job) == [2: "created", 3: "created", 4: "rejected", 5: "rejected", 6: "rejected"])
            let findings = try f.findings(job)
            #expect(findings[4] == ["account_ambiguous"])
            #expect(findings[5] == ["account_not_found"])
            #expect(findings[6] == ["required"])
            #expect(try f.count("records", "stage = 'contact' AND account_id IS NOT NULL") == 2)
        }
    }

    @Test func activitiesAttachToRecordsByEmailWithLocalDueTimes() async throws {
        try await ImportFixture.with { f in
            try f.importFile(f.admin, ImportRequest(entity: .records, fileURL: try f.file("r.csv", "Nombre;Email;Zona\nJon;jon@ibarra.es;N-BIO\n")))
            let job = try f.importFile(f.admin, ImportRequest(entity: .activities, fileURL: try f.file("a.csv", """
                Asunto;Tipo;Vencimiento;Contacto;Responsable
                Primera llamada;Llamada;15/03/2025 10:30;jon@ibarra.es;aitor@acme.es
                Visita;Reunión;31/02/2025 09:00;jon@ibarra.es;
                Demo;Reunión;16/03/2025;nadie@x.es;

                """)))
            #expect(try f.rows(job) == [2: "created", 3: "rejected", 4: "rejected"])
            #expect(try f.findings(job)[3] == ["invalid_value"])
            #expect(try f.findings(job)[4] == ["record_not_found"])
            let stored = try f.asOperator {
                try $0.query("SELECT kind, to_char(due_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'), (SELECT email FROM users u WHERE u.tenant_id = a.tenant_id AND u.user_id = a.owner_user_id) FROM activities a WHERE tenant_id = \(f.tenantID)")
                    .decode((String, String, String).self)
            }
            // 10:30 in Madrid in March (CET, UTC+1) is 09:30 UTC.
            #expect(stored.first! == ("call", "2025-03-15 09:30", "aitor@acme.es"))
        }
    }

    @Test func aMonthFirstColumnIsRecognisedFromItsData() async throws {
        try await ImportFixture.with { f in
            let job = try f.importFile(f.admin, ImportRequest(entity: .records, fileURL: try f.file("r.csv", """
                Nombre;Email;Fecha de alta
                A;a@x.es;03/04/2024
                B;b@x.es;12/25/2024
                C;c@x.es;01/02/2024

                """)))
            #expect(job.counts.created == 3)
            let dates = try f.asOperator { try $0.query("SELECT custom->>'fecha_alta' FROM records WHERE tenant_id = \(f.tenantID) ORDER BY email").decode(String.self) }
            #expect(dates == ["2024-03-04", "2024-12-25", "2024-01-02"])
        }
    }

    @Test func zonesComeFromTheTenantRulesAndTheRuleThatFiredIsKept() async throws {
        try await ImportFixture.with { f in
            let job = try f.importFile(f.importer, ImportRequest(entity: .records, fileURL: try f.file("r.csv", """
                Nombre;Email;CP
                Bilbao;a@x.es;48001
                Santander;b@x.es;39002
                Sin regla;c@x.es;28001
                Sevilla;d@x.es;41001

                """)))
            #expect(try f.rows(job) == [2: "created", 3: "created", 4: "created", 5: "rejected"])
            #expect(try f.findings(job)[5] == ["zone_out_of_scope"])
            let placed = try f.asOperator {
                try $0.query("""
                    SELECT r.display_name, z.code, r.zone_rule FROM records r JOIN zones z ON z.tenant_id = r.tenant_id AND z.zone_id = r.zone_id
                     WHERE r.tenant_id = \(f.tenantID) ORDER BY r.email
                    """).decode((String, String, String).self)
            }
            #expect(placed.map(\.1) == ["N-BIO", "N-SDR", "NORTE"])
            #expect(placed.map(\.2) == ["postal_prefix:48", "province:39", "creator"])
            var result: [UInt8] = []
            try f.app.transaction(settings: f.importer.accessScope.settings) { tx in
                try ImportService.writeReport(f.importer, id: job.id, kind: .result, on: tx) { result += $0 }
            }
            #expect(String(decoding: result, as: UTF8.self).contains(";2;created;records;"))
            #expect(String(decoding: result, as: UTF8.self).contains(";N-BIO;postal_prefix:48"))
        }
    }

    @Test func missingAccountsAreCreatedOncePerNameOnlyWhenAskedAndUndoRemovesThem() async throws {
        try await ImportFixture.with { f in
            let csv = """
                Nombre;Email;Cuenta;Zona
                Jon;jon@x.es;Ferretería Nueva S.L.;N-BIO
                Ane;ane@x.es;ferreteria nueva s.l.;N-BIO
                Mikel;mikel@x.es;B95000006;N-BIO

                """
            let refused = try f.importFile(f.admin, ImportRequest(entity: .records, fileURL: try f.file("a.csv", csv)))
            #expect(refused.counts.rejected == 3)
            #expect(try f.count("accounts") == 0)
            let job = try f.importFile(f.admin, ImportRequest(entity: .records, fileURL: try f.file("b.csv", csv), createMissingParents: true))
            #expect(try f.rows(job) == [2: "created", 3: "created", 4: "rejected"])
            #expect(try f.count("accounts") == 1)
            #expect(try f.count("records", "account_id IS NOT NULL") == 2)
            _ = try f.app.transaction(settings: f.admin.accessScope.settings) { try ImportService.undo(f.admin, id: job.id, on: $0) }
            #expect(try f.count("accounts") == 0)
        }
    }

    @Test func aTemplateFilledInImportsWithoutAMapping() async throws {
        try await ImportFixture.with { f in
            for entity in ImportEntity.allCases {
                let headers = try f.app.transaction(settings: f.admin.accessScope.settings) {
                    try ImportService.templateHeaders(f.admin, entity: entity, on: $0)
                }
                // Only the header row: the columns must all be recognised (no file problem).
                let url = try f.file("t-\(entity.rawValue).csv", headers.joined(separator: ";") + "\n")
                let job = try f.importFile(f.admin, ImportRequest(entity: entity, fileURL: url, dryRun: true))
                #expect(job.status == "completed", "\(entity.rawValue): \(job.failure ?? "")")
            }
        }
    }
}
