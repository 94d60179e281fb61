public import CLibPQ
import Foundation

/// One libpq connection. Every call blocks the calling thread until the server answers, so use it
/// from a `PGPool` (which runs work on its own threads) or from a plain thread, never from an
/// event loop. A connection is used by one thread at a time; the pool guarantees that.
public final class PGConnection: @unchecked Sendable {
    let handle: OpaquePointer

    /// Connects with a libpq URL or `key=value` string. An empty string means "libpq defaults",
    /// so `PGHOST`, `PGUSER`, `PGPASSWORD`, `.pgpass` and the rest apply as usual.
    /// `overrides` replace parameters of the connection string (e.g. `["user": "comarca_app"]`).
    public static func connect(_ conninfo: String, overrides: [String: String] = [:]) throws -> PGConnection {
        // Later keywords override those expanded from `dbname`, so overrides win over the URL.
        var pairs: [(String, String)] = [("dbname", conninfo)]
        pairs += overrides.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        pairs.append(("client_encoding", "UTF8"))
        pairs.append(("fallback_application_name", "comarca"))

        let keys = pairs.map { strdup($0.0) }
        let values = pairs.map { strdup($0.1) }
        defer {
            keys.forEach { free($0) }
            values.forEach { free($0) }
        }
        var keyPointers: [UnsafePointer<CChar>?] = keys.map { UnsafePointer($0) } + [nil]
        var valuePointers: [UnsafePointer<CChar>?] = values.map { UnsafePointer($0) } + [nil]
        guard let conn = PQconnectdbParams(&keyPointers, &valuePointers, 1) else {
            throw PGError(kind: .connection, message: "libpq could not allocate a connection")
        }
        guard PQstatus(conn) == CONNECTION_OK else {
            let message = String(cString: PQerrorMessage(conn)).trimmingCharacters(in: .whitespacesAndNewlines)
            PQfinish(conn)
            throw PGError(kind: .connection, code: .connectionFailure, message: message)
        }
        // libpq prints every NOTICE ("table … does not exist, skipping") to stderr by default,
        // into the CLI's output and the server's logs. They are PostgreSQL's chatter about our own
        // statements; only a WARNING is worth a line.
        PQsetNoticeReceiver(conn, { _, result in
            guard let result, let severity = PQresultErrorField(result, Int32(UInt8(ascii: "V"))),
                  String(cString: severity) == "WARNING", let text = PQresultErrorMessage(result) else { return }
            FileHandle.standardError.write(Data(("comarca: PostgreSQL " + String(cString: text)).utf8))
        }, nil)
        let connection = PGConnection(handle: conn)
        try connection.prepareSession()
        return connection
    }

    private init(handle: OpaquePointer) {
        self.handle = handle
    }

    deinit {
        PQfinish(handle)
    }

    /// Date decoding reads ISO output; set it only when the server default differs.
    private func prepareSession() throws {
        if let style = parameterStatus("DateStyle"), style.hasPrefix("ISO") { return }
        _ = try simpleQuery(unsafeSQL: "SET DateStyle TO ISO")
    }

    // MARK: - State

    public var backendPID: Int32 { PQbackendPID(handle) }
    public var serverVersion: Int { Int(PQserverVersion(handle)) }

    public func parameterStatus(_ name: String) -> String? {
        guard let value = PQparameterStatus(handle, name) else { return nil }
        return String(cString: value)
    }

    public enum TransactionState: Sendable {
        case idle, active, inTransaction, inFailedTransaction, unknown
    }

    public var transactionState: TransactionState {
        // A transaction whose BEGIN waits to go out with its first statement is open already.
        if pendingBegin != nil { return .inTransaction }
        switch PQtransactionStatus(handle) {
        case PQTRANS_IDLE: return .idle
        case PQTRANS_ACTIVE: return .active
        case PQTRANS_INTRANS: return .inTransaction
        case PQTRANS_INERROR: return .inFailedTransaction
        default: return .unknown
        }
    }

    /// Whether the connection can take a new request: open, idle, and not closed by the server.
    /// A backend ended by `pg_terminate_backend` or a server restart has already sent its goodbye;
    /// reading it here (without a round trip) lets the pool replace the connection before use.
    public var isUsable: Bool {
        guard PQstatus(handle) == CONNECTION_OK else { return false }
        let fd = PQsocket(handle)
        guard fd >= 0 else { return false }
        var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        // The goodbye is an error message followed by EOF; keep reading until the socket is quiet
        // so the EOF is seen (libpq treats the message alone as a notice on an idle connection).
        var reads = 0
        while poll(&descriptor, 1, 0) > 0 {
            if PQconsumeInput(handle) == 0 || PQstatus(handle) != CONNECTION_OK { return false }
            while let notice = PQnotifies(handle) { PQfreemem(notice) }
            _ = PQisBusy(handle)
            reads += 1
            if reads > 16 { return false }
        }
        return PQstatus(handle) == CONNECTION_OK && transactionState == .idle
    }

    // MARK: - Queries

