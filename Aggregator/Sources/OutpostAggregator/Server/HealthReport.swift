import Foundation

/// What `GET /health` answers, from the facts gathered at the request; no I/O here.
///
/// - `failing` (503): PostgreSQL does not answer, the broker connection is down, a watched
///   certificate has expired or the CRL is past its `nextUpdate`, or a watched file system is
///   less than 2% free.
/// - `degraded` (200, still serving): one of several brokers is disconnected, a write path is
///   retrying a transient failure, readings wait and nothing committed for
///   `ingest.stall_seconds` (`ingest_stalled`), a
///   certificate expires within 7 days, the CRL within a day, or a file system is less than 10% free.
/// - `ok` (200) otherwise. `problems` names each finding.
struct HealthReport: Sendable, Equatable {
    enum Level: String, Sendable, Comparable {
        case ok, degraded, failing

        static func < (lhs: Level, rhs: Level) -> Bool { lhs.rank < rhs.rank }
        private var rank: Int { self == .ok ? 0 : self == .degraded ? 1 : 2 }
    }

    static let certificateWarning: TimeInterval = 7 * 86_400
    static let crlWarning: TimeInterval = 86_400
    static let diskDegradedRatio = 0.10
    static let diskFailingRatio = 0.02

    var databaseUp: Bool
    /// At least one broker connection is up.
    var brokerUp: Bool
    /// With several brokers, the ones this process is not connected to: `degraded`
    /// (`broker_disconnected:{name}`), since ingest from the others goes on.
    var brokersDown: [String] = []
    var failingWrites: [String]
    /// Readings wait and nothing committed for `ingest.stall_seconds`.
    var ingestStalled = false
    /// Watched certificates' `notAfter`, by name (`ca`, `https`, `mqtt_client`, `broker`).
    var certificates: [String: Date] = [:]
    var crlNextUpdate: Date?
    /// Watched directories' file systems, by name (`state`).
    var disks: [String: DiskSpace] = [:]
    var now = Date()

    /// Each finding with its level, sorted by name.
    var findings: [(problem: String, level: Level)] {
        var found: [(String, Level)] = []
        if !databaseUp { found.append(("database_unreachable", .failing)) }
        if !brokerUp { found.append(("broker_disconnected", .failing)) }
        if brokerUp { for name in brokersDown { found.append(("broker_disconnected:\(name)", .degraded)) } }
        for path in failingWrites { found.append(("write_failing:\(path)", .degraded)) }
        if ingestStalled { found.append(("ingest_stalled", .degraded)) }
        for (name, notAfter) in certificates {
            let left = notAfter.timeIntervalSince(now)
            if left <= 0 {
                found.append(("certificate_expired:\(name)", .failing))
            } else if left < Self.certificateWarning {
                found.append(("certificate_expiring:\(name)", .degraded))
            }
        }
        if let crlNextUpdate {
            let left = crlNextUpdate.timeIntervalSince(now)
            if left <= 0 {
                found.append(("crl_expired", .failing))
            } else if left < Self.crlWarning {
                found.append(("crl_expiring", .degraded))
            }
        }
        for (name, space) in disks where space.totalBytes > 0 {
            if space.freeRatio < Self.diskFailingRatio {
                found.append(("disk_full:\(name)", .failing))
            } else if space.freeRatio < Self.diskDegradedRatio {
                found.append(("disk_low:\(name)", .degraded))
            }
        }
        return found.sorted { $0.0 < $1.0 }
    }

    var level: Level { findings.map(\.level).max() ?? .ok }

    /// 503 only when failing.
    var httpStatus: Int { level == .failing ? 503 : 200 }

    /// `{"status","database","broker","failingWrites","problems"}`; the first four as before levels existed.
    var json: String {
        func list(_ items: [String]) -> String { "[" + items.map { "\"\($0)\"" }.joined(separator: ",") + "]" }
        return #"{"status":"\#(level.rawValue)","database":"\#(databaseUp ? "ok" : "unreachable")","broker":"\#(brokerUp ? "ok" : "disconnected")","failingWrites":\#(list(failingWrites)),"problems":\#(list(findings.map(\.problem)))}"#
    }
}
