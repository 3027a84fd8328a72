#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import OutpostSupport
import OutpostWire

/// Runs a command every interval and reads its stdout as readings.
///
/// Output is either one JSON object of `{"metric": number, ...}` or lines of
/// `metric value` (blank lines and `#` comments skipped). Lines or members that are not a
/// valid metric with a finite number are counted as rejected; the rest are kept. The
/// command is killed past its timeout or its output cap, and that collection yields nothing.
public struct ExecSource: ReadingSource {
    public let name: String
    public let command: [String]
    public let timeout: Duration
    public let maxOutputBytes: Int
    private let prefix: String?

    public init(name: String, command: [String], timeout: Duration = .seconds(10), maxOutputBytes: Int = 65_536, prefix: String? = nil) {
        self.name = name
        self.command = command
        self.timeout = timeout
        self.maxOutputBytes = maxOutputBytes
        self.prefix = prefix
    }

    public func collect() async throws(SourceError) -> SourceOutput {
        let outcome = try await ChildProcess.run(command, timeout: timeout, maxOutputBytes: maxOutputBytes)
        if outcome.timedOut { throw SourceError(.timeout, "\(command[0]) ran past \(timeout) and was killed") }
        if outcome.outputTooLarge {
            throw SourceError(.outputTooLarge, "\(command[0]) printed more than \(maxOutputBytes) bytes and was killed")
        }
        if let status = outcome.exitStatus, status != 0 {
            throw SourceError(.commandFailed, "\(command[0]) exited \(status)")
        }
        let parsed = Self.parse(outcome.output, nowMs: WireClock.nowMs(), prefix: prefix)
        if parsed.samples.isEmpty && parsed.rejected > 0 {
            throw SourceError(.badOutput, "\(command[0]) printed no valid reading (\(parsed.rejected) bad lines)")
        }
        return parsed
    }

    /// Parses command output; pure, for tests.
    public static func parse(_ output: [UInt8], nowMs: Int64, prefix: String? = nil) -> SourceOutput {
        func metric(_ name: String) -> String? {
            let full = prefix.map { "\($0).\(name)" } ?? name
            return Reading.isValidMetric(full) ? full : nil
        }
        let firstByte = output.first { $0 != 0x20 && $0 != 0x0a && $0 != 0x09 && $0 != 0x0d }
        if firstByte == UInt8(ascii: "{") {
            guard let object = try? JSONDecoder().decode(JSONValue.self, from: Data(output)), case .object(let members) = object else {
                return SourceOutput(samples: [], rejected: 1)
            }
            var samples: [Sample] = [], rejected = 0
            for (key, value) in members.sorted(by: { $0.key < $1.key }) {
                if let name = metric(key), let number = value.doubleValue, number.isFinite {
                    samples.append(Sample(ts: nowMs, metric: name, value: number))
                } else {
                    rejected += 1
                }
            }
            return SourceOutput(samples: samples, rejected: rejected)
        }
        var samples: [Sample] = [], rejected = 0
        for line in output.split(separator: 0x0a, omittingEmptySubsequences: true) {
            let text = String(decoding: line, as: UTF8.self)
            let fields = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
            if fields.isEmpty || fields[0].hasPrefix("#") { continue }
            if fields.count == 2, let name = metric(String(fields[0])), let number = Double(fields[1]), number.isFinite {
                samples.append(Sample(ts: nowMs, metric: name, value: number))
            } else {
                rejected += 1
            }
        }
        return SourceOutput(samples: samples, rejected: rejected)
    }
}
