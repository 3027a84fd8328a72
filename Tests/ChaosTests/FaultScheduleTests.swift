import Testing
@testable import ChaosCampaign

@Suite("Fault schedule")
struct FaultScheduleTests {
    static let settings = FaultSchedule.Settings(gapSeconds: 3...7, restartDelaySeconds: 1...8, deviceProcesses: 3, aggregators: 2)

    static func plan(seed: UInt64, count: Int, settings: FaultSchedule.Settings = settings) -> [FaultSchedule.Fault] {
        var schedule = FaultSchedule(seed: seed, settings: settings)
        return (0..<count).map { _ in schedule.next() }
    }

    @Test("one seed always plans the same faults; another seed plans others")
    func deterministic() {
        let first = Self.plan(seed: 42, count: 40), again = Self.plan(seed: 42, count: 40), other = Self.plan(seed: 43, count: 40)
        #expect(first == again)
        #expect(first != other)
        #expect(first.map(\.number) == Array(1...40))
    }

    @Test("every round of four faults hits each kind once, so a short run covers all four")
    func everyKindPerRound() {
        for seed in UInt64(0)..<50 {
            let faults = Self.plan(seed: seed, count: 16)
            for round in stride(from: 0, to: 16, by: 4) {
                #expect(Set(faults[round..<round + 4].map(\.target.kind)) == Set(FaultKind.allCases), "seed \(seed), round \(round / 4)")
            }
        }
    }

    @Test("gaps, delays and indices stay within their bounds, in tenths of a second")
    func bounds() {
        let faults = Self.plan(seed: 7, count: 400)
        for fault in faults {
            #expect((3...7).contains(fault.gapSeconds))
            #expect((1...8).contains(fault.restartDelaySeconds))
            #expect(fault.gapSeconds * 10 == (fault.gapSeconds * 10).rounded())
            switch fault.target.kind {
            case .device: #expect((0..<3).contains(fault.target.index))
            case .aggregator: #expect((0..<2).contains(fault.target.index))
            case .broker, .database: #expect(fault.target.index == 0)
            }
        }
        // Both aggregators and every device process get hit over a long plan, and delays spread.
        #expect(Set(faults.filter { $0.target.kind == .aggregator }.map(\.target.index)) == [0, 1])
        #expect(Set(faults.filter { $0.target.kind == .device }.map(\.target.index)) == [0, 1, 2])
        #expect(Set(faults.map(\.restartDelaySeconds)).count > 20)
    }

    @Test("a fleet without device processes is never asked to kill one")
    func noDevices() {
        var settings = Self.settings
        settings.deviceProcesses = 0
        let faults = Self.plan(seed: 1, count: 30, settings: settings)
        #expect(!faults.contains { $0.target.kind == .device })
        #expect(Set(faults.map(\.target.kind)) == [.aggregator, .broker, .database])
    }

    @Test("the seeded generator is SplitMix64: known first outputs for seed 0")
    func generatorVector() {
        var generator = SeededGenerator(seed: 0)
        #expect(generator.next() == 0xE220_A839_7B1D_CDAF)
        #expect(generator.next() == 0x6E78_9E6A_A1B9_65F4)
    }
}
