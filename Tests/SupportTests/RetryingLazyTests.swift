import OutpostSupport
import Synchronization
import Testing

@Suite("RetryingLazy")
struct RetryingLazyTests {
    struct Unavailable: Error, Equatable {}

    @Test("a failure is not kept: the next use tries again; the first success is kept and never made again")
    func retriesUntilLoaded() throws {
        let attempts = Atomic<Int>(0)
        let lazy = RetryingLazy<Int, Unavailable> {
            let attempt = attempts.add(1, ordering: .sequentiallyConsistent).newValue
            return attempt < 3 ? .failure(Unavailable()) : .success(attempt * 10)
        }
        #expect(throws: Unavailable()) { try lazy.get() }
        #expect(throws: Unavailable()) { try lazy.get() }
        #expect(try lazy.get() == 30)
        #expect(try lazy.get() == 30)
        #expect(attempts.load(ordering: .sequentiallyConsistent) == 3)
    }
}
