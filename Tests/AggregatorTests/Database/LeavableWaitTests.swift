import Logging
import Testing
@testable import OutpostAggregator

/// The wait a ``PostgresPool`` statement runs in, without a database: the caller leaves work
/// that does not answer in time or that it no longer wants, and gets everything else unchanged.
@Suite("Leavable wait")
struct LeavableWaitTests {
    static let logger = Logger(label: "test.leavable")

    /// Bounds on waiting here are far above the times they stand for: the fast tier runs its
    /// suites side by side on two cooperative threads, and on a loaded machine a test's task
    /// waited about 50 s for a thread (a 30 s limit once fired before the work `{ 42 }` ran).
    static let unhurried: Duration = .seconds(600)

    @Test("work that answers in time: its value, and its own error unchanged")
    func answers() async throws {
        let value = try await LeavableWait.run(limit: Self.unhurried, logger: Self.logger) { 42 }
        #expect(value == 42)
        await #expect(throws: StoreError(.conflict, "")) {
            try await LeavableWait.run(limit: Self.unhurried, logger: Self.logger) { () async throws -> Int in
                throw StoreError(.conflict, "its own")
            }
        }
    }

    @Test("work with no answer within the limit is left: postgres_no_answer, long before the work would end")
    func noAnswer() async throws {
        let started = ContinuousClock.now
        let error = await #expect(throws: StoreError.self) {
            try await LeavableWait.run(limit: .milliseconds(200), logger: Self.logger) { () async -> Int in
                try? await Task.sleep(for: Self.unhurried * 6)
                return 1
            }
        }
        #expect(error?.code == .noAnswer)
        #expect(ContinuousClock.now - started < Self.unhurried)
    }

    @Test("the limit holds only while its condition does (a lease, not the work on the leased connection)")
    func limitWhile() async throws {
        let value = try await LeavableWait.run(limit: .milliseconds(100), while: { false }, logger: Self.logger) { () async throws -> Int in
            try await Task.sleep(for: .milliseconds(400))
            return 5
        }
        #expect(value == 5)
    }

    @Test("a cancelled caller leaves work that ignores cancellation, at once")
    func cancelled() async throws {
        let release = AsyncStream<Void>.makeStream()
        let caller = Task {
            try await LeavableWait.run(logger: Self.logger) { () async -> Int in
                // Ends only when the test says so, as a statement whose answer never comes.
                for await _ in release.stream {}
                return 1
            }
        }
        try await Task.sleep(for: .milliseconds(100))
        let started = ContinuousClock.now
        caller.cancel()
        await #expect(throws: CancellationError.self) { try await caller.value }
        #expect(ContinuousClock.now - started < Self.unhurried)
        release.continuation.finish()
    }
}
