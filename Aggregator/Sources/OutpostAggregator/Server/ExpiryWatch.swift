import Foundation
import X509

/// The certificates and the CRL whose expiry `/metrics` exports as timestamps, read from
/// their files at each scrape so that a renewal or a new CRL shows at once.
struct ExpiryWatch: Sendable {
    struct Watched: Sendable, Equatable {
        /// The `certificate` label: `ca`, `https`, `mqtt_client`, `broker`.
        var name: String
        var path: String
    }

    var certificates: [Watched]
    var crlPath: String?

    /// The centre's certificates: the fleet CA, the HTTPS server's, the aggregator's MQTT client
    /// certificate, the broker's (from `broker-config`), and the fleet CRL.
    static func of(_ configuration: AggregatorConfiguration) -> ExpiryWatch {
        ExpiryWatch(
            certificates: [
                Watched(name: "ca", path: (configuration.caDirectory as NSString).appendingPathComponent("ca.pem")),
                Watched(name: "https", path: configuration.http.certFile),
                Watched(name: "mqtt_client", path: configuration.mqtt.certFile),
                Watched(name: "broker", path: (configuration.brokerDirectory as NSString).appendingPathComponent("server.pem")),
            ],
            crlPath: configuration.crlFile)
    }

    /// What the files say now: each readable certificate's `notAfter`, and the CRL's `nextUpdate`.
    /// A missing or unreadable file is left out (its series disappears, which the alert rules treat as absent).
    func read() -> (certificates: [String: Date], crlNextUpdate: Date?) {
        var expiries: [String: Date] = [:]
        for watched in certificates {
            if let text = try? String(contentsOfFile: watched.path, encoding: .utf8), let notAfter = Self.notAfter(pem: text) {
                expiries[watched.name] = notAfter
            }
        }
        let crl = crlPath.flatMap { try? String(contentsOfFile: $0, encoding: .utf8) }.flatMap { CertificateRevocationList.validity(pem: $0) }
        return (expiries, crl?.nextUpdate)
    }

    /// The `notAfter` of the first certificate in a PEM file (a chain starts with the leaf).
    static func notAfter(pem: String) -> Date? {
        let end = "-----END CERTIFICATE-----"
        guard let start = pem.range(of: "-----BEGIN CERTIFICATE-----"), let stop = pem.range(of: end, range: start.upperBound..<pem.endIndex),
              let certificate = try? Certificate(pemEncoded: String(pem[start.lowerBound..<stop.upperBound]))
        else { return nil }
        return certificate.notValidAfter
    }
}
