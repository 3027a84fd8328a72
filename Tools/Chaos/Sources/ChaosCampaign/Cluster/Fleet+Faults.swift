import Foundation
import LocalServers

/// A killed process: what it was and the PID that died.
struct Victim {
    var name: String
    var pid: pid_t
}

/// A process that ended without being killed by the campaign.
struct UnexpectedExit {
    var name: String
    var status: String
}

extension Fleet {
    func name(of target: FaultTarget) -> String {
        switch target.kind {
        case .device: devices[target.index].name
        case .aggregator: aggregators[target.index].name
        case .broker: target.index == 0 ? "mosquitto" : extraBrokers[target.index - 1].processName
        case .database: "postgres"
        }
    }

    /// `kill -9` the target. Nil when there was nothing to kill (a simulator already finished).
    func kill(_ target: FaultTarget) async -> Victim? {
        let name = name(of: target)
        let victim: ServerProcess?
        switch target.kind {
        case .device: victim = devices[target.index].process
        case .aggregator: victim = aggregators[target.index].process
        case .broker: victim = target.index == 0 ? broker : extraBrokers[target.index - 1].process
        case .database:
            guard let pid = await postgres.pid, await postgres.isRunning else { return nil }
            await postgres.crash()
            ProcessRegistry.shared.forget(name)
            return Victim(name: name, pid: pid)
        }
        guard let victim, victim.isRunning else { return nil }
        await victim.crash()
        ProcessRegistry.shared.forget(name)
        return Victim(name: name, pid: victim.pid)
    }

    /// Restarts the target and waits (bounded) until it serves again. Returns the new PID.
    func restart(_ target: FaultTarget) async throws -> pid_t {
        switch target.kind {
        case .device:
            let device = devices[target.index]
            try startDevice(device)
            return device.process!.pid
        case .aggregator:
            let node = aggregators[target.index]
            try await startAggregator(node)
            return node.process!.pid
        case .broker:
            guard target.index > 0 else {
                try await startBroker()
                return broker!.pid
            }
            try await startExtraBroker(target.index - 1)
            return extraBrokers[target.index - 1].process!.pid
        case .database:
            try await restartPostgres()
            return await postgres.pid ?? 0
        }
    }

    /// After a `kill -9` of the postmaster its backends exit on their own a moment later;
    /// until they have, a new postmaster refuses the still-attached shared memory. So
    /// the restart is retried, bounded.
    private func restartPostgres() async throws {
        let deadline = ContinuousClock.now + .seconds(90)
        var attempts = 0
        while true {
            attempts += 1
            do {
                try await postgres.start()
                if let pid = await postgres.pid { ProcessRegistry.shared.record("postgres", pid) }
                return
            } catch {
                guard ContinuousClock.now < deadline else {
                    throw ChaosError(.restartFailed, "postgres did not restart after \(attempts) attempts: \(error)")
                }
                try await Task.sleep(for: .milliseconds(500))
            }
        }
    }

    /// Finds every process that ended without the campaign killing it, restarts it, and
    /// says which. A simulator that exits 0 once its capture time is over has finished,
    /// which is expected.
    func reviveUnexpectedExits() async throws -> [UnexpectedExit] {
        var exits: [UnexpectedExit] = []
        if await !postgres.isRunning {
            exits.append(UnexpectedExit(name: "postgres", status: "exited"))
            try await restartPostgres()
        }
        if let broker, !broker.isRunning {
            exits.append(UnexpectedExit(name: "mosquitto", status: Self.describe(await broker.stop())))
            try await startBroker()
        }
        for node in aggregators {
            guard let process = node.process, !process.isRunning else { continue }
            exits.append(UnexpectedExit(name: node.name, status: Self.describe(await process.stop())))
            try await startAggregator(node)
        }
        for device in devices where !device.finished {
            guard let process = device.process, !process.isRunning else { continue }
            let status = await process.stop()
            if device.isSimulator && Self.exitCode(status) == 0 && device.remainingCaptureSeconds == 0 {
                device.finished = true
                ProcessRegistry.shared.forget(device.name)
                reporter.line("\(device.name) finished: capture over, buffers drained, exit 0")
                continue
            }
            exits.append(UnexpectedExit(name: device.name, status: Self.describe(status)))
            try startDevice(device)
        }
        return exits
    }

    /// The exit code of a raw wait status, or nil when a signal ended the process.
    static func exitCode(_ status: Int32) -> Int32? {
        status & 0x7f == 0 ? (status >> 8) & 0xff : nil
    }

    static func describe(_ status: Int32) -> String {
        if let code = exitCode(status) { return "exit \(code)" }
        return "signal \(status & 0x7f)"
    }
}