    /// Runs one statement with its binds; returns its rows (empty for commands).
    @discardableResult
    public func query(_ query: PGQuery) throws -> PGRows {
        if let begin = pendingBegin {
            // The transaction's BEGIN and settings travel with its first statement.
            pendingBegin = nil
            return try pipeline(begin + [query]).last!
        }
        // Only statements with binds: their text repeats with new values. Text without binds
        // (SET LOCAL with an escaped literal, DDL) would only fill the cache.
        guard usePreparedStatements, query.reusesPlan, !query.binds.isEmpty else {
            let result = try withParameters(query.binds) { count, types, values in
                PQexecParams(handle, query.sql, count, types, values, nil, nil, 0)
            }
            return try PGResult(result, connection: self).rows()
        }
        let name = try preparedStatement(for: query)
        let result = try withParameters(query.binds) { count, _, values in
            PQexecPrepared(handle, name, count, values, nil, nil, 0)
        }
        do {
            return try PGResult(result, connection: self).rows()
        } catch let error as PGError where error.code?.rawValue == "26000" {
            // The server no longer has it (DISCARD ALL by a pooler): prepare again next time.
            forgetPreparedStatements()
            throw error
        }
    }

    // MARK: - Prepared statements

    /// Statements are prepared on first use and their plans reused on this connection: planning a
    /// statement with row-level security policies costs more than running it (measured 0.17 ms to
    /// plan vs 0.07 ms to run the latest-50 list). Keyed by SQL text and parameter types; at most
    /// `maxPreparedStatements`, the oldest deallocated first.
    public var usePreparedStatements = true
    static let maxPreparedStatements = 200
    private var prepared: [PreparedKey: String] = [:]
    private var preparedOrder: [PreparedKey] = []
    private var nextPrepared = 0

    private struct PreparedKey: Hashable {
        let sql: String
        let types: [PGOID]
    }

    /// Whether `query` runs as a prepared statement on this connection.
    func usesPreparedStatement(_ query: PGQuery) -> Bool {
        usePreparedStatements && query.reusesPlan && !query.binds.isEmpty
    }

    func preparedStatement(for query: PGQuery) throws -> String {
        let key = PreparedKey(sql: query.sql, types: query.binds.map(\.oid))
        if let name = prepared[key] { return name }
        if preparedOrder.count >= Self.maxPreparedStatements, transactionState == .idle {
            let oldest = preparedOrder.removeFirst()
            if let name = prepared.removeValue(forKey: oldest) {
                _ = try? simpleQuery(unsafeSQL: "DEALLOCATE \(name)")
            }
        }
        nextPrepared += 1
        let name = "comarca_\(nextPrepared)"
        let types = key.types.map { Oid($0) }
        let result = types.withUnsafeBufferPointer { buffer in
            PQprepare(handle, name, query.sql, Int32(types.count), buffer.baseAddress)
        }
        try PGResult(result, connection: self).checkSuccess()
        prepared[key] = name
        preparedOrder.append(key)
        return name
    }

    func forgetPreparedStatements() {
        prepared.removeAll()
        preparedOrder.removeAll()
    }

    /// Runs a statement and returns the number of rows it affected.
    @discardableResult
    public func execute(_ query: PGQuery) throws -> Int {
        try self.query(query).affectedRows
    }

    /// Runs SQL text without binds through the simple protocol; several statements separated by
    /// `;` are allowed (migrations). Returns the last statement's rows.
    @discardableResult
    public func simpleQuery(unsafeSQL sql: String) throws -> PGRows {
        try sendPendingBegin()
        let result = PQexec(handle, sql)
        return try PGResult(result, connection: self).rows()
    }

    /// Quotes a string as an SQL literal with libpq's own escaping (respects the connection's
    /// encoding and `standard_conforming_strings`).
    public func escapeLiteral(_ value: String) throws -> String {
        let utf8Count = value.utf8.count
        guard let escaped = PQescapeLiteral(handle, value, utf8Count) else {
            throw PGError(kind: .invalidUsage, message: "libpq could not escape a literal: \(lastErrorMessage)")
        }
        defer { PQfreemem(escaped) }
        return String(cString: escaped)
    }

    /// Quotes a name as an SQL identifier with libpq's own escaping, for names that cannot be
    /// bound (a table read from the catalog).
    public func escapeIdentifier(_ name: String) throws -> String {
        guard let escaped = PQescapeIdentifier(handle, name, name.utf8.count) else {
            throw PGError(kind: .invalidUsage, message: "libpq could not escape an identifier: \(lastErrorMessage)")
        }
        defer { PQfreemem(escaped) }
        return String(cString: escaped)
    }

    /// Sets a transaction-local custom setting (`SET LOCAL comarca.tenant_id = '…'`), the value
    /// escaped by libpq. Only valid inside a transaction.
    public func setLocal(_ setting: PGSetting) throws {
        // While the transaction's BEGIN is still waiting for its first statement, the setting
        // joins it: no round trip of its own.
        if pendingBegin != nil {
            pendingBegin!.append(try setLocalQuery(setting))
            return
        }
        try query(setLocalQuery(setting))
    }

