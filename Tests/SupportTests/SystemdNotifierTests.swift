import Foundation
import Testing
@testable import OutpostSupport

@Suite("sd_notify")
struct SystemdNotifierTests {
    @Test("notifications arrive as datagrams on NOTIFY_SOCKET; the watchdog interval is read")
    func datagrams() throws {
        let path = NSTemporaryDirectory() + "outpost-notify-\(getpid()).sock"
        unlink(path)
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        #expect(fd >= 0)
        defer {
            close(fd)
            unlink(path)
        }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        #expect(bound == 0)
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": path, "WATCHDOG_USEC": "4000000"])
        #expect(notifier.watchdogInterval == .seconds(4))
        notifier.ready(status: "up")
        notifier.watchdogPing()
        var buffer = [UInt8](repeating: 0, count: 256)
        let first = recv(fd, &buffer, buffer.count, 0)
        #expect(String(decoding: buffer[0..<max(first, 0)], as: UTF8.self) == "READY=1\nSTATUS=up")
        let second = recv(fd, &buffer, buffer.count, 0)
        #expect(String(decoding: buffer[0..<max(second, 0)], as: UTF8.self) == "WATCHDOG=1")
    }

    @Test("outside systemd nothing is sent and no watchdog is expected")
    func inactive() {
        let notifier = SystemdNotifier(environment: [:])
        #expect(!notifier.isActive)
        #expect(notifier.watchdogInterval == nil)
        notifier.ready()
    }

    @Test("a watchdog meant for another PID is ignored")
    func otherPID() {
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": "/x", "WATCHDOG_USEC": "1000", "WATCHDOG_PID": "1"])
        #expect(notifier.watchdogInterval == nil)
    }
}
