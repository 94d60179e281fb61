public import Foundation
public import PGClient

/// The downloadable results of a job.
public enum ImportReportKind: String, Sendable, CaseIterable, Codable {
    /// Row, column, raw value, code, message (file-level findings first).
    case errors
    /// The rejected rows in the file's own layout plus an error column: fix and re-import.
    case rejected
    /// Row → what it became (created / updated / skipped / rejected) and its id.
    case result
}

/// CSV the way Spanish Excel opens it without a wizard: UTF-8 with BOM, `;`, CRLF; cells that
/// Excel would run as formulas (`= + - @`, TAB, CR first) are prefixed with `'`.
public enum SpreadsheetCSV {
    public static let byteOrderMark: [UInt8] = [0xEF, 0xBB, 0xBF]

    public static func line(_ cells: [String?]) -> String {
        cells.map { cell($0 ?? "") }.joined(separator: ";") + "\r\n"
    }

    static func cell(_ raw: String) -> String {
        var value = raw
        if let first = value.unicodeScalars.first, ["=", "+", "-", "@", "\t", "\r"].contains(first) {
            value = "'" + value
        }
        let needsQuotes = value.contains { $0 == ";" || $0 == "\"" || $0 == "\n" || $0 == "\r" || $0 == "," }
            || value.first == " " || value.last == " "
        return needsQuotes ? "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : value
    }
}

