import Crypto
import Foundation
import OutpostWire
import Testing
@testable import OutpostAggregator

@Suite("ES256 access tokens (pure)")
struct AccessTokenTests {
    let key = P256.Signing.PrivateKey()
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func claims(role: Role = .viewer, expiresIn: Int64 = 900) -> AccessTokenClaims {
        let issued = Int64(now.timeIntervalSince1970)
        return AccessTokenClaims(iss: AccessTokenClaims.issuer, aud: AccessTokenClaims.audience, sub: "u1", name: "ann",
                                 role: role, iat: issued, exp: issued + expiresIn, jti: "j1")
    }

    func verify(_ token: String, at date: Date? = nil) async throws(APIError) -> AccessTokenClaims {
        let publicKey = key.publicKey
        return try AccessToken.verify(token, now: date ?? now) { kid in kid == "k1" ? publicKey : nil }
    }

    @Test("a signed token verifies and yields its claims")
    func roundTrip() async throws {
        let token = try AccessToken.sign(claims(role: .operator), key: key, kid: "k1")
        #expect(token.split(separator: ".").count == 3)
        #expect(try await verify(token) == claims(role: .operator))
    }

    @Test("expired tokens say so; tokens from the future, other keys, other kids, alg none and edits are invalid")
    func refusals() async throws {
        let token = try AccessToken.sign(claims(), key: key, kid: "k1")
        await #expect(throws: APIError(.unauthorized, .tokenExpired, "")) { try await verify(token, at: now.addingTimeInterval(1000)) }
        await #expect(throws: APIError(.unauthorized, .invalidToken, "")) { try await verify(token, at: now.addingTimeInterval(-600)) }
        let otherKey = try AccessToken.sign(claims(), key: P256.Signing.PrivateKey(), kid: "k1")
        await #expect(throws: APIError(.unauthorized, .invalidToken, "")) { try await verify(otherKey) }
        let otherKid = try AccessToken.sign(claims(), key: key, kid: "k2")
        await #expect(throws: APIError(.unauthorized, .invalidToken, "")) { try await verify(otherKid) }

        let parts = token.split(separator: ".").map(String.init)
        let elevated = Base64URL.encode(try JSONEncoder().encode(claims(role: .admin)))
        await #expect(throws: APIError(.unauthorized, .invalidToken, "")) { try await verify("\(parts[0]).\(elevated).\(parts[2])") }
        let none = Base64URL.encode(Data(#"{"alg":"none","typ":"JWT","kid":"k1"}"#.utf8))
        await #expect(throws: APIError(.unauthorized, .invalidToken, "")) { try await verify("\(none).\(parts[1]).") }
        for garbage in ["", "a.b", "a.b.c.d", "!!!.???.***", String(repeating: "a", count: 5000)] {
            await #expect(throws: APIError(.unauthorized, .invalidToken, "")) { try await verify(garbage) }
        }
    }
}
