import Foundation
import LocalServers

extension Fleet {
    /// Waits (bounded) until PostgreSQL holds readings of every device: the fleet streams.
    func waitUntilStreaming(timeout: Duration) async throws {
        let expected = allDevices.count
        try await waitUntil(timeout: timeout, every: .milliseconds(500), "readings from all \(expected) devices") { [postgres] in
            let stored = Int((try? await postgres.psql("SELECT count(DISTINCT device) FROM readings")) ?? "") ?? 0
            return stored >= expected
        }
    }

    /// Everything catches up, bounded by `deadline`: every simulator finishes its capture,
    /// drains and exits 0 (one that gives up is started again with no capture time left,
    /// to drain); then every agent is stopped, started without sources and left to run
    /// until its buffer is empty. Returns false when the deadline came first.
    func catchUp(until deadline: ContinuousClock.Instant) async throws -> Bool {
        while devices.contains(where: { $0.isSimulator && !$0.finished }) {
            guard ContinuousClock.now < deadline else { return false }
            for device in devices where device.isSimulator && !device.finished {
                guard let process = device.process, !process.isRunning else { continue }
                let status = await process.stop()
                if Self.exitCode(status) == 0 && device.remainingCaptureSeconds == 0 {
                    device.finished = true
                    ProcessRegistry.shared.forget(device.name)
                    reporter.line("\(device.name) finished: capture over, buffers drained, exit 0")
                } else {
                    reporter.line("\(device.name) ended (\(Self.describe(status))); starting it again to drain")
                    try startDevice(device)
                }
            }
            try await Task.sleep(for: .milliseconds(250))
        }
        let reader = BufferFileReader()
        for device in devices where !device.isSimulator {
            let isEmpty = {
                device.devices.allSatisfy { (try? reader.facts(device: $0.id, path: $0.bufferPath).pending) == 0 }
            }
            let status = await device.process?.stop() ?? 0
            ProcessRegistry.shared.forget(device.name)
            guard !isEmpty() else {
                reporter.line("\(device.name) stopped (\(Self.describe(status))); its buffer is empty")
                continue
            }
            try startDevice(device, drain: true)
            reporter.line("\(device.name) stopped (\(Self.describe(status))) with readings pending; "
                          + "started without sources (pid \(device.process!.pid)) to drain them")
            let drained = (try? await waitUntil(timeout: deadline - ContinuousClock.now, every: .milliseconds(250),
                                                "\(device.name) drained", isEmpty)) != nil
            let drainStatus = await device.process!.stop()
            ProcessRegistry.shared.forget(device.name)
            reporter.line("\(device.name) \(drained ? "drained" : "did NOT drain in time"); stopped (\(Self.describe(drainStatus)))")
            guard drained else { return false }
        }
        return true
    }

    /// Every device's buffer file, read.
    func observations() -> [BufferObservation] {
        let reader = BufferFileReader()
        return allDevices.map { reader.read(device: $0.id, path: $0.bufferPath) }
    }

    /// What PostgreSQL holds per `(device, buffer)`.
    func storedCounts(for observations: [BufferObservation]) async throws -> [StoredCounts] {
        let facts = observations.compactMap { if case .read(let facts) = $0 { facts } else { nil } }
        return try StoredCountsQuery.parse(try await postgres.psql(try StoredCountsQuery(facts: facts).sql()))
    }

    /// Ends everything: devices and aggregators with SIGTERM (they flush), then the
    /// broker, then PostgreSQL.
    func stopAll() async {
        for device in devices { if let process = device.process { await process.stop() } }
        for node in aggregators { if let process = node.process { await process.stop(timeout: .seconds(30)) } }
        if let broker { await broker.stop() }
        for extra in extraBrokers { if let process = extra.process { await process.stop() } }
        await postgres.stop()
        ProcessRegistry.shared.killAll()
    }
}