extension ImportService {
    /// Writes a report as CSV through `write`, page by page (memory stays flat however many rows).
    /// Runs in the caller's transaction: the rows are read under the caller's scope.
    public static func writeReport(
        _ session: Session, id: UUID, kind: ImportReportKind, on connection: PGConnection, write: ([UInt8]) throws -> Void
    ) throws {
        let job = try get(session, id: id, on: connection)
        let t = session.tenantID
        let namesText = try connection.query("""
            SELECT coalesce(options->'sheetNames', '{}')::text FROM import_jobs WHERE tenant_id = \(t) AND job_id = \(id)
            """).scalar(String.self)
        let names = (try? JSONDecoder().decode([String: String].self, from: Data(namesText.utf8))) ?? [:]
        func sheetName(_ job: ImportJobView, _ index: Int) -> String? { Self.sheetName(job, index, names: names) }
        try write(SpreadsheetCSV.byteOrderMark)
        let pageSize = 5_000
        switch kind {
        case .errors:
            try write(Array(SpreadsheetCSV.line(["hoja", "fila", "columna", "valor", "codigo", "mensaje", "gravedad"]).utf8))
            var after = (Int.min, Int.min)
            while true {
                let rows = try connection.query("""
                    SELECT e.sheet_index::int, e.error_no, e.row_number, e.column_name, e.raw_value, e.code, e.message, e.severity
                      FROM import_errors e
                     WHERE e.tenant_id = \(t) AND e.job_id = \(id) AND (e.sheet_index::int, e.error_no) > (\(after.0), \(after.1))
                     ORDER BY e.sheet_index, e.error_no LIMIT \(pageSize)
                    """).decode((Int, Int, Int?, String?, String?, String, String, String).self)
                var chunk = ""
                for (sheet, _, row, column, raw, code, message, severity) in rows {
                    chunk += SpreadsheetCSV.line([sheetName(job, sheet), row.map(String.init), column, raw, code, message, severity])
                }
                try write(Array(chunk.utf8))
                guard rows.count == pageSize, let last = rows.last else { break }
                after = (last.0, last.1)
            }
        case .rejected:
            let headersText = try connection.query("SELECT headers::text FROM import_jobs WHERE tenant_id = \(t) AND job_id = \(id)").scalar(String.self)
            let headers = (try? JSONDecoder().decode([String: [String]].self, from: Data(headersText.utf8))) ?? [:]
            var currentSheet: Int?
            var after = (Int.min, Int.min)
            while true {
                let rows = try connection.query("""
                    SELECT r.sheet_index::int, r.row_number, r.raw,
                           (SELECT string_agg(coalesce(e.column_name || ': ', '') || e.message, ' | ' ORDER BY e.error_no)
                              FROM import_errors e
                             WHERE e.tenant_id = r.tenant_id AND e.job_id = r.job_id AND e.sheet_index = r.sheet_index
                               AND e.row_number = r.row_number AND e.severity = 'error')
                      FROM import_rows r
                     WHERE r.tenant_id = \(t) AND r.job_id = \(id) AND r.action = 'rejected'
                       AND (r.sheet_index::int, r.row_number) > (\(after.0), \(after.1))
                     ORDER BY r.sheet_index, r.row_number LIMIT \(pageSize)
                    """).decode((Int, Int, [String?]?, String?).self)
                var chunk = ""
                for (sheet, row, raw, errors) in rows {
                    if currentSheet != sheet {
                        // One header block per sheet (a workbook's sheets differ in layout).
                        let header = headers[String(sheet)] ?? []
                        if headers.count > 1 { chunk += SpreadsheetCSV.line(["# " + (sheetName(job, sheet) ?? "")]) }
                        chunk += SpreadsheetCSV.line(header + ["errores", "fila original"])
                        currentSheet = sheet
                    }
                    var cells = (raw ?? []).map { $0 ?? "" }
                    let width = headers[String(sheet)]?.count ?? cells.count
                    if cells.count < width { cells += Array(repeating: "", count: width - cells.count) }
                    chunk += SpreadsheetCSV.line(cells + [errors ?? "", String(row)])
                }
                try write(Array(chunk.utf8))
                guard rows.count == pageSize, let last = rows.last else { break }
                after = (last.0, last.1)
            }
        case .result:
            try write(Array(SpreadsheetCSV.line(["hoja", "fila", "accion", "entidad", "id", "zona", "regla de zona"]).utf8))
            var after = (Int.min, Int.min)
            while true {
                let rows = try connection.query("""
                    SELECT r.sheet_index::int, r.row_number, r.action, r.entity, r.target_id,
                           (SELECT z.code FROM zones z WHERE z.tenant_id = r.tenant_id AND z.zone_id = r.zone_id), r.zone_rule
                      FROM import_rows r
                     WHERE r.tenant_id = \(t) AND r.job_id = \(id) AND (r.sheet_index::int, r.row_number) > (\(after.0), \(after.1))
                     ORDER BY r.sheet_index, r.row_number LIMIT \(pageSize)
                    """).decode((Int, Int, String, String, UUID?, String?, String?).self)
                var chunk = ""
                for (sheet, row, action, entity, target, zone, rule) in rows {
                    chunk += SpreadsheetCSV.line([sheetName(job, sheet), String(row), action, entity, target?.uuidString.lowercased(), zone, rule])
                }
                try write(Array(chunk.utf8))
                guard rows.count == pageSize, let last = rows.last else { break }
                after = (last.0, last.1)
            }
        }
    }

    /// A sheet as the user knows it: a workbook's by its name, a CSV file by the file's.
    /// One finding of an import, as the errors report has it, for callers that print rather
    /// than download (the CLI): whole messages, never re-read from the CSV.
    public struct Finding: Sendable, Equatable {
        public let sheet: String?
        public let row: Int?
        public let column: String?
        public let value: String?
        public let code: String
        public let message: String
        public let severity: String
    }

    /// The first `limit` findings of a job in report order, and how many there are in all.
    public static func findings(_ session: Session, id: UUID, limit: Int, on connection: PGConnection) throws -> (findings: [Finding], total: Int) {
        let job = try get(session, id: id, on: connection)
        let t = session.tenantID
        let namesText = try connection.query("""
            SELECT coalesce(options->'sheetNames', '{}')::text FROM import_jobs WHERE tenant_id = \(t) AND job_id = \(id)
            """).scalar(String.self)
        let names = (try? JSONDecoder().decode([String: String].self, from: Data(namesText.utf8))) ?? [:]
        let total = try connection.query("SELECT count(*) FROM import_errors WHERE tenant_id = \(t) AND job_id = \(id)").scalar(Int.self)
        let rows = try connection.query("""
            SELECT sheet_index::int, row_number, column_name, raw_value, code, message, severity
              FROM import_errors
             WHERE tenant_id = \(t) AND job_id = \(id)
             ORDER BY sheet_index, error_no LIMIT \(max(0, limit))
            """).decode((Int, Int?, String?, String?, String, String, String).self)
        let findings = rows.map { sheet, row, column, value, code, message, severity in
            Finding(sheet: sheetName(job, sheet, names: names), row: row, column: column, value: value, code: code, message: message, severity: severity)
        }
        return (findings, total)
    }

