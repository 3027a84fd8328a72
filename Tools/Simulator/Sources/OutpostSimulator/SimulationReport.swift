#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import OutpostAgent
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The summary `outpost-simulator` prints (one line on stdout) and writes to `--report`.
///
/// Counts are read from the buffer files, so they cover every run on the same state
/// directory: `captured` is the sum of each buffer's last seq, `pending` what is still
/// there, `dropped` what the caps removed, and `acked` the rest. `readings_per_second` is
/// the readings the centre acknowledged during this run over its capture and drain time.
public struct SimulationReport: Codable, Sendable, Equatable {
    public struct Device: Codable, Sendable, Equatable {
        public var device: String
        /// The buffer id as PostgreSQL stores it: the signed 64-bit value, in decimal.
        public var buffer: String
        public var lastSeq: Int64
        public var pending: Int64
        public var dropped: Int64

        enum CodingKeys: String, CodingKey {
            case device, buffer
            case lastSeq = "last_seq"
            case pending, dropped
        }
    }

    public var devices: Int
    public var captured: Int64
    public var acked: Int64
    public var pending: Int64
    public var dropped: Int64
    public var captureSeconds: Double
    public var drainSeconds: Double
    public var readingsPerSecond: Double
    /// `drained`, `interrupted` (SIGTERM/SIGINT) or `drain_timeout`.
    public var outcome: String
    public var perDevice: [Device]

    enum CodingKeys: String, CodingKey {
        case devices, captured, acked, pending, dropped
        case captureSeconds = "capture_seconds"
        case drainSeconds = "drain_seconds"
        case readingsPerSecond = "readings_per_second"
        case outcome
        case perDevice = "per_device"
    }

    init(snapshots: [DeviceSnapshot], timing: SimulationSupervisor.Timing) {
        devices = snapshots.count
        captured = snapshots.reduce(0) { $0 + $1.lastSeq }
        pending = snapshots.reduce(0) { $0 + $1.pending }
        dropped = snapshots.reduce(0) { $0 + $1.dropped }
        acked = max(0, captured - pending - dropped)
        captureSeconds = Self.rounded(timing.captureSeconds)
        drainSeconds = Self.rounded(timing.drainSeconds)
        let ackedThisRun = snapshots.reduce(0) { $0 + $1.ackedThisRun }
        let elapsed = timing.captureSeconds + timing.drainSeconds
        readingsPerSecond = elapsed > 0 ? Self.rounded(Double(ackedThisRun) / elapsed) : 0
        outcome = timing.outcome.rawValue
        perDevice = snapshots.map {
            Device(device: $0.device.rawValue, buffer: String($0.buffer.signedBitPattern), lastSeq: $0.lastSeq, pending: $0.pending,
                   dropped: $0.dropped)
        }
    }

    private static func rounded(_ value: Double) -> Double { (value * 1_000).rounded() / 1_000 }

    /// One line of JSON, keys sorted so that every rendering of one report is the same text.
    public var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(self)) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
