import ComarcaCore
import ComarcaTestSupport
import Foundation
import PGClient
import Testing

@Suite struct ImportTests {
    /// Spanish-locale Excel "CSV": Windows-1252, `;`, a title above the header, decimal commas,
    /// dd/mm/yyyy, a phone Excel turned into scientific notation, a postal code that lost its
    /// leading zero, an invalid NIF, a duplicate e-mail inside the file, a row for a zone the
    /// importer cannot see and a total line at the bottom.
    static let spanishCSV = """
        Listado de clientes potenciales - exportado 2026;;;;;;;;;;
        ;;;;;;;;;;
        Nombre;Apellidos;Empresa;Correo electrónico;Teléfono;NIF/CIF;Sector;Facturación;Fecha de alta;CP;Zona
        Iñaki;Muñoz;Talleres Muñoz;inaki@munoz.es;612 345 678;12345678Z;Industria;1.234,56;31/12/2024;48001;N-BIO
        José;Peña;Peña € Hijos;jose@pena.es;6,12345679E+08;X1234567L;Servicios;2.000,00;05/01/2025;8001;N-SDR
        Lucía;Gómez;;lucia@gomez.es;944000000;12345678A;Alimentación;;15/02/2025;;N-BIO
        Pedro;Ruiz;;INAKI@munoz.es;;;;;;;N-BIO
        Rocío;Sur;;rocio@sur.es;;;;;;;S-SVQ
        Total;;;;;;;3.234,56;;;

        """

    @Test func windows1252SemicolonCSVImportsEachRowAsExpected() async throws {
        try await ImportFixture.with { f in
            let url = try f.file("clientes.csv", Self.spanishCSV.replacingOccurrences(of: "\n", with: "\r\n"), encoding: .windowsCP1252)
            let job = try f.importFile(f.importer, ImportRequest(entity: .records, fileURL: url))
            #expect(job.status == "completed", "\(job.failure ?? "")")
            #expect(job.counts == .init(created: 2, updated: 0, skipped: 0, rejected: 3))
            #expect(try f.rows(job) == [4: "created", 5: "created", 6: "rejected", 7: "rejected", 8: "rejected"])
            let findings = try f.findings(job)
            #expect(findings[5] == ["postal_code_padded"])
            #expect(findings[6] == ["invalid_value"])
            #expect(findings[7] == ["duplicate_in_file"])
            #expect(findings[8] == ["zone_out_of_scope"])
            #expect(job.warnings.map(\.code).contains("total_row"))
            #expect(job.warnings.map(\.code).contains("notes_above_header"))

            let stored = try f.asOperator { tx in
                try tx.query("""
                    SELECT concat_ws('|', r.company_name, r.phone, r.tax_id, r.custom->>'facturacion', r.custom->>'fecha_alta',
                           r.custom->>'cp', r.custom->>'sector', z.code, r.stage, r.source)
                      FROM records r JOIN zones z ON z.tenant_id = r.tenant_id AND z.zone_id = r.zone_id
                     WHERE r.tenant_id = \(f.tenantID) ORDER BY r.email
                    """).decode(String.self)
            }
            #expect(stored.count == 2)
            #expect(stored[0] == "Talleres Muñoz|+34612345678|12345678Z|1234.56|2024-12-31|48001|ind|N-BIO|target|import")
            #expect(stored[1] == "Peña € Hijos|+34612345679|X1234567L|2000|2025-01-05|08001|ser|N-SDR|target|import")
            // Every created record has its lifecycle event.
            #expect(try f.count("record_events", "kind = 'created'") == 2)
        }
    }
}

@Suite struct ImportModesTests {
    static let csv = """
        Código externo,Nombre,Apellidos,Email,Teléfono,Sector
        EXT-1,Ana,Sanz,ana@sanz.es,612000001,Industria
        EXT-2,Luis,Mora,luis@mora.es,612000002,Servicios
        EXT-3,Eva,Gil,eva@gil.es,612000003,

        """

