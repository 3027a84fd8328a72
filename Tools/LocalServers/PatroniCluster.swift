import Foundation

/// A Patroni cluster started by `ha/cluster.sh`: etcd, two PostgreSQL nodes (primary and
/// synchronous replica) and HAProxy, all on 127.0.0.1, with TLS on and a database `outpost`
/// owned by `outpost` (password auth). Ended by PID through ``stop()``.
public final class PatroniCluster: Sendable {
    public let directory: String
    /// HAProxy's write endpoint (whichever node answers Patroni's `/primary`).
    public let primaryPort: Int
    /// HAProxy's read endpoint (a streaming replica).
    public let replicaPort: Int
    /// Each node's own PostgreSQL port (`node1`, `node2`), bypassing HAProxy.
    public let nodePorts: [String: Int]
    /// The CA that issued the nodes' certificate (valid for 127.0.0.1 and localhost).
    public let caFile: String
    public let outpostPassword: String
    private let superuserPassword: String
    private let script: String

    /// Bootstraps the cluster in `directory` (which must not hold one yet) on eight
    /// consecutive free ports; returns once a replica streams and both endpoints answer.
    public init(directory: String, script: String) async throws {
        self.directory = directory
        self.script = script
        let base = try Self.freeRange(8)
        // As root the cluster runs as `postgres`, which must reach the directory.
        if geteuid() == 0 { chmod((directory as NSString).deletingLastPathComponent, 0o755) }
        do {
            _ = try await runTool(script, ["start", directory, "\(base)"])
        } catch {
            _ = try? await runTool(script, ["stop", directory])
            throw error
        }
        let environment = try String(contentsOfFile: (directory as NSString).appendingPathComponent("env"), encoding: .utf8)
        var values: [String: String] = [:]
        for line in environment.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { values[String(parts[0])] = String(parts[1]) }
        }
        guard let primary = values["HA_PRIMARY_PORT"].flatMap(Int.init), let replica = values["HA_REPLICA_PORT"].flatMap(Int.init),
              let ca = values["HA_CA_FILE"], let outpost = values["HA_OUTPOST_PASSWORD"], let superuser = values["HA_SUPERUSER_PASSWORD"]
        else { throw HarnessError("ha/cluster.sh wrote an incomplete \(directory)/env") }
        primaryPort = primary
        nodePorts = ["node1": values["HA_NODE1_PORT"].flatMap(Int.init) ?? 0, "node2": values["HA_NODE2_PORT"].flatMap(Int.init) ?? 0]
        replicaPort = replica
        caFile = ca
        outpostPassword = outpost
        superuserPassword = superuser
    }

    /// The leader's name (`node1` or `node2`).
    public func leader() async throws -> String { try await run("leader") }

    /// `kill -9` of the leader's Patroni and postmaster, as when its host dies; returns its name.
    @discardableResult
    public func killLeader() async throws -> String { try await run("kill-leader") }

    /// The PID of `node`'s postmaster, from its `postmaster.pid`.
    public func postmasterPID(of node: String) -> Int32? {
        let file = (directory as NSString).appendingPathComponent("\(node)/data/postmaster.pid")
        return (try? String(contentsOfFile: file, encoding: .utf8))?.split(separator: "\n").first.flatMap { Int32($0) }
    }

    /// SIGSTOPs the replica's WAL receiver: synchronous commits wait for it from then on.
    public func freezeReplica() async throws { _ = try await run("freeze-replica") }

    /// SIGCONTs the frozen WAL receiver.
    public func thawReplica() async throws { _ = try await run("thaw-replica") }

    /// Starts a killed node again (it rejoins as a replica).
    public func startNode(_ name: String) async throws { _ = try await run("start-node", name) }

    /// Waits until a replica streams from the leader and Patroni has made it the synchronous
    /// standby, the only member synchronous mode lets it promote.
    public func waitStreaming() async throws { _ = try await run("wait-streaming") }

    /// Runs SQL as the superuser in `outpost` through `port` (the primary endpoint by default)
    /// over verified TLS; returns the unaligned, tuples-only output.
    @discardableResult
    public func psql(_ sql: String, port: Int? = nil) async throws -> String {
        try await runTool(try locateTool("psql"), [
            "host=127.0.0.1 port=\(port ?? primaryPort) user=postgres dbname=outpost sslmode=verify-full sslrootcert=\(caFile)",
            "-v", "ON_ERROR_STOP=1", "-At", "-c", sql,
        ], environment: ["PGPASSWORD": superuserPassword, "PATH": "/usr/bin:/bin"]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// What to read when a test fails: each member's role as Patroni's REST API reports it, and
    /// the last `lines` lines of each process's log (Patroni with its PostgreSQL, HAProxy, etcd).
    public func diagnostics(lines: Int = 30) async -> String {
        var report = "ha cluster \(directory): leader \((try? await leader()) ?? "none")"
        for name in ["node1", "node2", "haproxy", "etcd"] {
            let file = (directory as NSString).appendingPathComponent("\(name).log")
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { continue }
            report += "\n--- \(name).log (last \(lines) lines)\n" + text.split(separator: "\n").suffix(lines).joined(separator: "\n")
        }
        return report
    }

    /// Ends every process of the cluster, by PID.
    public func stop() async {
        _ = try? await runTool(script, ["stop", directory])
    }

    private func run(_ arguments: String...) async throws -> String {
        try await runTool(script, [arguments[0], directory] + arguments.dropFirst()).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private static func freeRange(_ count: Int) throws -> Int {
        for _ in 0..<50 {
            let base = Int.random(in: 20_000...29_000)
            if (base..<base + count).allSatisfy({ !FreePort.isAccepting($0) }) { return base }
        }
        throw HarnessError("no \(count) consecutive free ports on 127.0.0.1")
    }
}
