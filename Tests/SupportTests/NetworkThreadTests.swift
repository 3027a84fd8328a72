import Foundation
import OutpostSupport
import Testing

@Suite("NetworkThread: a named pthread without Foundation's Thread")
struct NetworkThreadTests {
    /// What the running thread reports about itself, and the name of the thread that started it.
    struct Seen: Sendable {
        var name: String
        var isMainThread: Bool
        var parentName: String
    }

    static func threadName() -> String {
        ((try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? "").trimmingCharacters(in: .newlines)
    }

    func observe(name: String?) async -> Seen {
        await withCheckedContinuation { continuation in
            let parentName = Self.threadName()
            NetworkThread.spawn(name: name, stackSize: 1 << 20) {
                continuation.resume(returning: Seen(name: Self.threadName(), isMainThread: Thread.isMainThread, parentName: parentName))
            }
        }
    }

    @Test("runs the body on its own thread, named as asked, cut to the kernel's 15 bytes")
    func named() async {
        let short = await observe(name: "outpost-stream")
        #expect(short.name == "outpost-stream")
        #expect(!short.isMainThread)
        let long = await observe(name: "outpost-a-very-long-thread-name")
        #expect(long.name == "outpost-a-very-")
    }

    @Test("without a name it keeps the name it inherits from the thread that started it")
    func unnamed() async {
        let seen = await observe(name: nil)
        #expect(!seen.parentName.isEmpty)
        #expect(seen.name == seen.parentName)
    }
}
