public import Logging
import NIOConcurrencyHelpers
import NIOCore
public import NIOPosix
public import ServiceLifecycle

/// A bounded pool of libpq connections whose blocking calls run on the pool's own threads, never
/// on the caller's (so never on a NIO event loop). It is a `Service`: run it in a
/// `ServiceGroup` and it closes its connections on graceful shutdown.
public final class PGPool: Service, Sendable {
    public struct Configuration: Sendable {
        /// libpq URL or conninfo; empty means libpq's defaults (`PG*` variables).
        public var conninfo: String
        /// Connection parameters that override the conninfo (e.g. `user`).
        public var overrides: [String: String]
        public var maxConnections: Int
        /// How long `withConnection` waits for a free connection before failing with `.poolTimeout`.
        public var acquireTimeout: Duration

        /// Prepare statements and reuse their plans (see `PGConnection.usePreparedStatements`).
        /// Turn off behind a pooler in transaction mode that does not track them (PgBouncer
        /// before 1.21, or without `max_prepared_statements`).
        public var preparedStatements: Bool

        public init(
            conninfo: String, overrides: [String: String] = [:], maxConnections: Int = 10, acquireTimeout: Duration = .seconds(5),
            preparedStatements: Bool = true
        ) {
            self.conninfo = conninfo
            self.overrides = overrides
            self.maxConnections = max(1, maxConnections)
            self.acquireTimeout = acquireTimeout
            self.preparedStatements = preparedStatements
        }
    }

    public let configuration: Configuration
    private let threads: NIOThreadPool
    private let state: PoolState
    private let logger: Logger

    public init(configuration: Configuration, logger: Logger = Logger(label: "comarca.pg")) {
        self.configuration = configuration
        self.logger = logger
        // One thread per connection: a thread only ever blocks on the connection it is using.
        self.threads = NIOThreadPool(numberOfThreads: configuration.maxConnections)
        self.threads.start()
        self.state = PoolState(maxConnections: configuration.maxConnections)
    }

    /// Runs `body` with a connection of its own on a pool thread. A connection that broke during
    /// `body` is discarded rather than returned.
    public func withConnection<T: Sendable>(_ body: @escaping @Sendable (PGConnection) throws -> T) async throws -> T {
        let connection = try await acquire()
        do {
            let value = try await threads.runIfActive { try body(connection) }
            await release(connection)
            return value
        } catch {
            await release(connection)
            throw error
        }
    }

    /// Runs `body` with two connections of its own (work that keeps a second session busy while
    /// the first writes, e.g. an import's search tokens), on one pool thread. Both are returned,
    /// or discarded if broken, afterwards.
    public func withConnectionPair<T: Sendable>(_ body: @escaping @Sendable (PGConnection, PGConnection) throws -> T) async throws -> T {
        let first = try await acquire()
        let second: PGConnection
        do {
            second = try await acquire()
        } catch {
            await release(first)
            throw error
        }
        do {
            let value = try await threads.runIfActive { try body(first, second) }
            await release(first)
            await release(second)
            return value
        } catch {
            await release(first)
            await release(second)
            throw error
        }
    }

    /// Runs `body` in one transaction with the given transaction-local settings.
    public func withTransaction<T: Sendable>(
        settings: [PGSetting] = [], _ body: @escaping @Sendable (PGConnection) throws -> T
    ) async throws -> T {
        try await withConnection { connection in
            try connection.transaction(settings: settings, body)
        }
    }

    /// Connections currently open (leased or idle), leased, and callers waiting.
    public func statistics() async -> (open: Int, leased: Int, waiting: Int) {
        state.statistics()
    }

    public func run() async throws {
        try? await gracefulShutdown()
        await close()
    }

    /// Closes idle connections, fails waiters, and stops the pool threads. Idempotent.
    public func close() async {
        let idle = state.close()
        for waiter in idle.waiters { waiter.resume(throwing: PGError(kind: .poolClosed, message: "the connection pool was closed")) }
        _ = idle.connections
        try? await threads.shutdownGracefully()
    }

    // MARK: - Lease

    private func acquire() async throws -> PGConnection {
        switch try state.lease() {
        case .reuse(let connection):
            if connection.isUsable { return connection }
            logger.info("replacing a connection the server closed", metadata: ["pid": "\(connection.backendPID)"])
            state.discard()
            return try await acquire()
        case .open:
            do {
                return try await openConnection()
            } catch {
                state.openFailed()
                throw error
            }
        case .wait(let id):
            let timeout = configuration.acquireTimeout
            let state = self.state
            let timer = Task {
                try await Task.sleep(for: timeout)
                state.timeOut(waiter: id)
            }
            defer { timer.cancel() }
            let handoff = try await state.wait(id: id)
            switch handoff {
            case .connection(let connection):
                if connection.isUsable { return connection }
                state.discard()
                return try await acquire()
            case .openSlot:
                do {
                    return try await openConnection()
                } catch {
                    state.openFailed()
                    throw error
                }
            }
        }
    }

