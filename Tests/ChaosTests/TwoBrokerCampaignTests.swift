import Testing
@testable import ChaosCampaign

@Suite("Fault campaign with two brokers (pure)")
struct TwoBrokerCampaignTests {
    @Test("with two brokers the schedule kills either broker and either aggregator, never a third broker")
    func schedule() {
        let settings = FaultSchedule.Settings(gapSeconds: 3...7, restartDelaySeconds: 1...5, deviceProcesses: 3, aggregators: 2, brokers: 2)
        for seed in UInt64(0)..<20 {
            var schedule = FaultSchedule(seed: seed, settings: settings)
            let faults = (0..<40).map { _ in schedule.next() }
            let brokers = Set(faults.filter { $0.target.kind == .broker }.map(\.target.index))
            let aggregators = Set(faults.filter { $0.target.kind == .aggregator }.map(\.target.index))
            #expect(brokers == [0, 1], "seed \(seed)")
            #expect(aggregators == [0, 1], "seed \(seed)")
        }
        // One broker: only index 0, as before.
        var single = FaultSchedule(seed: 7, settings: .init(gapSeconds: 3...7, restartDelaySeconds: 1...5, deviceProcesses: 3, aggregators: 2))
        #expect((0..<40).map { _ in single.next() }.filter { $0.target.kind == .broker }.allSatisfy { $0.target.index == 0 })
    }

    @Test("the shape carries the broker count into the schedule and the replay command")
    func settings() {
        var settings = CampaignSettings.quick(seed: 42, binDirectory: "/bin", sourceRoot: "/src")
        #expect(settings.schedule.brokers == 1)
        #expect(settings.reproduce == "make chaos QUICK=1 SEED=42")
        settings.shape.brokers = 2
        #expect(settings.schedule.brokers == 2)
        #expect(settings.reproduce == "make chaos QUICK=1 BROKERS=2 SEED=42")
    }
}
