import Foundation
import PGClient

/// Writes the search tokens of the records an import's batches created, on a connection of its
/// own, while the import writes its next batch (sql/0019): tokenising is most of the cost of
/// inserting a record, and the batches alone kept one of PostgreSQL's cores busy.
///
/// A two-stage pipeline: `batchWritten` hands over the rows of a committed batch after waiting
/// for the previous batch's tokens, so at most one batch of tokens is in flight. `finish` waits
/// for the last one. A failure here does not fail the import: the writer stops taking batches
/// (`failed`), later batches tokenise inline, and the runner writes what is missing on its own
/// connection (`writeMissing`) before the job ends; a resume after a crash does the same.
final class ImportTokenWriter: @unchecked Sendable {
    private let connection: PGConnection
    private let session: Session
    private let jobID: UUID
    private let queue = DispatchQueue(label: "comarca.import.tokens")
    private let inFlight = DispatchGroup()
    private let lock = NSLock()
    private var failure: (any Error)?

    /// The transaction setting that makes the records trigger leave tokens to this writer.
    static let deferTokens = try! PGSetting("comarca.defer_search_tokens", "on")

    init(connection: PGConnection, session: Session, jobID: UUID) {
        self.connection = connection
        self.session = session
        self.jobID = jobID
    }

    /// Whether a batch's tokens could not be written (the records of that batch have none yet).
    var failed: Bool { lock.withLock { failure != nil } }

    /// The tokens of the records created from rows `lower...upper` of sheet `sheetIndex`, written
    /// in the background once the previous batch's are.
    func batchWritten(sheetIndex: Int, lower: Int, upper: Int) {
        inFlight.wait()
        guard !failed else { return }
        inFlight.enter()
        queue.async { [self] in
            defer { inFlight.leave() }
            do {
                try connection.transaction(settings: session.accessScope.settings) { c in
                    try c.execute(Self.tokensOfCreatedRecords(session: session, jobID: jobID, sheetIndex: sheetIndex, lower: lower, upper: upper, onlyMissing: false))
                }
            } catch {
                lock.withLock { failure = failure ?? error }
            }
        }
    }

    /// Waits for the tokens in flight; returns whether every batch got its tokens.
    @discardableResult
    func finish() -> Bool {
        inFlight.wait()
        return !failed
    }

    /// Tokens for the records this job created (rows `lower...upper` of a sheet, or all of them),
    /// computed from the committed records as the trigger would. `onlyMissing` limits it to
    /// records without any token (a resume after a crash between a batch and its tokens).
    /// A batch's records are new: their tokens are plain inserts (ON CONFLICT's speculative
    /// insertion cost a third more). Should an update have tokenised one of them meanwhile, the
    /// batch fails on the duplicate and `writeMissing` covers the rest. A batch's rows are a range
    /// of import_rows' key (a filter on the sheet would read every created row of the job).
    static func tokensOfCreatedRecords(
        session: Session, jobID: UUID, sheetIndex: Int?, lower: Int, upper: Int, onlyMissing: Bool
    ) -> PGQuery {
        var query = PGQuery(unsafeSQL: """
            INSERT INTO record_search_tokens (tenant_id, token, record_id, zone_id)
            SELECT r.tenant_id, w.word, r.record_id, r.zone_id
              FROM import_rows i
              JOIN records r ON r.tenant_id = i.tenant_id AND r.record_id = i.target_id
             CROSS JOIN LATERAL comarca.record_search_words(
                   r.display_name, r.first_name, r.last_name, r.company_name, r.email, r.phone, r.tax_id) AS w(word)
             WHERE i.tenant_id = $1 AND i.job_id = $2 AND \(sheetIndex == nil ? "$3::int IS NULL" : "i.sheet_index = $3")
               AND i.row_number BETWEEN $4 AND $5 AND i.entity = 'records' AND i.action = 'created'
               AND (NOT $6 OR NOT EXISTS (SELECT 1 FROM record_search_tokens t WHERE t.tenant_id = r.tenant_id AND t.record_id = r.record_id))
            \(onlyMissing ? "ON CONFLICT DO NOTHING" : "")
            """, binds: [PGBind(session.tenantID), PGBind(jobID), PGBind(sheetIndex), PGBind(lower), PGBind(upper), PGBind(onlyMissing)])
        query.reusesPlan = false
        return query
    }

    /// Tokens of every record the job created that has none: run before a resumed job writes on.
    static func writeMissing(session: Session, jobID: UUID, on connection: PGConnection) throws {
        try connection.execute(tokensOfCreatedRecords(
            session: session, jobID: jobID, sheetIndex: nil, lower: Int(Int32.min), upper: Int(Int32.max), onlyMissing: true))
    }
}
