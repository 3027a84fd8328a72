@preconcurrency import Crypto
import Foundation

/// Short-lived ES256 JSON Web Tokens (RFC 7519 / RFC 7515), signed with P-256 keys from
/// ``SigningKeyring``.
///
/// Written on swift-crypto rather than jwt-kit: the API issues and accepts exactly one
/// algorithm with one fixed header, which is a few dozen lines, and pinning `alg` to
/// `ES256` leaves no room for `none` or algorithm-confusion attacks.
public struct AccessTokenClaims: Codable, Sendable, Equatable {
    public static let issuer = "outpost-aggregator"
    public static let audience = "outpost-admin-api"

    public var iss: String
    public var aud: String
    /// The user id.
    public var sub: String
    /// The username, for logs and the audit trail.
    public var name: String
    public var role: Role
    public var iat: Int64
    public var exp: Int64
    public var jti: String
    /// Set while the user must change a one-time password (`pwc`); absent otherwise.
    public var pwc: Bool?
}

public enum AccessToken {
    struct Header: Codable, Equatable {
        var alg: String
        var typ: String
        var kid: String
    }

    /// The `kid` of a token's header, without verifying anything.
    static func keyID(of token: String) -> String? {
        guard let first = token.split(separator: ".", maxSplits: 1).first, first.utf8.count <= 1024,
              let data = Base64URL.decode(first), let header = try? JSONDecoder().decode(Header.self, from: data)
        else { return nil }
        return header.kid
    }

    static func sign(_ claims: AccessTokenClaims, key: P256.Signing.PrivateKey, kid: String) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let header = Base64URL.encode(try encoder.encode(Header(alg: "ES256", typ: "JWT", kid: kid)))
        let payload = Base64URL.encode(try encoder.encode(claims))
        let signingInput = "\(header).\(payload)"
        let signature = try key.signature(for: Data(signingInput.utf8))
        return "\(signingInput).\(Base64URL.encode(signature.rawRepresentation))"
    }

    /// The verified claims, or `invalid_token` / `token_expired`.
    /// - Parameter publicKey: the key for a `kid`, or nil when unknown.
    static func verify(
        _ token: String, now: Date, leeway: TimeInterval = 30, publicKey: (String) -> P256.Signing.PublicKey?
    ) throws(APIError) -> AccessTokenClaims {
        let invalid = APIError(.unauthorized, .invalidToken, "the access token is not valid", headers: [.wwwAuthenticate: "Bearer"])
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard token.utf8.count <= 4096, parts.count == 3,
              let headerData = Base64URL.decode(parts[0]), let payloadData = Base64URL.decode(parts[1]),
              let signatureData = Base64URL.decode(parts[2]),
              let header = try? JSONDecoder().decode(Header.self, from: headerData),
              header.alg == "ES256", header.typ == "JWT",
              let key = publicKey(header.kid),
              let signature = try? P256.Signing.ECDSASignature(rawRepresentation: signatureData),
              key.isValidSignature(signature, for: Data("\(parts[0]).\(parts[1])".utf8)),
              let claims = try? JSONDecoder().decode(AccessTokenClaims.self, from: payloadData),
              claims.iss == AccessTokenClaims.issuer, claims.aud == AccessTokenClaims.audience,
              Double(claims.iat) <= now.timeIntervalSince1970 + leeway
        else { throw invalid }
        guard Double(claims.exp) > now.timeIntervalSince1970 - leeway else {
            throw APIError(.unauthorized, .tokenExpired, "the access token has expired; refresh it",
                           headers: [.wwwAuthenticate: "Bearer error=\"invalid_token\""])
        }
        return claims
    }
}
