import OutpostSupport
import OutpostWire

/// `renew_certificate`: renews the certificate now, as SIGUSR1 does. The centre sends it to
/// move a device to another broker at once (the renewal's answer names the new broker)
/// instead of at the next scheduled renewal. Answers at once; the renewal runs in the
/// renewer and the reconnect follows it.
public struct RenewCertificateCommand: CommandHandler {
    public let name = "renew_certificate"
    let renewer: CertificateRenewer

    public init(renewer: CertificateRenewer) { self.renewer = renewer }

    public func handle(_ command: Command) async throws(CommandFailure) -> JSONValue {
        renewer.logger.notice("renewal requested by command", metadata: ["command": "\(command.id)"])
        renewer.renewNow()
        return ["renewal": "requested"]
    }
}
