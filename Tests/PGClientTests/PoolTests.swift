import ComarcaTestSupport
import Foundation
import NIOCore
import NIOPosix
import PGClient
import Testing

actor Flag {
    private(set) var value = false
    func set() { value = true }
}

@Suite("connection pool")
struct PoolTests {
    @Test("an exhausted pool fails a waiting caller with the pool timeout error")
    func exhaustedPoolTimesOut() async throws {
        try await TestDatabase.withEmpty { database in
            let pool = PGPool(configuration: database.ownerPoolConfiguration(maxConnections: 1, acquireTimeout: .milliseconds(200)))
            // The holder keeps the only connection far longer than the timeout; the waiter must be
            // failed by the timeout while the holder still holds it (not served when it is done).
            // No wall-clock bound: other suites block the cooperative threads on a busy machine.
            let released = Flag()
            let holder = Task {
                defer { Task { await released.set() } }
                return try await pool.withConnection { try $0.query("SELECT pg_sleep(6)") }
            }
            try await Task.sleep(for: .milliseconds(300))
            let error = await #expect(throws: PGError.self) { try await pool.withConnection { try $0.query("SELECT 1") } }
            #expect(error?.kind == .poolTimeout)
            #expect(await released.value == false, "the waiter waited for the holder instead of timing out")
            _ = try await holder.value
            // Once free, the connection serves again.
            #expect(try await pool.withConnection { try $0.query("SELECT 1").scalar(Int.self) } == 1)
            await pool.close()
        }
    }

    @Test("waiters are served in turn when connections come back")
    func waitersAreServed() async throws {
        try await TestDatabase.withEmpty { database in
            let pool = PGPool(configuration: database.ownerPoolConfiguration(maxConnections: 2, acquireTimeout: .seconds(10)))
            let sum = try await withThrowingTaskGroup(of: Int.self) { group in
                for n in 1...20 {
                    group.addTask { try await pool.withConnection { try $0.query("SELECT \(n) FROM pg_sleep(0.01)").scalar(Int.self) } }
                }
                return try await group.reduce(0, +)
            }
            #expect(sum == 210)
            let stats = await pool.statistics()
            #expect(stats.open <= 2)
            #expect(stats.waiting == 0)
            await pool.close()
        }
    }

    @Test("a backend killed with pg_terminate_backend is replaced and the next query succeeds")
    func killedBackendIsReplaced() async throws {
        try await TestDatabase.withEmpty { database in
            let pool = PGPool(configuration: database.ownerPoolConfiguration(maxConnections: 1))
            let first = try await pool.withConnection { $0.backendPID }
            let killer = try database.connectAsOwner()
            #expect(try killer.query("SELECT pg_terminate_backend(\(first))").scalar(Bool.self))
            try await Task.sleep(for: .milliseconds(100))
            let (pid, one) = try await pool.withConnection { ($0.backendPID, try $0.query("SELECT 1").scalar(Int.self)) }
            #expect(one == 1)
            #expect(pid != first)
            await pool.close()
        }
    }

    @Test("a connection that dies mid-query fails that call only; the pool recovers")
    func midQueryDeathRecovers() async throws {
        try await TestDatabase.withEmpty { database in
            let pool = PGPool(configuration: database.ownerPoolConfiguration(maxConnections: 1))
            let victim = try await pool.withConnection { $0.backendPID }
            let killer = try database.connectAsOwner()
            let failing = Task { try await pool.withConnection { try $0.query("SELECT pg_sleep(5)") } }
            try await Task.sleep(for: .milliseconds(300))
            _ = try killer.query("SELECT pg_terminate_backend(\(victim))")
            let error = await #expect(throws: PGError.self) { _ = try await failing.value }
            #expect(error?.isConnectionLoss == true)
            #expect(try await pool.withConnection { try $0.query("SELECT 2").scalar(Int.self) } == 2)
            await pool.close()
        }
    }

    @Test("libpq work runs on pool threads, never on a NIO event loop")
    func workRunsOffEventLoops() async throws {
        try await TestDatabase.withEmpty { database in
            let pool = PGPool(configuration: database.ownerPoolConfiguration(maxConnections: 2))
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            let onLoop = try await group.next().submit {
                Task { try await pool.withConnection { _ in MultiThreadedEventLoopGroup.currentEventLoop != nil } }
            }.get().value
            #expect(onLoop == false)
            try await group.shutdownGracefully()
            await pool.close()
        }
    }

    @Test("a closed pool refuses new work with a clear error")
    func closedPoolRefuses() async throws {
        try await TestDatabase.withEmpty { database in
            let pool = PGPool(configuration: database.ownerPoolConfiguration())
            await pool.close()
            let error = await #expect(throws: PGError.self) { try await pool.withConnection { _ in 1 } }
            #expect(error?.kind == .poolClosed)
        }
    }
}
