import Logging
import OutpostMQTT
import OutpostWire
import ServiceLifecycle
import Synchronization

/// Reconnects MQTT with the new certificate each time the ``CertificateRenewer`` installs
/// one. The renewer writes the files in place; the publisher's next client reads them.
///
/// A renewal also names the device's broker: when the centre has moved the device, the
/// redirect is recorded (``BrokerRedirect``) and the reconnect goes to the new broker.
public final class RenewedConnection: Sendable {
    private let publisher = Mutex<Publisher?>(nil)
    private let redirect: Mutex<BrokerRedirect?>
    private let configured: BrokerSettings
    private let stateDir: String

    /// - Parameters:
    ///   - configured: `agent.json`'s `mqtt` section.
    ///   - stateDir: where the redirect of an earlier renewal is kept.
    public init(configured: BrokerSettings, stateDir: String) {
        self.configured = configured
        self.stateDir = stateDir
        redirect = Mutex(BrokerRedirect.load(stateDir: stateDir))
    }

    public func attach(_ publisher: Publisher) {
        self.publisher.withLock { $0 = publisher }
    }

    /// The settings for the next MQTT client: `agent.json`'s, pointed at the broker of the last renewal.
    public var brokerSettings: BrokerSettings {
        redirect.withLock { $0 }.map { $0.apply(to: configured) } ?? configured
    }

    /// Records the broker a renewal named (kept in the state directory for restarts); true when it differs from the one in use.
    public func renewed(broker: CertificateResponse.Broker, logger: Logger) -> Bool {
        let before = brokerSettings
        let next = BrokerRedirect.after(renewal: broker, configured: configured)
        redirect.withLock { $0 = next }
        do {
            try BrokerRedirect.store(next, stateDir: stateDir)
        } catch {
            logger.warning("broker change not kept for restarts", metadata: ["error": "\(error)"])
        }
        let moved = before.host != broker.host || before.port != broker.port
        if moved {
            logger.notice("the centre moved this device to another broker", metadata: [
                "from": "\(before.host):\(before.port)", "to": "\(broker.host):\(broker.port)",
            ])
        }
        return moved
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
                for await installed in renewer.installed {
                    _ = connection.renewed(broker: installed.broker, logger: renewer.logger)
                    connection.publisher.withLock { $0 }?.renewConnection()
                }
            }
        }
    }
}