    @Test func aCampaignThatIsNotAnIDRejectsItsRowAndTheOthersImport() async throws {
        try await ImportFixture.with { f in
            let url = try f.file("campanas.csv", "Nombre;Email;campaign_id\nAna;ana@x.es;Primavera 2026\nLuis;luis@x.es;\n")
            let job = try f.importFile(f.admin, ImportRequest(entity: .records, fileURL: url))
            #expect(job.status == "completed", "\(job)")
            #expect(job.counts.created == 1)
            #expect(job.counts.rejected == 1)
            #expect(try f.findings(job)[2] == ["invalid_value"])
        }
    }

    @Test func upsertingTheSameFileTwiceCreatesNothingNew() async throws {
        try await ImportFixture.with { f in
            let url = try f.file("a.csv", Self.csv, bom: [0xEF, 0xBB, 0xBF])
            let request = ImportRequest(entity: .records, fileURL: url, mapping: Self.externalIDMapping, mode: .upsert, match: .externalID)
            let first = try f.importFile(f.admin, request)
            #expect(first.counts == .init(created: 3, updated: 0, skipped: 0, rejected: 0))
            let second = try f.importFile(f.admin, request)
            #expect(second.counts == .init(created: 0, updated: 0, skipped: 3, rejected: 0))
            #expect(second.sameFileAs == [first.id])
            #expect(try f.count("records") == 3)
        }
    }

    static var externalIDMapping: ImportMapping {
        var mapping = ImportMapping()
        mapping.columns = ["Código externo": "external_id"]
        return mapping
    }

    @Test func upsertUpdatesChangedRowsAndUndoPutsTheBeforeImageBack() async throws {
        try await ImportFixture.with { f in
            let first = try f.file("a.csv", Self.csv)
            try f.importFile(f.admin, ImportRequest(entity: .records, fileURL: first, mapping: Self.externalIDMapping, mode: .upsert, match: .externalID))
            let changed = try f.file("b.csv", """
                Código externo,Nombre,Teléfono,Sector
                EXT-1,Ana María,612000001,Alimentación
                EXT-4,Nuevo,612000004,

                """)
            let job = try f.importFile(f.admin, ImportRequest(entity: .records, fileURL: changed, mapping: Self.externalIDMapping, mode: .upsert, match: .externalID))
            #expect(job.counts == .init(created: 1, updated: 1, skipped: 0, rejected: 0))
            let after = try f.asOperator { try $0.query("SELECT display_name, custom->>'sector', version FROM records WHERE tenant_id = \(f.tenantID) AND external_id = 'EXT-1'").decode((String, String, Int).self) }
            #expect(after.first! == ("Ana María Sanz", "ali", 2))

            let undone = try f.app.transaction(settings: f.admin.accessScope.settings) { try ImportService.undo(f.admin, id: job.id, on: $0) }
            #expect(undone.status == "undone")
            let restored = try f.asOperator { try $0.query("SELECT display_name, custom->>'sector' FROM records WHERE tenant_id = \(f.tenantID) AND external_id = 'EXT-1'").decode((String, String).self) }
            #expect(restored.first! == ("Ana Sanz", "ind"))
            #expect(try f.count("records") == 3)
            #expect(try f.count("records", "external_id = 'EXT-4'") == 0)
        }
    }

    @Test func dryRunGivesTheCountsOfTheRealRunAndWritesNothing() async throws {
        try await ImportFixture.with { f in
            let url = try f.file("a.csv", Self.csv + "EXT-5,Rosa,Paz,not-an-email,,\n")
            let dry = try f.importFile(f.admin, ImportRequest(entity: .records, fileURL: url, mapping: Self.externalIDMapping, dryRun: true))
            #expect(dry.status == "completed" && dry.dryRun)
            #expect(try f.count("records") == 0)
            #expect(try f.findings(dry)[5] == ["invalid_value"])
            let real = try f.importFile(f.admin, ImportRequest(entity: .records, fileURL: url, mapping: Self.externalIDMapping))
            #expect(real.counts == dry.counts)
            #expect(dry.counts == .init(created: 3, updated: 0, skipped: 0, rejected: 1))
        }
    }

