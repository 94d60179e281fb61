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
