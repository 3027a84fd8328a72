import ServiceLifecycle
import Synchronization

/// Reconnects MQTT with the new certificate each time the ``CertificateRenewer`` installs
/// one. The renewer writes the files in place; the publisher's next client reads them.
public final class RenewedConnection: Sendable {
    private let publisher = Mutex<Publisher?>(nil)

    public init() {}

    public func attach(_ publisher: Publisher) {
        self.publisher.withLock { $0 = publisher }
    }

    /// The service that waits for installed certificates and reconnects.
    public func hook(renewer: CertificateRenewer) -> some Service {
        Hook(renewer: renewer, connection: self)
    }

    private struct Hook: Service {
        let renewer: CertificateRenewer
        let connection: RenewedConnection

        func run() async {
            await cancelWhenGracefulShutdown {
                for await _ in renewer.installed {
                    connection.publisher.withLock { $0 }?.renewConnection()
                }
            }
        }
    }
}
