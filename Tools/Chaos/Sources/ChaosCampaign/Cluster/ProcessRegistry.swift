import Foundation
import Synchronization

/// Every process the campaign has running, by name, so that an interrupt or the global
/// deadline can end them by PID (never by name) before the campaign exits.
public final class ProcessRegistry: Sendable {
    public static let shared = ProcessRegistry()

    private let pids = Mutex<[String: pid_t]>([:])

    public func record(_ name: String, _ pid: pid_t) { pids.withLock { $0[name] = pid } }

    public func forget(_ name: String) { pids.withLock { _ = $0.removeValue(forKey: name) } }

    /// SIGKILLs every recorded process that is still alive and returns their names.
    @discardableResult
    public func killAll() -> [String] {
        let live = pids.withLock { current in
            defer { current.removeAll() }
            return current
        }
        return live.sorted { $0.key < $1.key }.compactMap { name, pid in
            guard kill(pid, 0) == 0 else { return nil }
            kill(pid, SIGKILL)
            return name
        }
    }
}
