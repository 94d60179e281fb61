import ComarcaCore
import ComarcaTestSupport
import Foundation
import PGClient
import Testing

/// Text dates take the day/month order their column proves over the whole sheet. The sheet is
/// staged in one pass in the locale's order unless a date goes against it; then it is read again
/// in the decided order. Either way the result is the same.
@Suite struct ImportDateOrderTests {
    /// `fecha_alta` of the tenant's records by e-mail.
    static func dates(_ f: ImportFixture) throws -> [String: String] {
        let rows = try f.asOperator { tx in
            try tx.query("SELECT email, coalesce(custom->>'fecha_alta', '') FROM records WHERE tenant_id = \(f.tenantID)")
                .decode((String, String).self)
        }
        return Dictionary(uniqueKeysWithValues: rows)
    }

    @Test("a column that proves month-first is read month-first in a day-first locale, its ambiguous dates included")
    func monthFirstColumnInDayFirstLocale() async throws {
        try await ImportFixture.with { f in
            let url = try f.file("us.csv", """
                Nombre;Correo electrónico;Fecha de alta
                Ana;ana@x.es;12/31/2024
                Luis;luis@x.es;01/02/2025
                Eva;eva@x.es;2025-03-04

                """)
            let job = try f.importFile(f.admin, ImportRequest(entity: .records, fileURL: url))
            #expect(job.status == "completed", "\(job.failure ?? "")")
            #expect(job.counts.created == 3)
            #expect(try Self.dates(f) == ["ana@x.es": "2024-12-31", "luis@x.es": "2025-01-02", "eva@x.es": "2025-03-04"])
        }
    }

    @Test("a late month-first date does not outvote a day-first column: it fails as a date that does not exist")
    func lateContraryDateLosesToTheMajority() async throws {
        try await ImportFixture.with { f in
            let url = try f.file("es.csv", """
                Nombre;Correo electrónico;Fecha de alta
                Ana;ana@x.es;31/12/2024
                Luis;luis@x.es;01/02/2025
                Eva;eva@x.es;25/03/2025
                Pilar;pilar@x.es;12/13/2025

                """)
            let job = try f.importFile(f.admin, ImportRequest(entity: .records, fileURL: url))
            #expect(job.counts.created == 3)
            #expect(job.counts.rejected == 1)
            #expect(try f.findings(job)[5] == ["invalid_value"])
            #expect(try Self.dates(f) == ["ana@x.es": "2024-12-31", "luis@x.es": "2025-02-01", "eva@x.es": "2025-03-25"])
        }
    }

    @Test("a column with no evidence either way is read in the locale's order")
    func ambiguousColumnTakesTheLocaleOrder() async throws {
        try await ImportFixture.with { f in
            let url = try f.file("amb.csv", """
                Nombre;Correo electrónico;Fecha de alta
                Ana;ana@x.es;01/02/2025
                Luis;luis@x.es;03/04/2025

                """)
            var mapping = ImportMapping()
            mapping.locale.dateOrder = .monthDay
            let job = try f.importFile(f.admin, ImportRequest(entity: .records, fileURL: url, mapping: mapping))
            #expect(job.counts.created == 2)
            #expect(try Self.dates(f) == ["ana@x.es": "2025-01-02", "luis@x.es": "2025-03-04"])
        }
    }
}
