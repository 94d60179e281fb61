public import ComarcaCore
public import Foundation
public import Logging
import PGClient

/// Where uploaded files wait for their import, how large they may be, and how many imports run
/// at once in this process.
public struct ImportSettings: Sendable {
    /// Uploads are streamed here (created 0700), one directory per upload.
    public var spoolDirectory: URL
    /// The largest `POST /v1/imports` body; every other route keeps its 1 MiB limit.
    public var maxUploadBytes: Int
    /// Rows per write transaction.
    public var batchSize: Int
    /// Imports running at once; each holds one pool connection for its whole run. nil: half the pool.
    public var maxConcurrentJobs: Int?

    public static let defaultMaxUploadBytes = 1 << 30

    public init(spoolDirectory: URL, maxUploadBytes: Int = ImportSettings.defaultMaxUploadBytes, batchSize: Int = 20_000, maxConcurrentJobs: Int? = nil) {
        self.spoolDirectory = spoolDirectory
        self.maxUploadBytes = maxUploadBytes
        self.batchSize = batchSize
        self.maxConcurrentJobs = maxConcurrentJobs
    }

    /// `$COMARCA_IMPORT_SPOOL` (default `comarca-imports` in the system temporary directory),
    /// `$COMARCA_IMPORT_MAX_BYTES` (default 1 GiB), `$COMARCA_IMPORT_CONCURRENCY`.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> ImportSettings {
        let spool = environment["COMARCA_IMPORT_SPOOL"].flatMap { $0.isEmpty ? nil : URL(fileURLWithPath: $0, isDirectory: true) }
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("comarca-imports", isDirectory: true)
        let maxBytes = environment["COMARCA_IMPORT_MAX_BYTES"].flatMap(Int.init).flatMap { $0 > 0 ? $0 : nil } ?? defaultMaxUploadBytes
        let concurrency = environment["COMARCA_IMPORT_CONCURRENCY"].flatMap(Int.init).flatMap { $0 > 0 ? $0 : nil }
        return ImportSettings(spoolDirectory: spool, maxUploadBytes: maxBytes, maxConcurrentJobs: concurrency)
    }
}

/// Runs import jobs in the background of the service, each on a pool connection of its own for
/// its whole run (the engine opens its own transactions on it), as the user who started it. A
/// job outlives the request that created it: its progress is in the database, and a job a dead
/// process left behind is picked up again by `resumeInterrupted()` when the service starts.
public final class ImportJobRunner: Sendable {
    public let settings: ImportSettings
    let database: Database
    let logger: Logger
    private let slots: JobSlots
    private let pairs: Bool

    public init(database: Database, settings: ImportSettings = .fromEnvironment(), logger: Logger = Logger(label: "comarca.import")) {
        self.database = database
        self.settings = settings
        self.logger = logger
        // A job holds two connections (its batches and their search tokens) when the pool can
        // spare them and still serve requests; jobs beyond the slots wait.
        let pool = database.pool.configuration.maxConnections
        self.pairs = pool >= 4
        self.slots = JobSlots(settings.maxConcurrentJobs ?? max(1, pairs ? pool / 4 : pool / 2))
    }

    /// Starts `jobID` in the background; `upload` is the spool directory to remove once the job is over.
    func start(_ session: Session, jobID: UUID, upload: URL?) {
        Task { await self.execute(session, jobID: jobID, upload: upload) }
    }

    /// Runs, in the background, every job of every tenant that is still queued or running (a
    /// previous process died or was stopped mid-job); rows already written are not written again.
    /// Call it before the service accepts requests. Returns how many jobs were started.
    @discardableResult
    public func resumeInterrupted() async throws -> Int {
        let jobs = try await database.pool.withTransaction { connection in
            try connection.query("SELECT tenant_id, job_id, created_by, role_override FROM comarca.import_jobs_to_resume()")
                .decode((UUID, UUID, UUID, UUID?).self)
        }
        var started = 0
        for (tenantID, jobID, creator, roleOverride) in jobs {
            let metadata: Logger.Metadata = ["import": .string(jobID.uuidString.lowercased()), "tenantId": .string(tenantID.uuidString.lowercased())]
            do {
                // With the API token's own role when a token started it (never more than it had).
                let session = try await database.pool.withConnection {
                    try SessionLoader.load(tenantID: tenantID, userID: creator, roleOverride: roleOverride, on: $0)
                }
                logger.info("resuming import", metadata: metadata)
                start(session, jobID: jobID, upload: nil)
                started += 1
            } catch let error as CoreError {
                // The user who started it was deactivated (or the tenant suspended): nobody may
                // act as them, so the job ends here, saying why, instead of waiting for every
                // restart. What it wrote stays (undo removes it).
                logger.warning("cannot resume import: its creator has no session; marking it failed", metadata: metadata.merging(["error": "\(error.message)"]) { $1 })
                _ = try? await database.pool.withTransaction(settings: AccessScope.operator_(tenantID: tenantID).settings) { c in
                    try c.execute("""
                        UPDATE import_jobs
                           SET status = 'failed', finished_at = now(), heartbeat_at = now(),
                               failure = 'the user who started this import can no longer act (deactivated, or the company suspended); it was not resumed. Rows written before stay; undo the import to remove them, or import the rest as another user.'
                         WHERE tenant_id = \(tenantID) AND job_id = \(jobID) AND status IN ('queued', 'running')
                        """)
                }
            } catch {
                // Not the creator's fault (e.g. the database went away): tried again at next start.
                logger.warning("cannot resume import now", metadata: metadata.merging(["error": "\(error)"]) { $1 })
            }
        }
        removeEmptyUploadDirectories()
        return started
    }

