/// The config endpoint's JSON contract (`POST /api/v1/enroll`, `POST /api/v1/renew`),
/// shared by the aggregator that answers and the agent that asks. Keys are snake_case.

/// `POST /api/v1/enroll`: a one-time token and a PEM CSR whose CN is the device id.
public struct EnrollRequest: Codable, Sendable, Equatable {
    public var token: String
    public var csr: String

    public init(token: String, csr: String) {
        self.token = token
        self.csr = csr
    }
}

/// `POST /api/v1/renew`: a PEM CSR for a new key, sent over mutual TLS with the current certificate.
public struct RenewRequest: Codable, Sendable, Equatable {
    public var csr: String

    public init(csr: String) { self.csr = csr }
}

/// What enroll and renew answer.
public struct CertificateResponse: Codable, Sendable, Equatable {
    public struct Broker: Codable, Sendable, Equatable {
        public var host: String
        public var port: Int
        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }
    }

    /// Settings the device starts with; the rest of its configuration keeps its defaults.
    public struct InitialConfig: Codable, Sendable, Equatable {
        /// Seconds between MQTT keepalive pings.
        public var keepalive: Int
        /// Whether the device checks the broker certificate's host name.
        public var verifyHostname: Bool
        public init(keepalive: Int, verifyHostname: Bool) {
            self.keepalive = keepalive
            self.verifyHostname = verifyHostname
        }
    }

    public var deviceId: String
    /// PEM of the issued certificate.
    public var certificate: String
    /// PEM of the fleet CA.
    public var caCertificate: String
    /// Serial of the issued certificate, lower-case hex.
    public var serial: String
    /// Expiry of the issued certificate, seconds since the epoch.
    public var notAfter: Int64
    public var broker: Broker
    public var config: InitialConfig

    public init(deviceId: String, certificate: String, caCertificate: String, serial: String, notAfter: Int64, broker: Broker,
                config: InitialConfig) {
        self.deviceId = deviceId
        self.certificate = certificate
        self.caCertificate = caCertificate
        self.serial = serial
        self.notAfter = notAfter
        self.broker = broker
        self.config = config
    }
}

/// Every refusal of the config endpoint: `{"error": {"code": "...", "message": "..."}}`.
public struct ErrorResponse: Codable, Sendable, Equatable {
    public struct Body: Codable, Sendable, Equatable {
        public var code: String
        public var message: String
        public init(code: String, message: String) {
            self.code = code
            self.message = message
        }
    }

    public var error: Body

    public init(code: String, message: String) { error = Body(code: code, message: message) }
}