    private func openConnection() async throws -> PGConnection {
        let configuration = self.configuration
        return try await threads.runIfActive {
            let connection = try PGConnection.connect(configuration.conninfo, overrides: configuration.overrides)
            connection.usePreparedStatements = configuration.preparedStatements
            return connection
        }
    }

    private func release(_ connection: PGConnection) async {
        // A connection left mid-transaction (a body that opened one and threw) is not reusable.
        if connection.transactionState != .idle {
            connection.rollbackQuietly()
        }
        let healthy = connection.transactionState == .idle && connection.isUsable
        state.giveBack(healthy ? connection : nil)
    }
}

/// The pool's bookkeeping: a few fields behind a lock, so taking and returning an idle
/// connection costs no task hop (an actor here cost two thread switches per checkout).
/// Continuations are always resumed outside the lock.
private final class PoolState: @unchecked Sendable {
    enum Lease {
        case reuse(PGConnection)
        case open
        case wait(UInt64)
    }

    enum Handoff {
        case connection(PGConnection)
        /// A slot was freed (a broken connection was dropped): the waiter opens a new one.
        case openSlot
    }

    private let lock = NIOLock()
    private let maxConnections: Int
    private var idle: [PGConnection] = []
    private var open = 0
    private var waiters: [(id: UInt64, continuation: CheckedContinuation<Handoff, any Error>?)] = []
    private var nextWaiter: UInt64 = 0
    private var closed = false

    init(maxConnections: Int) {
        self.maxConnections = maxConnections
    }

    func statistics() -> (open: Int, leased: Int, waiting: Int) {
        lock.withLock { (open, open - idle.count, waiters.count) }
    }

    func lease() throws -> Lease {
        try lock.withLock {
            if closed { throw PGError(kind: .poolClosed, message: "the connection pool was closed") }
            if let connection = idle.popLast() { return .reuse(connection) }
            if open < maxConnections {
                open += 1
                return .open
            }
            nextWaiter += 1
            waiters.append((nextWaiter, nil))
            return .wait(nextWaiter)
        }
    }

    func wait(id: UInt64) async throws -> Handoff {
        try await withCheckedThrowingContinuation { continuation in
            let registered = lock.withLock { () -> Bool in
                guard let index = waiters.firstIndex(where: { $0.id == id }) else { return false }
                waiters[index].continuation = continuation
                return true
            }
            // Timed out between lease() and wait().
            if !registered { continuation.resume(throwing: PoolState.timeoutError) }
        }
    }

    func timeOut(waiter id: UInt64) {
        let continuation = lock.withLock { () -> CheckedContinuation<Handoff, any Error>?? in
            guard let index = waiters.firstIndex(where: { $0.id == id }) else { return nil }
            return waiters.remove(at: index).continuation
        }
        continuation??.resume(throwing: PoolState.timeoutError)
    }

    static let timeoutError = PGError(
        kind: .poolTimeout,
        message: "no database connection became free within the acquire timeout; the pool is exhausted"
    )

    /// Returns a connection (nil when it broke) and hands it, or its slot, to the oldest waiter.
    func giveBack(_ connection: PGConnection?) {
        let waiter = lock.withLock { () -> CheckedContinuation<Handoff, any Error>? in
            if let index = waiters.firstIndex(where: { $0.continuation != nil }) {
                return waiters.remove(at: index).continuation
            }
            if let connection, !closed {
                idle.append(connection)
            } else {
                open -= 1
            }
            return nil
        }
        if let connection {
            waiter?.resume(returning: .connection(connection))
        } else {
            waiter?.resume(returning: .openSlot)
        }
    }

    /// A leased connection turned out dead before use: free its slot.
    func discard() {
        lock.withLock { open -= 1 }
    }

    func openFailed() {
        // Let a waiter try in the freed slot instead of waiting out its timeout.
        let waiter = lock.withLock { () -> CheckedContinuation<Handoff, any Error>? in
            open -= 1
            guard let index = waiters.firstIndex(where: { $0.continuation != nil }) else { return nil }
            open += 1
            return waiters.remove(at: index).continuation
        }
        waiter?.resume(returning: .openSlot)
    }

    func close() -> (connections: [PGConnection], waiters: [CheckedContinuation<Handoff, any Error>]) {
        lock.withLock {
            closed = true
            let connections = idle
            open -= idle.count
            idle.removeAll()
            let pending = waiters.compactMap(\.continuation)
            waiters.removeAll()
            return (connections, pending)
        }
    }
}
