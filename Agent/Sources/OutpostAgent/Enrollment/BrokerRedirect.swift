#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import OutpostMQTT
import OutpostSupport
import OutpostWire

/// The broker the centre named at the last certificate renewal, when it differs from the
/// one in `agent.json`: how a device moved between brokers (`PUT /devices/{id}/broker`)
/// learns its new broker.
///
/// Kept in `{state_dir}/broker.json` (the service can write its state directory, not
/// `/etc/outpost`), so a restart connects to the new broker too. It records `agent.json`'s
/// host and port at the time: once an operator edits those, the file no longer applies.
public struct BrokerRedirect: Codable, Sendable, Equatable {
    public var host: String
    public var port: Int
    /// `agent.json`'s `mqtt.host` and `mqtt.port` when the redirect was recorded.
    public var configuredHost: String
    public var configuredPort: Int

    public init(host: String, port: Int, configuredHost: String, configuredPort: Int) {
        self.host = host
        self.port = port
        self.configuredHost = configuredHost
        self.configuredPort = configuredPort
    }

    public static func file(stateDir: String) -> String { stateDir + "/broker.json" }

    /// The redirect for a renewal that named `broker`, given `agent.json`'s settings; nil when it names those.
    public static func after(renewal broker: CertificateResponse.Broker, configured: BrokerSettings) -> BrokerRedirect? {
        guard broker.host != configured.host || broker.port != configured.port else { return nil }
        return BrokerRedirect(host: broker.host, port: broker.port, configuredHost: configured.host, configuredPort: configured.port)
    }

    /// `configured` pointed at this redirect's broker, unless `agent.json` changed since it was recorded.
    public func apply(to configured: BrokerSettings) -> BrokerSettings {
        guard configured.host == configuredHost && configured.port == configuredPort else { return configured }
        var settings = configured
        settings.host = host
        settings.port = port
        return settings
    }

    /// The recorded redirect; nil when there is none or it cannot be read.
    public static func load(stateDir: String) -> BrokerRedirect? {
        guard let data = FileManager.default.contents(atPath: file(stateDir: stateDir)) else { return nil }
        return try? JSONDecoder().decode(BrokerRedirect.self, from: data)
    }

    /// Records `redirect`, or removes the file for nil.
    public static func store(_ redirect: BrokerRedirect?, stateDir: String) throws(EnrollmentError) {
        let path = file(stateDir: stateDir)
        guard let redirect else {
            try? FileManager.default.removeItem(atPath: path)
            return
        }
        do {
            try SecureFile.write(Array(try JSONEncoder().encode(redirect)), to: path, mode: 0o640)
        } catch let error as SecureFile.WriteError {
            throw EnrollmentError(.fileWriteFailed, error.description)
        } catch {
            throw EnrollmentError(.fileWriteFailed, "cannot encode \(path)")
        }
    }
}
