public import Foundation
import PGClient

/// An import job as the CLI and HTTP show it.
public struct ImportJobView: Sendable, Codable, Hashable {
    public struct Counts: Sendable, Codable, Hashable {
        public var created: Int
        public var updated: Int
        public var skipped: Int
        public var rejected: Int

        public init(created: Int, updated: Int, skipped: Int, rejected: Int) {
            self.created = created
            self.updated = updated
            self.skipped = skipped
            self.rejected = rejected
        }
    }

    public struct Warning: Sendable, Codable, Hashable {
        public var code: String
        public var message: String
        public var row: Int?
    }

    public var id: UUID
    public var entity: String
    public var status: String
    public var dryRun: Bool
    public var mode: String
    public var match: String?
    public var allOrNothing: Bool
    public var fileName: String
    public var fileKind: String
    public var fileSha256: String
    public var sheet: String?
    public var rowsTotal: Int?
    public var rowsDone: Int
    public var counts: Counts
    public var warnings: [Warning]
    public var failure: String?
    public var cancelRequested: Bool
    public var createdBy: UUID
    public var createdAt: Date
    public var startedAt: Date?
    public var finishedAt: Date?
    /// Earlier jobs of this tenant that imported a file with the same bytes.
    public var sameFileAs: [UUID]

    public var isFinished: Bool { ["completed", "failed", "cancelled", "undone"].contains(status) }

    static let columns = """
        SELECT j.job_id, j.entity, j.status, j.dry_run, j.mode, j.match_key, j.all_or_nothing, j.file_name, j.file_kind,
               j.file_sha256, j.sheet, j.rows_total, j.rows_done, j.created_count, j.updated_count, j.skipped_count,
               j.rejected_count, j.warnings::text, j.failure, j.cancel_requested, j.created_by, j.created_at, j.started_at,
               j.finished_at,
               ARRAY(SELECT o.job_id FROM import_jobs o
                      WHERE o.tenant_id = j.tenant_id AND o.file_sha256 = j.file_sha256 AND o.job_id <> j.job_id
                        AND NOT o.dry_run AND o.status = 'completed' AND o.created_at < j.created_at
                      ORDER BY o.created_at) AS same_file
          FROM import_jobs j
        """

    static func from(_ row: PGRow) throws -> ImportJobView {
        let warningsText = try row.decode(String.self, at: 17)
        let warnings = (try? JSONDecoder().decode([Warning].self, from: Data(warningsText.utf8))) ?? []
        return ImportJobView(
            id: try row.decode(at: 0), entity: try row.decode(at: 1), status: try row.decode(at: 2), dryRun: try row.decode(at: 3),
            mode: try row.decode(at: 4), match: try row.decode(at: 5), allOrNothing: try row.decode(at: 6),
            fileName: try row.decode(at: 7), fileKind: try row.decode(at: 8), fileSha256: try row.decode(at: 9),
            sheet: try row.decode(at: 10), rowsTotal: try row.decode(at: 11), rowsDone: try row.decode(at: 12),
            counts: Counts(
                created: try row.decode(at: 13), updated: try row.decode(at: 14), skipped: try row.decode(at: 15),
                rejected: try row.decode(at: 16)),
            warnings: warnings, failure: try row.decode(at: 18), cancelRequested: try row.decode(at: 19),
            createdBy: try row.decode(at: 20), createdAt: try row.decode(at: 21), startedAt: try row.decode(at: 22),
            finishedAt: try row.decode(at: 23), sameFileAs: try row.decode(at: 24))
    }
}

/// What the job stores in `options` so that a resumed run does exactly what the first one would.
struct ImportJobOptions: Codable, Sendable {
    var mapping: ImportMapping
    var createMissingParents: Bool
    var ownsFile: Bool
}

/// Progress reports while a job runs (the CLI draws a bar from them).
public struct ImportProgress: Sendable {
    public enum Phase: String, Sendable {
        case reading, checking, writing, finished
    }

    public var phase: Phase
    public var sheet: String?
    public var rowsRead: Int
    public var rowsWritten: Int
    public var rowsTotal: Int?
}
