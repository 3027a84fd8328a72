import Foundation

/// Makes mosquitto re-read its configuration, ACL and CRL.
///
/// mosquitto 2.0 reloads the CRL for new connections on SIGHUP; connections already open
/// are not re-checked (measured on 2.0.11), which is why ``Revocation`` also ends the
/// revoked device's session.
public struct BrokerReloader: Sendable {
    /// Who makes the broker reload after the CRL is written (`identity.broker_reload`).
    public enum Mode: String, Codable, Sendable, Equatable {
        /// SIGHUP to the pid in the pid file: the aggregator may signal mosquitto (same user, or root).
        case signal
        /// Nothing here: writing `crl.pem` is the trigger. A system mosquitto runs as its own user,
        /// which a hardened aggregator (`NoNewPrivileges`) cannot signal; the aggregator package's
        /// `outpost-aggregator-broker-reload.path` reloads it when the file changes.
        case crlWatch = "crl_watch"

        public init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            guard let mode = Mode(rawValue: text) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "must be signal or crl_watch, not \(text)")
            }
            self = mode
        }
    }

    public let pidFile: String
    public let mode: Mode

    public init(pidFile: String, mode: Mode = .signal) {
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