    private static func sheetName(_ job: ImportJobView, _ index: Int, names: [String: String]) -> String? {
        if index < 0 { return "cuentas creadas" }  // parents created for rows naming a missing account
        return names[String(index)] ?? job.sheet ?? (job.fileKind == "csv" ? job.fileName : String(index + 1))
    }

    // MARK: - Templates

    /// The header row of an import template for `entity` in the caller's tenant.
    public static func templateHeaders(_ session: Session, entity: ImportEntity, on connection: PGConnection) throws -> [String] {
        try session.require(.import, on: entity.permissionEntity)
        let specs = try FieldSpecs.load(tenantID: session.tenantID, entity: entity.fieldEntity, on: connection)
        return ImportColumnResolver.templateHeaders(entity: entity, specs: specs)
    }

    // MARK: - Saved mappings

    /// Saves (or replaces) a named mapping for the tenant.
    public static func saveMapping(
        _ session: Session, name: String, entity: ImportEntity, mapping: ImportMapping, on connection: PGConnection
    ) throws {
        try session.require(.import, on: .imports)
        guard name.range(of: #"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,62}$"#, options: .regularExpression) != nil else {
            throw CoreError.invalid("name", "a mapping name is 1–63 letters, digits, spaces, dots, dashes or underscores")
        }
        try connection.execute("""
            INSERT INTO import_mappings (tenant_id, name, entity, definition, updated_by)
            VALUES (\(session.tenantID), \(name), \(entity.rawValue), \(mapping.jsonText)::jsonb, \(session.userID))
            ON CONFLICT (tenant_id, name) DO UPDATE
               SET entity = EXCLUDED.entity, definition = EXCLUDED.definition, updated_at = now(), updated_by = EXCLUDED.updated_by
            """)
    }

    /// A saved mapping by name.
    public static func mapping(_ session: Session, name: String, on connection: PGConnection) throws -> (ImportEntity, ImportMapping) {
        try session.require(.view, on: .imports)
        let rows = try connection.query("""
            SELECT entity, definition::text FROM import_mappings WHERE tenant_id = \(session.tenantID) AND name = \(name)
            """).decode((String, String).self)
        guard let (entity, text) = rows.first, let parsed = ImportEntity(rawValue: entity) else {
            throw CoreError(.notFound, "no saved mapping named \(name)")
        }
        return (parsed, try ImportMapping.fromJSON(text))
    }

    /// Names of the tenant's saved mappings with their entity.
    public static func mappings(_ session: Session, on connection: PGConnection) throws -> [(name: String, entity: String)] {
        try session.require(.view, on: .imports)
        return try connection.query("SELECT name, entity FROM import_mappings WHERE tenant_id = \(session.tenantID) ORDER BY name")
            .decode((String, String).self).map { (name: $0.0, entity: $0.1) }
    }
}

extension ImportMapping {
    /// A mapping file (YAML or JSON): `columns`, `defaults`, `constants`, `locale`, `mode`, `match`,
    /// `sheets`, `header_row`. Unknown keys and wrong values are errors naming the file, line,
    /// column and key, every one at once.
    public static func parse(_ text: String, fileName: String) throws -> ImportMapping {
        do {
            return try ImportMappingYAML.decode(text, fileName: fileName)
        } catch let error as CoreError {
            throw error
        } catch {
            throw CoreError(.invalidInput, "\(fileName): not a valid mapping file (\(error))")
        }
    }
}