    @Test func allOrNothingWritesNothingWhenOneRowIsBad() async throws {
        try await ImportFixture.with { f in
            let url = try f.file("a.csv", Self.csv + "EXT-5,Rosa,Paz,not-an-email,,\n")
            let job = try f.importFile(f.admin, ImportRequest(entity: .records, fileURL: url, mapping: Self.externalIDMapping, allOrNothing: true))
            #expect(job.status == "failed")
            #expect(job.failure?.contains("all-or-nothing") == true)
            #expect(try f.count("records") == 0)
            let good = try f.file("b.csv", Self.csv)
            let ok = try f.importFile(f.admin, ImportRequest(entity: .records, fileURL: good, mapping: Self.externalIDMapping, allOrNothing: true))
            #expect(ok.status == "completed" && ok.counts.created == 3)
        }
    }

    @Test func unknownColumnsStopTheImportBeforeAnyRowIsRead() async throws {
        try await ImportFixture.with { f in
            let url = try f.file("a.csv", "Nombre;Color favorito;Email;Email\nAna;Azul;a@b.es;c@d.es\n")
            let job = try f.importFile(f.admin, ImportRequest(entity: .records, fileURL: url))
            #expect(job.status == "failed")
            #expect(try f.findings(job)[0]?.sorted() == ["duplicate_header", "unknown_column"])
            #expect(try f.count("records") == 0)
        }
    }

    @Test func unterminatedQuoteFailsTheJobNamingTheLine() async throws {
        try await ImportFixture.with { f in
            let url = try f.file("a.csv", "Nombre,Email\nAna,ana@x.es\n\"Luis,luis@x.es\nEva,eva@x.es\n")
            let job = try f.importFile(f.admin, ImportRequest(entity: .records, fileURL: url))
            #expect(job.status == "failed")
            #expect(job.failure?.contains("3") == true, "\(job.failure ?? "")")
            #expect(try f.count("records") == 0)
        }
    }

    @Test func reportsAreSpanishExcelCSVWithFormulasEscaped() async throws {
        try await ImportFixture.with { f in
            let url = try f.file("a.csv", "Nombre;Email\n=HYPERLINK(\"x\");mal\nAna;ana@x.es\n")
            let job = try f.importFile(f.admin, ImportRequest(entity: .records, fileURL: url))
            var bytes: [UInt8] = []
            try f.app.transaction(settings: f.admin.accessScope.settings) { tx in
                try ImportService.writeReport(f.admin, id: job.id, kind: .rejected, on: tx) { bytes += $0 }
            }
            #expect(Array(bytes.prefix(3)) == [0xEF, 0xBB, 0xBF])
            let text = String(decoding: bytes.dropFirst(3), as: UTF8.self)
            let lines = text.components(separatedBy: "\r\n")
            #expect(lines[0] == "Nombre;Email;errores;fila original")
            #expect(lines[1].hasPrefix("\"'=HYPERLINK(\"\"x\"\")\";mal;"))
            #expect(lines[1].hasSuffix(";2"))
            var result: [UInt8] = []
            try f.app.transaction(settings: f.admin.accessScope.settings) { tx in
                try ImportService.writeReport(f.admin, id: job.id, kind: .result, on: tx) { result += $0 }
            }
            let resultLines = String(decoding: result.dropFirst(3), as: UTF8.self).components(separatedBy: "\r\n")
            #expect(resultLines.count == 4)  // header, 2 rows, trailing empty
            #expect(resultLines[1].contains(";2;rejected;records;"))
            #expect(resultLines[2].contains(";3;created;records;"))
        }
    }

