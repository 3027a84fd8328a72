#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import OutpostWire

/// Talks to the aggregator's config endpoint: fetches its CA (checked by fingerprint),
/// enrolls with a token, renews with the current certificate.
public struct ConfigEndpointClient: Sendable {
    /// Base URL, e.g. `https://aggregator.example.net:8443`.
    public let server: String

    public init(server: String) {
        self.server = server.hasSuffix("/") ? String(server.dropLast()) : server
    }

    /// `GET /api/v1/ca` without verification, then checks the answer's SHA-256 against
    /// `fingerprint`: only a CA with that fingerprint is trusted for what follows.
    public func fetchCertificateAuthority(expecting fingerprint: CertificateFingerprint) async throws(EnrollmentError) -> [UInt8] {
        let response = try await HTTPSRequest(method: "GET", url: server + "/api/v1/ca", body: nil, trust: .fingerprintCheckedLater)
            .perform()
        guard response.status == 200, let der = PEMCertificate.der(fromPEM: String(decoding: response.body, as: UTF8.self)),
              let digest = Libcrypto.sha256(der), let actual = CertificateFingerprint(bytes: digest)
        else {
            throw EnrollmentError(.badResponse, "\(server) did not serve a CA certificate (HTTP \(response.status))")
        }
        guard actual == fingerprint else {
            throw EnrollmentError(.fingerprintMismatch, "the server's CA is \(actual.hex), expected \(fingerprint.hex)")
        }
        return response.body
    }

    public func enroll(_ request: EnrollRequest, trusting caPEM: [UInt8]) async throws(EnrollmentError) -> CertificateResponse {
        try await post("/api/v1/enroll", request, trust: .certificateAuthority(caPEM), clientCertificate: nil)
    }

    public func renew(_ request: RenewRequest, trusting caPEM: [UInt8], certificateFile: String, keyFile: String)
        async throws(EnrollmentError) -> CertificateResponse
    {
        try await post("/api/v1/renew", request, trust: .certificateAuthority(caPEM), clientCertificate: (certificateFile, keyFile))
    }

    private func post<T: Encodable>(_ path: String, _ value: T, trust: HTTPSRequest.Trust,
                                    clientCertificate: (certificate: String, key: String)?) async throws(EnrollmentError)
        -> CertificateResponse
    {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        let body: [UInt8]
        do { body = Array(try encoder.encode(value)) } catch { throw EnrollmentError(.invalidArgument, "cannot encode the request") }
        let response = try await HTTPSRequest(method: "POST", url: server + path, body: body, trust: trust,
                                              clientCertificate: clientCertificate).perform()
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        guard response.status == 200 else {
            if let refusal = try? decoder.decode(ErrorResponse.self, from: Data(response.body)) {
                throw EnrollmentError(.refused, refusal.error.message, serverCode: refusal.error.code)
            }
            throw EnrollmentError(.badResponse, "\(server)\(path) answered HTTP \(response.status)")
        }
        do {
            return try decoder.decode(CertificateResponse.self, from: Data(response.body))
        } catch {
            throw EnrollmentError(.badResponse, "\(server)\(path) answered JSON that is not a certificate response")
        }
    }
}

/// PEM ↔ DER for single certificates, without an ASN.1 library.
enum PEMCertificate {
    static func der(fromPEM pem: String) -> [UInt8]? {
        guard let begin = pem.firstRange(of: "-----BEGIN CERTIFICATE-----"),
              let end = pem[begin.upperBound...].firstRange(of: "-----END CERTIFICATE-----")
        else { return nil }
        let base64 = pem[begin.upperBound..<end.lowerBound].filter { !$0.isWhitespace }
        return Data(base64Encoded: String(base64)).map(Array.init)
    }
}
