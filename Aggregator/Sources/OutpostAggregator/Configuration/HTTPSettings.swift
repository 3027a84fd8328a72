import Foundation
import OutpostSupport

/// The `http` section: the HTTPS server for the config endpoint, the admin API, `/health` and `/metrics`.
public struct HTTPSettings: Codable, Sendable, Equatable {
    /// Debian's shared JavaScript libraries, the default of `http.javascript_dir`.
    public static let debianJavaScriptDirectory = "/usr/share/javascript"

    /// Address to bind. Defaults to `127.0.0.1`; set `0.0.0.0` or a LAN address on purpose to serve devices.
    public var host: String
    /// Defaults to 8443.
    public var port: Int
    /// PEM server certificate (issued by the fleet CA). Required.
    public var certFile: String
    /// PEM key of that certificate. Required.
    public var keyFile: String
    /// PEM CA whose client certificates the server accepts (optional mutual TLS, for `/api/v1/renew`).
    /// Defaults to none: no client certificates are requested.
    public var clientCaFile: String?
    /// The operator console's files, served at `/console/`. Defaults to the checkout's
    /// `Aggregator/Console` for a binary built there, else `/usr/share/outpost-aggregator/console`.
    public var consoleDir: String?
    /// Debian's shared JavaScript libraries, served at `/javascript/`. Defaults to `/usr/share/javascript`.
    public var javascriptDir: String
    /// A file (owner/group-only) holding a bearer token that `GET /metrics` then requires
    /// (`Authorization: Bearer …`), for a listener other hosts reach. Defaults to none:
    /// `/metrics` answers anyone who reaches the listener, which is loopback by default.
    public var metricsTokenFile: String?

    public init(host: String = "127.0.0.1", port: Int = 8443, certFile: String, keyFile: String, clientCaFile: String? = nil,
                consoleDir: String? = nil, javascriptDir: String = HTTPSettings.debianJavaScriptDirectory,
                metricsTokenFile: String? = nil) {
        self.host = host
        self.port = port
        self.certFile = certFile
        self.keyFile = keyFile
        self.clientCaFile = clientCaFile
        self.consoleDir = consoleDir
        self.javascriptDir = javascriptDir
        self.metricsTokenFile = metricsTokenFile
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        host = try container.value(.host, default: "127.0.0.1", where: { !$0.isEmpty }, "must not be empty")
        port = try container.value(.port, default: 8443, where: { (0...65535).contains($0) }, "must be a port number (0-65535)")
        certFile = try container.decode(String.self, forKey: .certFile)
        keyFile = try container.decode(String.self, forKey: .keyFile)
        clientCaFile = try container.decodeIfPresent(String.self, forKey: .clientCaFile)
        consoleDir = try container.decodeIfPresent(String.self, forKey: .consoleDir)
        javascriptDir = try container.value(.javascriptDir, default: HTTPSettings.debianJavaScriptDirectory, where: { !$0.isEmpty }, "must not be empty")
        metricsTokenFile = try container.decodeIfPresent(String.self, forKey: .metricsTokenFile)
    }

    /// The token in ``metricsTokenFile``, or nil when none is configured.
    /// - Throws: ``ConfigError`` `unreadable_file`, or `invalid_value` (readable by others, or a
    ///   token shorter than 16 characters).
    public func metricsToken() throws -> String? {
        guard let metricsTokenFile else { return nil }
        guard let text = try? String(contentsOfFile: metricsTokenFile, encoding: .utf8) else {
            throw ConfigError(.unreadableFile, key: "http.metrics_token_file", "cannot read \(metricsTokenFile)")
        }
        var status = stat()
        guard stat(metricsTokenFile, &status) == 0, status.st_mode & 0o007 == 0 else {
            throw ConfigError(.invalidValue, key: "http.metrics_token_file", "\(metricsTokenFile) must not be readable by others (chmod 0640)")
        }
        let token = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard token.count >= 16 else {
            throw ConfigError(.invalidValue, key: "http.metrics_token_file", "the token must be at least 16 characters")
        }
        return token
    }
}