    func setLocalQuery(_ setting: PGSetting) throws -> PGQuery {
        PGQuery(unsafeSQL: "SET LOCAL \(setting.name) = \(try escapeLiteral(setting.value))")
    }

    var lastErrorMessage: String {
        String(cString: PQerrorMessage(handle)).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    // MARK: - Transactions

    /// Runs `body` in a transaction with the given transaction-local settings applied first.
    /// Commits when `body` returns, rolls back when it throws (and rethrows).
    ///
    /// BEGIN and the settings are not sent on their own: they go in one round trip with the
    /// transaction's first statement (a transaction whose body sends nothing sends nothing).
    public func transaction<T>(settings: [PGSetting] = [], _ body: (PGConnection) throws -> T) throws -> T {
        guard transactionState == .idle else {
            throw PGError(kind: .invalidUsage, message: "a transaction is already open on this connection")
        }
        do {
            pendingBegin = try ["BEGIN"] + settings.map(setLocalQuery)
            let value = try body(self)
            if pendingBegin != nil {
                pendingBegin = nil
                return value
            }
            try simpleQuery(unsafeSQL: "COMMIT")
            return value
        } catch {
            rollbackQuietly()
            throw error
        }
    }

    /// Rolls back whatever transaction is open; errors are ignored because the caller is already
    /// handling the one that matters (and a lost connection cannot roll back anyway).
    func rollbackQuietly() {
        pendingBegin = nil
        guard PQstatus(handle) == CONNECTION_OK, transactionState != .idle else { return }
        if let result = PQexec(handle, "ROLLBACK") { PQclear(result) }
    }

    /// BEGIN and SET LOCALs of the open transaction that have not been sent yet.
    var pendingBegin: [PGQuery]?

    /// Sends a transaction's deferred BEGIN and settings now (before work that cannot carry them).
    func sendPendingBegin() throws {
        guard let begin = pendingBegin else { return }
        pendingBegin = nil
        _ = try pipeline(begin)
    }

    // MARK: - Parameters

    /// Lays binds out as the C arrays libpq wants, alive only for the duration of `body`.
    func withParameters<R>(
        _ binds: [PGBind],
        _ body: (Int32, UnsafePointer<Oid>?, UnsafePointer<UnsafePointer<CChar>?>?) throws -> R
    ) rethrows -> R {
        if binds.isEmpty { return try body(0, nil, nil) }
        let copies: [UnsafeMutablePointer<CChar>?] = binds.map { bind in bind.text.map { strdup($0) } }
        defer { copies.forEach { free($0) } }
        let types: [Oid] = binds.map { Oid($0.oid) }
        let values: [UnsafePointer<CChar>?] = copies.map { $0.map { UnsafePointer($0) } }
        return try types.withUnsafeBufferPointer { typePointer in
            try values.withUnsafeBufferPointer { valuePointer in
                try body(Int32(binds.count), typePointer.baseAddress, valuePointer.baseAddress)
            }
        }
    }
}

/// A transaction-local custom setting, e.g. `comarca.tenant_id`. The name is checked against
/// PostgreSQL's `prefix.name` form because it is spliced into `SET LOCAL` (values never are).
public struct PGSetting: Sendable, Hashable {
    public let name: String
    public let value: String

    /// Plans of named prepared statements in this transaction are generic: planned once per
    /// connection instead of on every execution. Only for statements whose best plan does not
    /// depend on their parameter values (PostgreSQL re-planned an RLS-laden list on every request
    /// because it judged the generic plan no cheaper: 0.13–0.17 ms of planning for 0.05 ms of work).
    public static let genericPlans = PGSetting(unchecked: "plan_cache_mode", "force_generic_plan")

    private init(unchecked name: String, _ value: String) {
        self.name = name
        self.value = value
    }

    public init(_ name: String, _ value: String) throws {
        guard Self.isValidName(name) else {
            throw PGError(kind: .invalidUsage, message: "invalid setting name \(name): expected prefix.name")
        }
        self.name = name.utf8.contains(where: { $0 >= 65 && $0 <= 90 }) ? name.lowercased() : name
        self.value = value
    }

    /// `prefix.name`, each part an ASCII letter or `_` followed by ASCII letters, digits or `_`.
    /// Checked on bytes: settings are built for every request.
    static func isValidName(_ name: String) -> Bool {
        var parts = 1
        var atPartStart = true
        for byte in name.utf8 {
            let letter = (byte >= 65 && byte <= 90) || (byte >= 97 && byte <= 122) || byte == 95
            let digit = byte >= 48 && byte <= 57
            if byte == 46 {
                if atPartStart { return false }
                parts += 1
                atPartStart = true
            } else if atPartStart {
                guard letter else { return false }
                atPartStart = false
            } else {
                guard letter || digit else { return false }
            }
        }
        return parts == 2 && !atPartStart
    }
}
