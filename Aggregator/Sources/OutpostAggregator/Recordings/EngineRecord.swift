import Foundation
import OutpostProcess

/// What identifies a running media engine and the aggregator that spawned it, written at
/// spawn to `{recordings}/.engine/{device}.pid` (mode 0600) and removed once the engine is
/// reaped. A PID alone may be reused after a reboot or a wrap; a PID together with its start
/// time (clock ticks since boot, field 22 of `/proc/PID/stat`) and its executable is one
/// process only. After a `kill -9` of the aggregator its engines keep running (nothing may
/// end them: `PR_SET_PDEATHSIG` fires when the spawning thread exits); the next start ends an
/// engine only when its record still matches and its aggregator is gone.
public struct EngineRecord: Sendable, Equatable {
    public var device: String
    /// The engine run's segment name prefix (``RecordingPlan/segmentPattern(runStartedAt:)`` up to `-`).
    public var runPrefix: String
    public var pid: Int32
    public var startTime: UInt64
    public var executable: String
    public var ownerPID: Int32
    public var ownerStartTime: UInt64

    public init(device: String, runPrefix: String, pid: Int32, startTime: UInt64, executable: String, ownerPID: Int32, ownerStartTime: UInt64) {
        self.device = device
        self.runPrefix = runPrefix
        self.pid = pid
        self.startTime = startTime
        self.executable = executable
        self.ownerPID = ownerPID
        self.ownerStartTime = ownerStartTime
    }

    /// One `key=value` a line; the executable last (a path may hold spaces, never a newline here).
    public var encoded: String {
        "device=\(device)\nrun=\(runPrefix)\npid=\(pid)\nstart=\(startTime)\nowner_pid=\(ownerPID)\nowner_start=\(ownerStartTime)\nexe=\(executable)\n"
    }

    /// The record a PID file holds, or nil when any field is missing or malformed.
    public static func parse(_ text: String) -> EngineRecord? {
        var fields: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { return nil }
            fields[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        guard let device = fields["device"], !device.isEmpty, let run = fields["run"], let executable = fields["exe"], executable.hasPrefix("/"),
              let pid = fields["pid"].flatMap({ Int32($0) }), pid > 1, let start = fields["start"].flatMap({ UInt64($0) }),
              let ownerPID = fields["owner_pid"].flatMap({ Int32($0) }), let ownerStart = fields["owner_start"].flatMap({ UInt64($0) })
        else { return nil }
        return EngineRecord(device: device, runPrefix: run, pid: pid, startTime: start, executable: executable, ownerPID: ownerPID,
                            ownerStartTime: ownerStart)
    }

    /// The start time in a `/proc/PID/stat` line: field 22, counted after the command's
    /// closing parenthesis (the command itself may hold spaces and parentheses).
    public static func startTime(stat: String) -> UInt64? {
        guard let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // After ")" come field 3 (state) onward: field 22 is the 20th.
        guard fields.count >= 20 else { return nil }
        return UInt64(fields[19])
    }

    /// What to do with a recorded engine, from what `/proc` shows now (nil: no such PID).
    public enum Verdict: Sendable, Equatable {
        /// The engine is gone (or its PID is another process now): only the file to remove.
        case gone
        /// The aggregator that spawned it still runs: not ours to end.
        case ownerAlive
        /// The same process, orphaned: end it.
        case end
    }

    /// From the start times `/proc` shows now for the record's two PIDs (nil: no such
    /// process) and the engine PID's executable.
    public static func verdict(_ record: EngineRecord, engineStartTime: UInt64?, engineExecutable: String?, ownerStartTime: UInt64?) -> Verdict {
        guard engineStartTime == record.startTime, engineExecutable == record.executable else { return .gone }
        return ownerStartTime == record.ownerStartTime ? .ownerAlive : .end
    }
}

/// Reads what `/proc` says about a process.
enum ProcFS {
    static func startTime(pid: Int32) -> UInt64? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return nil }
        return EngineRecord.startTime(stat: stat)
    }

    /// The executable's path; a replaced binary reads as the path it had.
    static func executable(pid: Int32) -> String? {
        guard let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/exe") else { return nil }
        return path.hasSuffix(" (deleted)") ? String(path.dropLast(" (deleted)".count)) : path
    }

    /// An executable's path with symbolic links resolved, as `/proc/PID/exe` shows it.
    static func resolved(_ path: String) -> String {
        guard let real = realpath(path, nil) else { return path }
        defer { free(real) }
        return String(cString: real)
    }
}

/// Ends the engines a killed aggregator left running, by PID, from the records in the
/// engine directory: SIGTERM (ffmpeg closes its segment), SIGKILL after `timeout`. A record
/// whose PID is now another process, or whose aggregator still runs, ends nothing.
struct OrphanedEngines: Sendable {
    let directory: String

    /// The records of the engines it ended (signalled until gone, at most `timeout` plus 5 s
    /// each); every record of an engine that is gone is removed.
    func end(timeout: Duration = .seconds(10)) async -> [EngineRecord] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(".pid") }.sorted()
        var ended: [EngineRecord] = []
        for name in names {
            let path = (directory as NSString).appendingPathComponent(name)
            guard let text = try? String(contentsOfFile: path, encoding: .utf8), let record = EngineRecord.parse(text) else {
                try? FileManager.default.removeItem(atPath: path)
                continue
            }
            switch verdict(record) {
            case .ownerAlive:
                continue
            case .gone:
                try? FileManager.default.removeItem(atPath: path)
            case .end:
                await terminate(record, timeout: timeout)
                try? FileManager.default.removeItem(atPath: path)
                ended.append(record)
            }
        }
        return ended
    }

    private func verdict(_ record: EngineRecord) -> EngineRecord.Verdict {
        EngineRecord.verdict(record, engineStartTime: ProcFS.startTime(pid: record.pid), engineExecutable: ProcFS.executable(pid: record.pid),
                             ownerStartTime: ProcFS.startTime(pid: record.ownerPID))
    }

    /// Each signal only after checking that the PID is still the recorded process; done once
    /// it is gone (its new parent reaps it).
    private func terminate(_ record: EngineRecord, timeout: Duration) async {
        // Once each: ffmpeg exits at once, its segment unfinished, on a fourth signal.
        guard isSame(record) else { return }
        ProcessSignal.send(SIGTERM, to: record.pid)
        let deadline = ContinuousClock.now + timeout
        var killed = false
        // Bounded even if the PID cannot be signalled (another user's process).
        while isSame(record), ContinuousClock.now < deadline + .seconds(5) {
            if !killed, ContinuousClock.now > deadline {
                ProcessSignal.send(SIGKILL, to: record.pid)
                killed = true
            }
            try? await Task.sleep(for: .milliseconds(100))
        }
    }

    /// Still the recorded process and not yet exited (a zombie waiting for its reaper counts as gone).
    private func isSame(_ record: EngineRecord) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(record.pid)/stat", encoding: .utf8),
              EngineRecord.startTime(stat: stat) == record.startTime
        else { return false }
        guard let close = stat.lastIndex(of: ")") else { return false }
        return !stat[stat.index(after: close)...].hasPrefix(" Z")
    }
}
