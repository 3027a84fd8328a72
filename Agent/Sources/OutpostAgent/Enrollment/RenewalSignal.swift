import ServiceLifecycle
import UnixSignals

/// SIGUSR1 asks the running agent to renew its certificate now: `outpost-agent renew`
/// sends it, so the renewal happens in the service, under its user, and the publisher
/// reconnects with the new certificate without a restart.
public struct RenewalSignal: Service {
    public static let signal = UnixSignal.sigusr1
    let renewer: CertificateRenewer

    public init(renewer: CertificateRenewer) { self.renewer = renewer }

    public func run() async {
        let signals = await UnixSignalsSequence(trapping: Self.signal)
        await cancelWhenGracefulShutdown {
            for await _ in signals {
                renewer.logger.notice("renewal requested (SIGUSR1)")
                renewer.renewNow()
            }
        }
    }
}