    @Test func aSecondImportOfTheSameEntityWaitsForTheFirst() async throws {
        try await ImportFixture.with { f in
            let url = try f.file("a.csv", Self.csv)
            _ = try f.app.transaction(settings: f.admin.accessScope.settings) {
                try ImportService.create(f.admin, ImportRequest(entity: .records, fileURL: url), on: $0)
            }
            #expect(throws: CoreError.self) {
                try f.app.transaction(settings: f.admin.accessScope.settings) {
                    try ImportService.create(f.admin, ImportRequest(entity: .contacts, fileURL: url), on: $0)
                }
            }
            // A dry run writes nothing and may run alongside.
            _ = try f.app.transaction(settings: f.admin.accessScope.settings) {
                try ImportService.create(f.admin, ImportRequest(entity: .records, fileURL: url, dryRun: true), on: $0)
            }
        }
    }

    @Test func aRepWithoutImportPermissionIsRefused() async throws {
        try await ImportFixture.with { f in
            let url = try f.file("a.csv", Self.csv)
            let error = try #require(throws: CoreError.self) {
                try f.app.transaction(settings: f.bio.accessScope.settings) {
                    try ImportService.create(f.bio, ImportRequest(entity: .records, fileURL: url), on: $0)
                }
            }
            #expect(error.code == .forbidden)
        }
    }
}

@Suite struct ImportFileShapesTests {
    @Test func utf16TabSeparatedTextImports() async throws {
        try await ImportFixture.with { f in
            // Excel's "Texto Unicode": UTF-16LE with BOM, TAB between cells.
            let url = try f.file("unicode.txt", "Nombre\tApellidos\tEmail\r\nÍñigo\tMuñoz\tinigo@x.es\r\n", encoding: .utf16LittleEndian, bom: [0xFF, 0xFE])
            let job = try f.importFile(f.admin, ImportRequest(entity: .records, fileURL: url))
            #expect(job.counts.created == 1)
            #expect(try f.asOperator { try $0.query("SELECT display_name FROM records WHERE tenant_id = \(f.tenantID)").scalar(String.self) } == "Íñigo Muñoz")
        }
    }

    @Test func mojibakeAlreadyInTheDataIsWarned() async throws {
        try await ImportFixture.with { f in
            let url = try f.file("m.csv", "Nombre,Email\nMuÃ±oz,a@x.es\n")
            let job = try f.importFile(f.admin, ImportRequest(entity: .records, fileURL: url))
            #expect(job.counts.created == 1)
            #expect(job.warnings.contains { $0.code == "mojibake" })
        }
    }

    @Test func aColumnWithDataButNoHeaderNeedsAChoice() async throws {
        try await ImportFixture.with { f in
            let url = try f.file("e.csv", "Nombre;;Email\nAna;algo;a@x.es\n")
            let job = try f.importFile(f.admin, ImportRequest(entity: .records, fileURL: url))
            #expect(job.status == "failed")
            #expect(try f.findings(job)[0] == ["unlabeled_column"])
            #expect(try f.count("records") == 0)
            var mapping = ImportMapping()
            mapping.columns = ["@B": "skip"]
            let ok = try f.importFile(f.admin, ImportRequest(entity: .records, fileURL: url, mapping: mapping))
            #expect(ok.counts.created == 1)
        }
    }

    @Test func cancellingARunningImportStopsAfterTheCurrentBatch() async throws {
        try await ImportFixture.with { f in
            var csv = "Nombre;Email\n"
            for i in 1...50 { csv += "P\(i);p\(i)@x.es\n" }
            let url = try f.file("c.csv", csv)
            let job = try f.app.transaction(settings: f.admin.accessScope.settings) {
                try ImportService.create(f.admin, ImportRequest(entity: .records, fileURL: url), on: $0)
            }
            let other = try f.database.connectAsApp()
            var asked = false
            let finished = try ImportService.run(f.admin, jobID: job.id, on: f.app, batchSize: 5) { progress in
                // After the first batch (the writing phase is announced before it).
                guard progress.phase == .writing, progress.rowsWritten > 0, !asked else { return }
                asked = true
                _ = try? other.transaction(settings: f.admin.accessScope.settings) { try ImportService.cancel(f.admin, id: job.id, on: $0) }
            }
            #expect(finished.status == "cancelled")
            #expect(finished.rowsDone == 5)
            #expect(try f.count("records") == 5)
            // What a cancelled import wrote can be undone.
            _ = try f.app.transaction(settings: f.admin.accessScope.settings) { try ImportService.undo(f.admin, id: job.id, on: $0) }
            #expect(try f.count("records") == 0)
        }
    }
}
