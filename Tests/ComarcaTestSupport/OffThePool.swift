public import Foundation

/// Runs blocking work (a socket read, waiting for a child process) on a thread of its own.
/// Swift Testing runs tests on the cooperative pool, which has one thread per core: a test that
/// blocks one of them for seconds starves every other test and the server under test with it.
public func offThePool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread { continuation.resume(with: Result { try work() }) }
        thread.start()
    }
}
