import ComarcaCore
import ComarcaTestSupport
import Foundation
import PGClient
import Testing

@Suite struct ImportResumeTests {
    /// The owner URL of the test's own database, for the CLI process.
    static func databaseURL(_ database: TestDatabase) -> String {
        if var components = URLComponents(string: database.ownerURL), components.scheme?.hasPrefix("postgres") == true {
            components.path = "/" + database.name
            return components.string!
        }
        return database.ownerURL + " dbname=" + database.name
    }

    @Test func aKilledImportResumesWithoutDuplicatingOrLosingRows() async throws {
        try await ImportFixture.with { f in
            let binary = TestDatabase.repositoryRoot.appendingPathComponent(".build/debug/comarca")
            try #require(FileManager.default.isExecutableFile(atPath: binary.path), "build the comarca executable first (swift build --build-tests)")
            let rows = 400
            var csv = "Nombre;Email;Teléfono\n"
            for i in 1...rows { csv += "Persona \(i);p\(i)@example.es;6\(String(format: "%08d", i))\n" }
            let url = try f.file("big.csv", csv)

            let process = Process()
            process.executableURL = binary
            process.arguments = ["import", "run", "acme", "--entity", "records", "--file", url.path, "--batch-size", "1",
                                 "--database-url", Self.databaseURL(f.database)]
            var environment = ProcessInfo.processInfo.environment
            environment.removeValue(forKey: "COMARCA_APP_DATABASE_URL")
            process.environment = environment
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()

            // Kill it (SIGKILL: no cleanup at all) once some rows are written.
            var written = 0
            let deadline = Date().addingTimeInterval(60)
            while written < 20, Date() < deadline, process.isRunning {
                Thread.sleep(forTimeInterval: 0.02)
                written = try f.asOperator { try $0.query("SELECT coalesce(max(rows_done), 0) FROM import_jobs WHERE tenant_id = \(f.tenantID)").scalar(Int.self) }
            }
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            try #require(written >= 20, "the import never got going")

            let (jobID, status, done) = try f.asOperator {
                try $0.query("SELECT job_id, status, rows_done FROM import_jobs WHERE tenant_id = \(f.tenantID)").decode((UUID, String, Int).self)[0]
            }
            #expect(status == "running")
            #expect(done < rows)

            // The job stays locked to its dead session until PostgreSQL notices; then it resumes.
            var job: ImportJobView?
            for _ in 0..<100 where job == nil {
                do {
                    job = try ImportService.run(f.admin, jobID: jobID, on: f.app, batchSize: 50)
                } catch let error as CoreError where error.code == .conflict {
                    Thread.sleep(forTimeInterval: 0.1)
                }
            }
            let finished = try #require(job)
            #expect(finished.status == "completed")
            #expect(finished.counts.created == rows)
            #expect(try f.count("records") == rows)
            #expect(try f.count("import_rows") == rows)
            #expect(try f.count("record_events") == rows)
            #expect(try f.asOperator { try $0.query("SELECT count(DISTINCT email) FROM records WHERE tenant_id = \(f.tenantID)").scalar(Int.self) } == rows)
            // Batches the killed process committed before their tokens were written get them on resume.
            #expect(try f.recordsWithWrongTokens() == 0)
        }
    }
}

@Suite struct ImportTokenRoleTests {
    @Test func aJobStartedWithANarrowerAPITokenResumesWithTheTokensRole() async throws {
        try await ImportFixture.with { f in
            let issued = try AuthService().createAPIToken(session: f.admin, name: "carga CRM", role: "importador", on: f.app)
            let tokenSession = try AuthService().authenticate(token: issued.token, on: f.app)
            #expect(tokenSession.role.key == "importador")
            let url = try f.file("a.csv", "Nombre;Email\nAna;ana@x.es\n")
            let job = try f.app.transaction(settings: tokenSession.accessScope.settings) {
                try ImportService.create(tokenSession, ImportRequest(entity: .records, fileURL: url), on: $0)
            }
            let resumable = try f.app.query("SELECT job_id, created_by, role_override FROM comarca.import_jobs_to_resume()")
                .decode((UUID, UUID, UUID?).self)
            let entry = try #require(resumable.first { $0.0 == job.id })
            #expect(entry.1 == f.admin.userID)
            let resumed = try SessionLoader.load(tenantID: f.tenantID, userID: entry.1, roleOverride: entry.2, on: f.app)
            #expect(resumed.role.key == "importador")
            #expect(resumed.visibleZoneIDs != nil)  // zone subtree, not the admin's whole tenant
        }
    }
}
