#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A detached OS thread for a blocking C loop, without pulling in Foundation's `Thread`.
///
/// Used by the MQTT client, the stream engine and libcurl requests; the agent links no full
/// Foundation (see docs/agent.md, "Footprint").
public enum NetworkThread {
    private final class Body {
        let name: String?
        let run: @Sendable () -> Void
        init(_ name: String?, _ run: @escaping @Sendable () -> Void) {
            self.name = name
            self.run = run
        }

        func start() {
            if let name { NetworkThread.nameCurrentThread(name) }
            run()
        }
    }

    /// Starts `run` on a new detached thread.
    /// - Parameters:
    ///   - name: the thread's name as `top -H` and `/proc/PID/task/*/comm` show it (at most 15 bytes are kept).
    ///   - stackSize: bytes of stack; nil keeps the system default (`ulimit -s`, usually 8 MiB).
    public static func spawn(name: String? = nil, stackSize: Int? = nil, _ run: @escaping @Sendable () -> Void) {
        let context = Unmanaged.passRetained(Body(name, run)).toOpaque()
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        if let stackSize { pthread_attr_setstacksize(&attributes, max(stackSize, 64 * 1024)) }
        var thread = pthread_t()
        let rc = pthread_create(&thread, &attributes, { context in
            let body = Unmanaged<Body>.fromOpaque(context!).takeRetainedValue()
            body.start()
            return nil
        }, context)
        pthread_attr_destroy(&attributes)
        precondition(rc == 0, "pthread_create failed: \(rc)")
        pthread_detach(thread)
    }

    /// What pthread_setname_np does (Glibc does not export it to Swift): the kernel keeps 15 bytes.
    private static func nameCurrentThread(_ name: String) {
        let fd = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        let bytes = Array(name.utf8.prefix(15))
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
    }
}

