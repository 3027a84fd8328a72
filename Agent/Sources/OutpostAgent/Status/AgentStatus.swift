#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import OutpostSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// What the running agent writes to `{state_dir}/agent-status.json` every 2 s and at
/// exit, and what `outpost-agent status` prints.
public struct AgentStatus: Codable, Sendable, Equatable {
    public var pid: Int32
    public var device: String
    public var version: String
    /// UTC ms of this snapshot.
    public var updatedAt: Int64
    /// `connected`, `disconnected` or `stopped`.
    public var connection: String
    public var connectedSince: Int64?
    public var buffer: String
    public var bufferDepth: Int
    public var bufferBytes: Int
    public var oldestUnackedAgeMs: Int64?
    public var dropped: Int64
    /// Samples left out at capture because the wire would refuse them.
    public var refusedSamples: Int64
    public var lastSeq: Int64
    public var lastAckAt: Int64?
    public var ackedReadings: Int64
    public var batchesSent: Int64
    public var batchesResent: Int64
    public var inflightBatches: Int
    public var certificateNotAfter: Int64?
    public var sources: [String: SourceScheduler.Counters]

    public static func path(stateDir: String) -> String { stateDir + "/agent-status.json" }

    /// Writes atomically, with the project's one atomic writer (``SecureFile``).
    public func write(stateDir: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        let target = Self.path(stateDir: stateDir)
        do {
            try SecureFile.write(Array(try encoder.encode(self)), to: target, mode: 0o640)
        } catch let error as SecureFile.WriteError {
            throw BufferError(.io, error.description)
        }
    }

    public static func read(stateDir: String) throws -> AgentStatus {
        let data = try Data(contentsOf: URL(fileURLWithPath: path(stateDir: stateDir)))
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(AgentStatus.self, from: data)
    }

    /// True when the process that wrote this snapshot still runs.
    public var isWriterRunning: Bool { kill(pid, 0) == 0 || errno == EPERM }
}
