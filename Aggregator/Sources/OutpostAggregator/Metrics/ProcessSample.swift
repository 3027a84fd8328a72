import Foundation

/// The process figures `/metrics` exports under Prometheus' standard `process_*` names,
/// read from Linux's `/proc` at each scrape.
struct ProcessSample: Sendable, Equatable {
    var residentBytes: Double
    var cpuSeconds: Double
    /// Seconds since the Unix epoch.
    var startTime: Double
    var openDescriptors: Int
    var maxDescriptors: Int

    /// Parses `/proc/self/stat` (`stat`) and the `btime` line of `/proc/stat` (`systemStat`);
    /// nil when either is not in the documented format (proc(5)).
    static func parse(stat: String, systemStat: String, clockTicks: Int, pageSize: Int, openDescriptors: Int,
                      maxDescriptors: Int) -> ProcessSample? {
        // The command name (field 2) may hold spaces and parentheses: fields resume after the last ')'.
        guard let close = stat.lastIndex(of: ")"), clockTicks > 0 else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ", omittingEmptySubsequences: true)
        // After ')', index 0 is field 3 (state): utime is field 14, stime 15, starttime 22, rss 24.
        guard fields.count > 21, let utime = Double(fields[11]), let stime = Double(fields[12]),
              let startTicks = Double(fields[19]), let rssPages = Double(fields[21]),
              let bootLine = systemStat.split(separator: "\n").first(where: { $0.hasPrefix("btime ") }),
              let bootTime = Double(bootLine.dropFirst("btime ".count).trimmingCharacters(in: .whitespaces))
        else { return nil }
        let ticks = Double(clockTicks)
        return ProcessSample(residentBytes: rssPages * Double(pageSize), cpuSeconds: (utime + stime) / ticks,
                             startTime: bootTime + startTicks / ticks, openDescriptors: openDescriptors, maxDescriptors: maxDescriptors)
    }

    /// This process now; nil off Linux or when `/proc` is not mounted.
    static func current() -> ProcessSample? {
        guard let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
              let systemStat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
              let descriptors = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")
        else { return nil }
        var limit = rlimit()
        let maxDescriptors = getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 ? Int(clamping: limit.rlim_cur) : 0
        // Listing the directory opens one descriptor of its own, which is gone again.
        return parse(stat: stat, systemStat: systemStat, clockTicks: sysconf(Int32(_SC_CLK_TCK)), pageSize: sysconf(Int32(_SC_PAGESIZE)),
                     openDescriptors: max(0, descriptors.count - 1), maxDescriptors: maxDescriptors)
    }
}
