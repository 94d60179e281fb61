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
    private let queue = DispatchQueue(label: "comarca.import.tokens")
    private let inFlight = DispatchGroup()
    private let lock = NSLock()
    private var failure: (any Error)?

    /// The transaction setting that makes the records trigger leave tokens to this writer.
    static let deferTokens = try! PGSetting("comarca.defer_search_tokens", "on")

    init(connection: PGConnection, session: Session) {
        self.connection = connection
        self.session = session
    }

    /// Whether a batch's tokens could not be written (the records of that batch have none yet).
    var failed: Bool { lock.withLock { failure != nil } }

    /// The searchable values of the records a batch created, one PostgreSQL array literal per
    /// column in `searchColumns` order (`array_agg(…)::text` over the batch's staged rows: the
    /// values the records were inserted with).
    typealias BatchValues = [String?]

    /// The columns a record's tokens are computed from, with the id and zone they belong to.
    static let searchColumns = ["target_id", "zone_id", "display_name", "first_name", "last_name", "company_name", "email", "phone", "tax_id"]

    /// The values the records created from staged rows `lower...upper` were inserted with.
    static func stagedValues(table: String, lower: Int, upper: Int, on connection: PGConnection) throws -> BatchValues {
        let columns = searchColumns.map { "array_agg(\($0) ORDER BY row_no)::text" }.joined(separator: ", ")
        let rows = try connection.query(PGQuery(unsafeSQL: """
            SELECT \(columns) FROM pg_temp.\(table) WHERE row_no BETWEEN $1 AND $2 AND action = 'create'
            """, binds: [PGBind(lower), PGBind(upper)]))
        return try searchColumns.indices.map { try rows[0].decode(String?.self, at: $0) }
    }

    /// The tokens of the records a batch created, written in the background once the previous
    /// batch's are.
    func batchWritten(values: BatchValues) {
        inFlight.wait()
        guard !failed else { return }
        inFlight.enter()
        queue.async { [self] in
            defer { inFlight.leave() }
            do {
                try connection.transaction(settings: session.accessScope.settings) { c in
                    try c.execute(Self.tokens(session: session, values: values))
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

    /// Tokens of a batch's new records from the values they were inserted with, as the trigger
    /// computes them. Not read back from records: a new tenant's statistics say it has no
    /// records, and PostgreSQL then probed records through another (tenant, …) index and filtered
    /// (17–34 s a batch of 20k instead of 2). Plain inserts: the records are new (ON CONFLICT's
    /// speculative insertion cost a third more); should an update have tokenised one meanwhile,
    /// the batch fails on the duplicate and `writeMissing` covers the rest.
    static func tokens(session: Session, values: BatchValues) -> PGQuery {
        precondition(values.count == searchColumns.count)
        var query = PGQuery(unsafeSQL: """
            INSERT INTO record_search_tokens (tenant_id, token, record_id, zone_id)
            SELECT $1, w.word, v.id, v.zone
              FROM unnest($2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[])
                   AS v(id, zone, display_name, first_name, last_name, company_name, email, phone, tax_id)
             CROSS JOIN LATERAL comarca.record_search_words(
                   v.display_name, v.first_name, v.last_name, v.company_name, v.email, v.phone, v.tax_id) AS w(word)
            """, binds: [PGBind(session.tenantID)] + values.map { PGBind(text: $0, oid: 0) })
        query.reusesPlan = false
        return query
    }

    /// Tokens of every record the job created that has none: run before a resumed job writes on,
    /// and when the token connection failed.
    static func writeMissing(session: Session, jobID: UUID, on connection: PGConnection) throws {
        var query = PGQuery(unsafeSQL: """
            INSERT INTO record_search_tokens (tenant_id, token, record_id, zone_id)
            SELECT r.tenant_id, w.word, r.record_id, r.zone_id
              FROM import_rows i
             CROSS JOIN LATERAL (SELECT * FROM records WHERE tenant_id = i.tenant_id AND record_id = i.target_id OFFSET 0) r
             CROSS JOIN LATERAL comarca.record_search_words(
                   r.display_name, r.first_name, r.last_name, r.company_name, r.email, r.phone, r.tax_id) AS w(word)
             WHERE i.tenant_id = $1 AND i.job_id = $2 AND i.entity = 'records' AND i.action = 'created'
               AND NOT EXISTS (SELECT 1 FROM record_search_tokens t WHERE t.tenant_id = r.tenant_id AND t.record_id = r.record_id)
            ON CONFLICT DO NOTHING
            """, binds: [PGBind(session.tenantID), PGBind(jobID)])
        query.reusesPlan = false
        try connection.execute(query)
    }
}
