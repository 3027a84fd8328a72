import Foundation
import TestHarness

/// Two network namespaces joined by a veth pair, made by the test and removed after it.
struct NamespacePair {
    let sender: String
    let receiver: String
    static let senderAddress = "10.213.7.1"
    static let receiverAddress = "10.213.7.2"

    /// Creating namespaces needs root (CAP_SYS_ADMIN) and iproute2.
    static var available: Bool {
        get async {
            guard geteuid() == 0, let ip = try? locateTool("ip") else { return false }
            let probe = "outpost-probe-\(getpid())"
            guard (try? await runTool(ip, ["netns", "add", probe])) != nil else { return false }
            _ = try? await runTool(ip, ["netns", "del", probe])
            return true
        }
    }

    init() async throws {
        let ip = try locateTool("ip")
        let tag = "\(getpid())-\(UInt16.random(in: 0...UInt16.max))"
        sender = "outpost-a-\(tag)"
        receiver = "outpost-b-\(tag)"
        let vethA = "opa\(UInt16.random(in: 0...UInt16.max))"
        let vethB = "opb\(UInt16.random(in: 0...UInt16.max))"
        try await runTool(ip, ["netns", "add", sender])
        try await runTool(ip, ["netns", "add", receiver])
        try await runTool(ip, ["link", "add", vethA, "netns", sender, "type", "veth", "peer", "name", vethB, "netns", receiver])
        for (namespace, device, address) in [(sender, vethA, Self.senderAddress), (receiver, vethB, Self.receiverAddress)] {
            try await runTool(ip, ["-n", namespace, "addr", "add", "\(address)/24", "dev", device])
            try await runTool(ip, ["-n", namespace, "link", "set", device, "up"])
            try await runTool(ip, ["-n", namespace, "link", "set", "lo", "up"])
        }
    }

    func remove() async {
        guard let ip = try? locateTool("ip") else { return }
        _ = try? await runTool(ip, ["netns", "del", sender])
        _ = try? await runTool(ip, ["netns", "del", receiver])
    }
}
