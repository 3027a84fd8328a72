#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Logging

extension CertificateRenewer {
    /// Builds the renewer from `agent.json`; nil when it has no `enrollment` section.
    public init?(configuration: AgentConfiguration, policy: RenewalPolicy = RenewalPolicy(), logger: Logger) {
        guard let enrollment = configuration.enrollment else { return nil }
        self.init(device: configuration.deviceID, serverURL: enrollment.serverUrl,
                  credentials: DeviceCredentials(keyFile: configuration.mqtt.keyFile, certificateFile: configuration.mqtt.certFile,
                                                 caFile: configuration.mqtt.caFile,
                                                 keyGroup: DeviceCredentials.readingGroup(of: configuration.mqtt.keyFile),
                                                 // Root (`outpost-agent renew` with no agent running) keeps the service user's files its own.
                                                 owner: geteuid() == 0 ? DeviceCredentials.Owner.of(configuration.mqtt.keyFile) : nil),
                  policy: policy, logger: logger)
    }
}
