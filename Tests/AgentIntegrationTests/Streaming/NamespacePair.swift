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
        guard geteuid() == 0, let ip = try? locateTool("ip") else { return false }
        let probe = "outpost-probe-\(getpid())"
        guard (try? runToolBlocking(ip, ["netns", "add", probe])) != nil else { return false }
        _ = try? runToolBlocking(ip, ["netns", "del", probe])
        return true
    }

    init() throws {
        let ip = try locateTool("ip")
        let tag = "\(getpid())-\(UInt16.random(in: 0...UInt16.max))"
        sender = "outpost-a-\(tag)"
        receiver = "outpost-b-\(tag)"
        let vethA = "opa\(UInt16.random(in: 0...UInt16.max))"
        let vethB = "opb\(UInt16.random(in: 0...UInt16.max))"
        try runToolBlocking(ip, ["netns", "add", sender])
        try runToolBlocking(ip, ["netns", "add", receiver])
        try runToolBlocking(ip, ["link", "add", vethA, "netns", sender, "type", "veth", "peer", "name", vethB, "netns", receiver])
        for (namespace, device, address) in [(sender, vethA, Self.senderAddress), (receiver, vethB, Self.receiverAddress)] {
            try runToolBlocking(ip, ["-n", namespace, "addr", "add", "\(address)/24", "dev", device])
            try runToolBlocking(ip, ["-n", namespace, "link", "set", device, "up"])
            try runToolBlocking(ip, ["-n", namespace, "link", "set", "lo", "up"])
        }
    }

    func remove() {
        guard let ip = try? locateTool("ip") else { return }
        _ = try? runToolBlocking(ip, ["netns", "del", sender])
        _ = try? runToolBlocking(ip, ["netns", "del", receiver])
    }
}
