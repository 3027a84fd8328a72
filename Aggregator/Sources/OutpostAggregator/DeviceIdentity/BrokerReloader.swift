import Foundation

/// Makes mosquitto re-read its configuration, ACL and CRL.
///
/// mosquitto 2.0 reloads the CRL for new connections on SIGHUP; connections already open
/// are not re-checked (measured on 2.0.11), which is why ``Revocation`` also ends the
/// revoked device's session.
public struct BrokerReloader: Sendable {
    public let pidFile: String
    public let mode: BrokerReloadMode

    public init(pidFile: String, mode: BrokerReloadMode = .signal) {
        self.pidFile = pidFile
        self.mode = mode
    }

    public func reload() throws(IdentityError) {
        guard mode == .signal else { return }
        guard let text = try? String(contentsOfFile: pidFile, encoding: .utf8) else {
            throw IdentityError(.brokerUnreachable, "cannot read the broker's pid file \(pidFile)")
        }
        guard let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 1 else {
            throw IdentityError(.brokerUnreachable, "\(pidFile) does not hold a process id")
        }
        guard kill(pid, SIGHUP) == 0 else {
            throw IdentityError(.brokerUnreachable, "cannot signal the broker (pid \(pid)): \(String(cString: strerror(errno)))")
        }
    }
}
