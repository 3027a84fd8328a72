import Testing
@testable import OutpostAggregator

@Suite("Whole hours of a bucketed page (pure)")
struct BucketHoursTests {
    static let hour = ReadingsStore.hour

    @Test("the whole UTC hours inside [from, to): partial hours at either end are left out, none gives an empty range")
    func wholeHours() {
        #expect(ReadingsStore.wholeHours(from: 0, to: 3 * Self.hour) == 0..<3 * Self.hour)
        #expect(ReadingsStore.wholeHours(from: 1, to: 3 * Self.hour - 1) == Self.hour..<2 * Self.hour)
        #expect(ReadingsStore.wholeHours(from: Self.hour - 1, to: Self.hour + 1) == Self.hour..<Self.hour)
        #expect(ReadingsStore.wholeHours(from: 1, to: Self.hour - 1).isEmpty)
        #expect(ReadingsStore.wholeHours(from: 1, to: 2).lowerBound == Self.hour)
        // Before 1970 the hours are still aligned to the epoch.
        #expect(ReadingsStore.wholeHours(from: -Self.hour - 1, to: -1) == -Self.hour..<(-Self.hour))
        #expect(ReadingsStore.wholeHours(from: -2 * Self.hour - 1, to: 1) == -2 * Self.hour..<0)
    }
}
