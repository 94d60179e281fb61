import ComarcaCore
import ComarcaTestSupport
import Foundation
import PGClient
import Testing

/// Values from spreadsheets are right or rejected, never silently wrong: numbers Excel shortened
/// to scientific notation, and money cells holding binary doubles.
@Suite struct ImportSpreadsheetValuesTests {
    /// (row, code, message) of a job's findings, in order.
    static func messages(_ f: ImportFixture, _ job: ImportJobView) throws -> [(Int, String, String)] {
        try f.asOperator {
            try $0.query("""
                SELECT coalesce(row_number, 0), code, message FROM import_errors
                 WHERE tenant_id = \(f.tenantID) AND job_id = \(job.id) ORDER BY sheet_index, error_no
                """).decode((Int, String, String).self)
        }
    }

    static func values(_ f: ImportFixture, _ sql: String) throws -> [String] {
        try f.asOperator {
            try $0.query("SELECT coalesce(\(unsafeRaw: sql), '') FROM records WHERE tenant_id = \(f.tenantID) ORDER BY first_name").decode(String.self)
        }
    }

    @Test func aPhoneExcelShortenedInACSVRejectsItsRowAndAFullOneImports() async throws {
        try await ImportFixture.with { f in
            // LibreOffice (es-ES) writes a number column as it shows it: 6,12346E+08.
            let url = try f.file("telefonos.csv", "Nombre;Teléfono;Código postal\nAna;6,12346E+08;48001\nBea;6,12345678E+08;48002\nCarla;612345679;4,8E+04\n")
            let job = try f.importFile(f.admin, ImportRequest(entity: .records, fileURL: url))
            #expect(job.counts == .init(created: 1, updated: 0, skipped: 0, rejected: 2))
            let findings = try Self.messages(f, job)
            #expect(findings.map(\.0) == [2, 4])
            #expect(findings.map(\.1) == ["shortened_number", "shortened_number"])
            #expect(findings.first?.2 == "Excel shortened the number 6,12346E+08 in Teléfono; format the column as text and save again")
            #expect(findings.last?.2 == "Excel shortened the number 4,8E+04 in Código postal; format the column as text and save again")
            #expect(try Self.values(f, "phone") == ["+34612345678"])
        }
    }

    @Test func identifiersInAnOpenpyxlWorkbookImportOnlyWithEveryDigit() async throws {
        try await ImportFixture.with { f in
            let url = f.directory.appendingPathComponent("ids.xlsx")
            try ForeignWorkbook.write([
                .init(name: "Registros", rows: [
                    #"["Nombre", "Teléfono", "ID externo", "Código postal"]"#,
                    #"["Ana", 612345678, 12345, 48001]"#,
                    // A 20-digit id as a number: Python writes 1.234567890123457e+19.
                    #"["Bea", 612345670, 12345678901234567890, 48002]"#,
                    #"["Carla", "6,12346E+08", 12346, 48003]"#,
                    #"["Dora", 612345671, "EXT-9", 39001]"#,
                ]),
            ], to: url)
            let job = try f.importFile(f.admin, ImportRequest(entity: .records, fileURL: url))
            #expect(job.counts == .init(created: 2, updated: 0, skipped: 0, rejected: 2), "\(job.failure ?? "")")
            let findings = try Self.messages(f, job)
            #expect(findings.map(\.0) == [3, 4])
            #expect(findings.map(\.1) == ["shortened_number", "shortened_number"])
            #expect(findings.first?.2 == "Excel shortened the number 1.234567890123457e+19 in ID externo; format the column as text and save again")
            #expect(try Self.values(f, "phone") == ["+34612345678", "+34612345671"])
            #expect(try Self.values(f, "external_id") == ["12345", "EXT-9"])
            #expect(try Self.values(f, "custom->>'cp'") == ["48001", "39001"])
        }
    }

    @Test func moneyDoublesReadAsTheDecimalTheyStandForAndRealExtraDecimalsAreRejected() async throws {
        try await ImportFixture.with { f in
            let url = f.directory.appendingPathComponent("facturacion.xlsx")
            try ForeignWorkbook.write([
                .init(name: "Registros", rows: [
                    #"["Nombre", "Facturación"]"#,
                    // 9.890,47 € on screen; in the file 9890.469999999998 (the double just below).
                    #"["Ana", math.nextafter(9890.47, 0)]"#,
                    #"["Bea", 1000.1 + 8890.37]"#,
                    #"["Carla", 9890.4712]"#,
                    #"["Dora", 0.1 + 0.2]"#,
                    #"["Elena", 1234.5]"#,
                    #"["Flor", 0.005]"#,
                ]),
            ], to: url)
            let job = try f.importFile(f.admin, ImportRequest(entity: .records, fileURL: url))
            #expect(job.counts == .init(created: 4, updated: 0, skipped: 0, rejected: 2), "\(job.failure ?? "")")
            let findings = try Self.messages(f, job)
            #expect(findings.map(\.0) == [4, 7])
            #expect(findings.allSatisfy { $0.2 == "an amount of money has at most 2 decimals" })
            #expect(try Self.values(f, "custom->>'facturacion'") == ["9890.47", "9890.47", "0.3", "1234.5"])
        }
    }
}
