#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import OutpostSupport
import OutpostWire

/// What `outpost-agent status` prints: the running agent's last snapshot when it runs,
/// otherwise the buffer file read directly (depth, drops) and the certificate's expiry.
struct StatusReport {
    var running: Bool
    var status: AgentStatus?
    var bufferStats: BufferStats?
    var certificateNotAfter: Int64?
    var problem: String?

    /// - Parameters:
    ///   - certificateFile: the device certificate (`mqtt.cert_file`).
    ///   - bufferPath: the buffer file, read when no agent runs.
    static func gather(stateDir: String, certificateFile: String, bufferPath: String) async -> StatusReport {
        let snapshot = try? AgentStatus.read(stateDir: stateDir)
        let running = snapshot?.isWriterRunning == true && snapshot?.connection != "stopped"
        var report = StatusReport(running: running, status: snapshot,
                                  certificateNotAfter: CertificateExpiry.notAfterMs(pemFile: certificateFile))
        if !running {
            do {
                let (store, _) = try ReadingStore.openForReading(path: bufferPath)
                report.bufferStats = try store.stats()
            } catch {
                report.problem = "buffer \(bufferPath): \(error)"
            }
        }
        return report
    }

    var text: String {
        var lines: [String] = []
        let now = WireClock.nowMs()
        func age(_ ms: Int64?) -> String {
            guard let ms else { return "never" }
            return "\(Self.iso(ms)) (\(Self.duration(now - ms)) ago)"
        }
        if let status, running {
            lines.append("agent:        running (pid \(status.pid), version \(status.version))")
            lines.append("device:       \(status.device)")
            lines.append("connection:   \(status.connection)\(status.connectedSince.map { " since \(Self.iso($0))" } ?? "")")
            lines.append("buffer:       \(status.buffer), \(status.bufferDepth) readings, ~\(status.bufferBytes) bytes")
            lines.append("oldest unack: \(status.oldestUnackedAgeMs.map { Self.duration($0) } ?? "none")")
            lines.append("last ack:     \(age(status.lastAckAt)), \(status.ackedReadings) readings acked since start")
            lines.append("dropped:      \(status.dropped)" + (status.refusedSamples > 0 ? ", \(status.refusedSamples) samples refused at capture" : ""))
            lines.append("in flight:    \(status.inflightBatches) batches (\(status.batchesSent) sent, \(status.batchesResent) re-sent)")
            for (name, counters) in status.sources.sorted(by: { $0.key < $1.key }) {
                lines.append("source \(name): \(counters.samples) readings, \(counters.failures) failures, \(counters.rejected) rejected"
                    + (counters.lastError.map { ", last error: \($0)" } ?? ""))
            }
            lines.append("snapshot:     \(age(status.updatedAt))")
        } else {
            lines.append("agent:        not running" + (status.map { " (last snapshot \(Self.iso($0.updatedAt)))" } ?? ""))
            if let stats = bufferStats {
                lines.append("buffer:       \(stats.buffer), \(stats.depth) readings, ~\(stats.bytes) bytes")
                lines.append("oldest unack: \(stats.oldestTs.map { Self.duration(now - $0) } ?? "none")")
                lines.append("dropped:      \(stats.dropped)")
            }
            if let status { lines.append("last ack:     \(age(status.lastAckAt))") }
            if let problem { lines.append("problem:      \(problem)") }
        }
        if let notAfter = certificateNotAfter {
            lines.append("certificate:  expires \(Self.iso(notAfter)) (\(notAfter > now ? "in \(Self.duration(notAfter - now))" : "EXPIRED"))")
        } else {
            lines.append("certificate:  unreadable")
        }
        return lines.joined(separator: "\n")
    }

    var json: String {
        var object: [String: JSONValue] = ["running": .bool(running)]
        if let status, let data = try? JSONEncoder().encode(status), let value = try? JSONDecoder().decode(JSONValue.self, from: data) {
            object["agent"] = value
        }
        if let stats = bufferStats {
            object["buffer"] = ["id": .string(stats.buffer.hex), "depth": .number(Double(stats.depth)), "dropped": .number(Double(stats.dropped))]
        }
        object["certificate_not_after"] = certificateNotAfter.map { .number(Double($0)) } ?? .null
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return (try? encoder.encode(JSONValue.object(object))).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    static func iso(_ ms: Int64) -> String {
        Date(timeIntervalSince1970: Double(ms) / 1000).formatted(.iso8601)
    }

    static func duration(_ ms: Int64) -> String {
        let seconds = max(0, ms / 1000)
        if seconds < 120 { return "\(seconds)s" }
        if seconds < 7_200 { return "\(seconds / 60)m" }
        if seconds < 172_800 { return "\(seconds / 3_600)h" }
        return "\(seconds / 86_400)d"
    }
}
