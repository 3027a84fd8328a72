import OutpostWire
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The host's health and the agent's own footprint, from procfs and statvfs:
/// `cpu_pct` (all CPUs, since the previous collection), `mem_used_bytes`,
/// `mem_available_bytes`, `disk_free_bytes` and `disk_used_pct` (of the state directory's
/// file system), `uptime_s`, and `agent_rss_bytes`.
public final class SystemSource: ReadingSource {
    public let name: String
    private let diskPath: String
    private let prefix: String?
    private let lastCPU = Mutex<(busy: UInt64, total: UInt64)?>(nil)

    public init(name: String, diskPath: String, prefix: String? = nil) {
        self.name = name
        self.diskPath = diskPath
        self.prefix = prefix
    }

    public func collect() async throws(SourceError) -> SourceOutput {
        let now = WireClock.nowMs()
        var samples: [Sample] = []
        func add(_ metric: String, _ value: Double) {
            samples.append(Sample(ts: now, metric: prefix.map { "\($0).\(metric)" } ?? metric, value: value))
        }
        if let cpu = try? Self.cpuTimes() {
            let previous = lastCPU.withLock { last in
                defer { last = cpu }
                return last
            }
            if let previous, cpu.total > previous.total {
                add("cpu_pct", Double(cpu.busy &- previous.busy) / Double(cpu.total - previous.total) * 100)
            }
        }
        if let memory = try? FileSource.readSmallFile("/proc/meminfo", limit: 16_384) {
            let fields = Self.meminfo(memory)
            if let total = fields["MemTotal"], let available = fields["MemAvailable"] {
                add("mem_used_bytes", Double(total - available) * 1024)
                add("mem_available_bytes", Double(available) * 1024)
            }
        }
        var disk = statvfs()
        if statvfs(diskPath, &disk) == 0, disk.f_blocks > 0 {
            let free = Double(disk.f_bavail) * Double(disk.f_frsize)
            add("disk_free_bytes", free)
            add("disk_used_pct", (1 - Double(disk.f_bavail) / Double(disk.f_blocks)) * 100)
        }
        if let uptime = try? FileSource.readSmallFile("/proc/uptime", limit: 256),
           let seconds = uptime.split(separator: " ").first.flatMap({ Double($0) }) {
            add("uptime_s", seconds)
        }
        if let statm = try? FileSource.readSmallFile("/proc/self/statm", limit: 256) {
            let fields = statm.split(separator: " ")
            if fields.count > 1, let pages = Double(fields[1]) {
                add("agent_rss_bytes", pages * Double(sysconf(Int32(_SC_PAGESIZE))))
            }
        }
        guard !samples.isEmpty else { throw SourceError(.unreadable, "no host figure could be read") }
        return SourceOutput(samples: samples)
    }

    static func cpuTimes() throws(SourceError) -> (busy: UInt64, total: UInt64) {
        let stat = try FileSource.readSmallFile("/proc/stat", limit: 1_024)
        guard let line = stat.split(separator: "\n").first, line.hasPrefix("cpu ") else {
            throw SourceError(.badOutput, "/proc/stat has no cpu line")
        }
        let values = line.split(separator: " ").dropFirst().compactMap { UInt64($0) }
        guard values.count >= 4 else { throw SourceError(.badOutput, "/proc/stat cpu line is short") }
        let total = values.reduce(0, +)
        let idle = values[3] + (values.count > 4 ? values[4] : 0)
        return (total - idle, total)
    }

    static func meminfo(_ text: String) -> [String: UInt64] {
        var result: [String: UInt64] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, let value = parts[1].split(separator: " ").first.flatMap({ UInt64($0) }) else { continue }
            result[String(parts[0])] = value
        }
        return result
    }
}
