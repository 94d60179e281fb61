import ComarcaCore
import ComarcaTestSupport
import Foundation
import PGClient
import Testing

/// Imports write the search tokens of the records they create on a second connection, a batch
/// behind the records (sql/0019). Whatever happens to that connection, every imported record ends
/// up with exactly the tokens the records trigger would have written.
@Suite struct ImportSearchTokensTests {
    static func csv(_ rows: Int) -> String {
        var csv = "Nombre;Apellidos;Empresa;Email;Teléfono\n"
        for i in 1...rows { csv += "Persona \(i);Muñoz Pérez;Talleres Ñandú \(i) S.L.;p\(i)@example.es;6\(String(format: "%08d", i))\n" }
        return csv
    }

    @Test func importedRecordsGetExactlyTheTokensTheTriggerWouldWriteAndUndoRemovesThem() async throws {
        try await ImportFixture.with { f in
            let job = try f.importFile(f.admin, ImportRequest(entity: .records, fileURL: try f.file("t.csv", Self.csv(30))), batchSize: 7)
            #expect(job.status == "completed")
            #expect(job.counts.created == 30)
            #expect(try f.tokenCount() > 30 * 5)
            #expect(try f.recordsWithWrongTokens() == 0)
            // Found by search, as a record created online would be.
            var filter = RecordQuery.Filter()
            filter.search = "ñandu 17"
            let found = try f.app.transaction(settings: f.admin.accessScope.settings) {
                try RecordQuery.list(f.admin, filter: filter, page: PageRequest(limit: 10, cursor: nil), on: $0)
            }
            #expect(found.items.map(\.companyName) == ["Talleres Ñandú 17 S.L."])

            _ = try f.app.transaction(settings: f.admin.accessScope.settings) { try ImportService.undo(f.admin, id: job.id, on: $0) }
            #expect(try f.count("records") == 0)
            #expect(try f.tokenCount() == 0)
        }
    }

    @Test func anImportWhoseTokenConnectionDiesStillCompletesWithEveryRecordsTokens() async throws {
        try await ImportFixture.with { f in
            let broken = try f.database.connectAsApp()
            _ = try? broken.query("SELECT pg_terminate_backend(pg_backend_pid())")
            let job = try f.app.transaction(settings: f.admin.accessScope.settings) {
                try ImportService.create(f.admin, ImportRequest(entity: .records, fileURL: try f.file("t.csv", Self.csv(25))), on: $0)
            }
            let finished = try ImportService.run(f.admin, jobID: job.id, on: f.app, tokenConnection: broken, batchSize: 6)
            #expect(finished.status == "completed")
            #expect(finished.counts.created == 25)
            #expect(try f.recordsWithWrongTokens() == 0)
        }
    }

    @Test func theServiceRoleRefreshesTheStatisticsOfTheTablesAnImportWrites() async throws {
        try await ImportFixture.with { f in
            _ = try f.importFile(f.admin, ImportRequest(entity: .records, fileURL: try f.file("t.csv", Self.csv(40))))
            // As the runner does after a big import (the role owns none of these tables).
            _ = try f.app.query("SELECT comarca.analyze_after_bulk_write()")
            let (tuples, analyzed) = try f.owner.query("""
                SELECT reltuples::int, (SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables WHERE relname = 'records')
                  FROM pg_class WHERE oid = 'public.records'::regclass
                """).decode((Int, Bool).self)[0]
            #expect(analyzed)
            #expect(tuples >= 40)
        }
    }

    @Test func anImportWithoutATokenConnectionTokenisesInsideEachBatch() async throws {
        try await ImportFixture.with { f in
            let job = try f.app.transaction(settings: f.admin.accessScope.settings) {
                try ImportService.create(f.admin, ImportRequest(entity: .records, fileURL: try f.file("t.csv", Self.csv(12))), on: $0)
            }
            let finished = try ImportService.run(f.admin, jobID: job.id, on: f.app, batchSize: 5)
            #expect(finished.counts.created == 12)
            #expect(try f.recordsWithWrongTokens() == 0)
        }
    }
}