    func execute(_ session: Session, jobID: UUID, upload: URL?) async {
        var metadata: Logger.Metadata = ["import": .string(jobID.uuidString.lowercased()), "tenant": .string(session.tenantSlug)]
        var finished = false
        // The run holds a lock on the job; the session of a process that just died may hold it
        // a little longer, so a job that is locked but not over is tried again for a minute.
        for attempt in 1...30 {
            await slots.acquire()
            logger.info("import running", metadata: metadata)
            var locked = false
            do {
                let batchSize = settings.batchSize
                let job = try await withConnections { connection, tokens in
                    try ImportService.run(session, jobID: jobID, on: connection, tokenConnection: tokens, batchSize: batchSize)
                }
                finished = job.isFinished
                metadata["status"] = .string(job.status)
                metadata["rows"] = .stringConvertible(job.rowsTotal ?? 0)
                metadata["created"] = .stringConvertible(job.counts.created)
                metadata["updated"] = .stringConvertible(job.counts.updated)
                metadata["skipped"] = .stringConvertible(job.counts.skipped)
                metadata["rejected"] = .stringConvertible(job.counts.rejected)
                logger.info("import finished", metadata: metadata)
            } catch {
                let job = try? await database.withScope(session.accessScope) { try ImportService.get(session, id: jobID, on: $0) }
                finished = job?.isFinished ?? false
                locked = (error as? CoreError)?.code == .conflict && !finished
                var failure = metadata
                failure["error"] = .string("\(error)")
                if locked {
                    logger.notice("import held by another session; trying again", metadata: failure)
                } else if error is CoreError {
                    // A file the engine refused is the importer's problem, not the service's.
                    logger.warning("import stopped", metadata: failure)
                } else {
                    logger.error("import failed", metadata: failure)
                }
            }
            await slots.release()
            guard locked, attempt < 30 else { break }
            try? await Task.sleep(for: .seconds(2))
        }
        // A job that is not over (another process holds it) still needs its file.
        if finished, let upload { removeUpload(upload) }
    }

    /// Pool connections for a whole job (a second one for search tokens when the pool has room);
    /// waits for them rather than failing when the pool is busy.
    private func withConnections<T: Sendable>(_ body: @escaping @Sendable (PGConnection, PGConnection?) throws -> T) async throws -> T {
        var attempt = 0
        while true {
            do {
                if pairs { return try await database.pool.withConnectionPair { try body($0, $1) } }
                return try await database.pool.withConnection { try body($0, nil) }
            } catch let error as PGError where error.kind == .poolTimeout && attempt < 120 {
                attempt += 1
                try await Task.sleep(for: .seconds(1))
            }
        }
    }

    // MARK: - Spool

    /// Makes the spool directory (0700) and a new directory in it for one upload.
    func makeUploadDirectory() throws -> URL {
        let manager = FileManager.default
        let root = settings.spoolDirectory
        if !manager.fileExists(atPath: root.path) {
            try manager.createDirectory(at: root, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        let directory = root.appendingPathComponent(UUID().uuidString.lowercased(), isDirectory: true)
        try manager.createDirectory(at: directory, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        return directory
    }

    /// Removes an upload's directory (only ever one directly inside the spool directory).
    func removeUpload(_ directory: URL) {
        let root = settings.spoolDirectory.standardizedFileURL.path
        guard directory.standardizedFileURL.deletingLastPathComponent().path == root else { return }
        try? FileManager.default.removeItem(at: directory)
    }

    /// Upload directories left empty by jobs resumed after a restart (the engine deletes the file
    /// of a completed job itself). Only old ones: a new upload's directory is empty for a moment.
    func removeEmptyUploadDirectories(olderThan age: TimeInterval = 3600) {
        let manager = FileManager.default
        guard let entries = try? manager.contentsOfDirectory(at: settings.spoolDirectory, includingPropertiesForKeys: nil) else { return }
        let cutoff = Date().addingTimeInterval(-age)
        for entry in entries {
            guard (try? manager.contentsOfDirectory(atPath: entry.path))?.isEmpty == true,
                let modified = (try? manager.attributesOfItem(atPath: entry.path))?[.modificationDate] as? Date, modified < cutoff
            else { continue }
            try? manager.removeItem(at: entry)
        }
    }
}

/// At most `count` jobs run at once; the others wait their turn (and stay `queued`).
private actor JobSlots {
    private var free: Int
    private var waiters: [CheckedContinuation<Void, Never>] = []

    init(_ count: Int) {
        free = max(1, count)
    }

    func acquire() async {
        if free > 0 {
            free -= 1
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    func release() {
        if waiters.isEmpty {
            free += 1
        } else {
            waiters.removeFirst().resume()
        }
    }
}
