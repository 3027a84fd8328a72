import Foundation

/// Janus's configuration for Outpost's live view: the core (`janus.jcfg`), the HTTP
/// transport on one address (127.0.0.1 by default) and the streaming plugin; every other
/// plugin, transport, logger and event handler off. The API secret and the streaming
/// plugin's admin key are fresh per generation and also written to `outpost-secrets.json`
/// for the aggregator. All files are mode 0600.
public struct JanusConfigGenerator: Sendable {
    public struct Secrets: Codable, Sendable, Equatable {
        /// Janus's `api_secret`: every API request must carry it; the aggregator adds it.
        public var apiSecret: String
        /// The streaming plugin's `admin_key`: only holders may create or destroy mountpoints.
        public var adminKey: String

        public init(apiSecret: String, adminKey: String) {
            self.apiSecret = apiSecret
            self.adminKey = adminKey
        }
    }

    public static let secretsFile = "outpost-secrets.json"
    static let plugins = ["audiobridge", "duktape", "echotest", "lua", "nosip", "recordplay", "sip", "textroom", "videocall",
                          "videoroom", "voicemail"]
    static let transports = ["mqtt", "nanomsg", "pfunix", "rabbitmq", "websockets"]
    static let eventHandlers = ["gelfevh", "mqttevh", "nanomsgevh", "rabbitmqevh", "sampleevh", "wsevh"]

    public var settings: LiveSettings
    /// Janus's module folder (Debian: `/usr/lib/<triplet>/janus`).
    public var libraryDir: String
    public var debugLevel: Int

    public init(settings: LiveSettings, libraryDir: String = Self.defaultLibraryDir(), debugLevel: Int = 4) {
        self.settings = settings
        self.libraryDir = libraryDir
        self.debugLevel = debugLevel
    }

    public static func defaultLibraryDir() -> String {
        for triplet in ["x86_64-linux-gnu", "aarch64-linux-gnu", "arm-linux-gnueabihf"] {
            let dir = "/usr/lib/\(triplet)/janus"
            if FileManager.default.fileExists(atPath: dir) { return dir }
        }
        return "/usr/lib/x86_64-linux-gnu/janus"
    }

    static func quoted(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    /// The three files by name, for `directory` (Janus's `configs_folder`).
    public func files(directory: String, secrets: Secrets) -> [String: String] {
        let q = Self.quoted
        var nat = [
            "\tignore_mdns = true",
            "\tfull_trickle = true",
        ]
        if let interface = settings.iceInterface { nat.append("\tice_enforce_list = \(q(interface))") }
        let core = """
            general: {
            \tconfigs_folder = \(q(directory))
            \tplugins_folder = \(q(libraryDir + "/plugins"))
            \ttransports_folder = \(q(libraryDir + "/transports"))
            \tevents_folder = \(q(libraryDir + "/events"))
            \tloggers_folder = \(q(libraryDir + "/loggers"))
            \tdebug_level = \(debugLevel)
            \tapi_secret = \(q(secrets.apiSecret))
            }
            media: {
            \trtp_port_range = \(q(settings.rtpPortRange))
            }
            nat: {
            \(nat.joined(separator: "\n"))
            }
            plugins: {
            \tdisable = \(q(Self.plugins.map { "libjanus_\($0).so" }.joined(separator: ",")))
            }
            transports: {
            \tdisable = \(q(Self.transports.map { "libjanus_\($0).so" }.joined(separator: ",")))
            }
            loggers: {
            \tdisable = "libjanus_jsonlog.so"
            }
            events: {
            \tbroadcast = false
            \tdisable = \(q(Self.eventHandlers.map { "libjanus_\($0).so" }.joined(separator: ",")))
            }

            """
        let http = """
            general: {
            \tjson = "plain"
            \tbase_path = "/janus"
            \thttp = true
            \tport = \(settings.httpPort)
            \tip = \(q(settings.httpAddress))
            \thttps = false
            }
            admin: {
            \tadmin_http = false
            \tadmin_https = false
            }

            """
        let streaming = """
            general: {
            \tadmin_key = \(q(secrets.adminKey))
            \trtp_port_range = \(q(settings.rtpPortRange))
            }

            """
        return ["janus.jcfg": core, "janus.transport.http.jcfg": http, "janus.plugin.streaming.jcfg": streaming]
    }

    /// Writes the files and the secrets into `directory` (created 0700), each 0600.
    public func write(to directory: String) throws -> Secrets {
        let secrets = Secrets(apiSecret: SecretToken.generate(bytes: 24), adminKey: SecretToken.generate(bytes: 24))
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        var all = files(directory: directory, secrets: secrets)
        all[Self.secretsFile] = String(decoding: try JSONEncoder().encode(secrets), as: UTF8.self)
        for (name, text) in all {
            let path = (directory as NSString).appendingPathComponent(name)
            _ = FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600])
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        }
        return secrets
    }

    /// The secrets `write(to:)` left in `directory`.
    public static func readSecrets(from directory: String) throws -> Secrets {
        let path = (directory as NSString).appendingPathComponent(secretsFile)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw LiveError(.janusUnavailable, "no \(path): run outpost-aggregator janus-config")
        }
        return try JSONDecoder().decode(Secrets.self, from: data)
    }
}
