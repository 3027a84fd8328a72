import OutpostWire

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Reads one number from a small file (a sysfs temperature, a counter) and scales it:
/// `/sys/class/thermal/thermal_zone0/temp` holds millidegrees, so scale 0.001 gives `temp_c`.
public struct FileSource: ReadingSource {
    public let name: String
    public let path: String
    public let metric: String
    public let scale: Double

    public init(name: String, path: String, metric: String, scale: Double = 1) {
        self.name = name
        self.path = path
        self.metric = metric
        self.scale = scale
    }

    public func collect() async throws(SourceError) -> SourceOutput {
        let text = try Self.readSmallFile(path, limit: 4_096)
        let trimmed = text.split(whereSeparator: { $0 == "\n" || $0 == " " || $0 == "\t" || $0 == "\r" }).first.map(String.init) ?? ""
        guard let number = Double(trimmed), number.isFinite, (number * scale).isFinite else {
            throw SourceError(.badOutput, "\(path) does not hold a number")
        }
        return SourceOutput(samples: [Sample(ts: WireClock.nowMs(), metric: metric, value: number * scale)])
    }

    /// Reads at most `limit` bytes (sysfs and procfs files report size 0, so read until EOF).
    static func readSmallFile(_ path: String, limit: Int) throws(SourceError) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SourceError(.unreadable, "\(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4_096)
        while bytes.count < limit {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { throw SourceError(.unreadable, "\(path): \(String(cString: strerror(errno)))") }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
        }
        return String(decoding: bytes.prefix(limit), as: UTF8.self)
    }
}
