import Foundation
import HTTPTypes
import Hummingbird
import OutpostWire

/// `POST /enrollment-tokens`: `{device, kind?, ttlSeconds?}`.
struct CreateEnrollmentTokenRequest: Decodable, StrictKeys {
    static let allowedKeys: Set<String> = ["device", "kind", "ttlSeconds"]
    /// A token lives at least a minute and at most 30 days.
    static let ttlBounds = 60...(30 * 86_400)
    let device: DeviceID
    let kind: String
    let ttlSeconds: Int?

    init(from decoder: any Decoder) throws {
        try Self.refuseUnknownKeys(decoder)
        let container = try decoder.container(keyedBy: AnyKey.self)
        let device = try container.decode(String.self, forKey: AnyKey(stringValue: "device"))
        guard let id = DeviceID(device) else { throw APIError.validation("device must match [a-z0-9][a-z0-9-]{0,62}") }
        self.device = id
        kind = try container.decodeOptional(String.self, "kind") ?? "meter"
        guard EnrollmentTokenIssuer.kinds.contains(kind) else { throw APIError.validation("kind must be meter or camera") }
        ttlSeconds = try container.decodeOptional(Int.self, "ttlSeconds")
        if let ttlSeconds, !Self.ttlBounds.contains(ttlSeconds) {
            throw APIError.validation("ttlSeconds must be \(Self.ttlBounds.lowerBound)-\(Self.ttlBounds.upperBound)")
        }
    }
}

/// The answer to `POST /enrollment-tokens`: the only time the token is shown.
struct CreatedEnrollmentToken: Encodable {
    let id: String
    let device: String
    let kind: String
    let token: String
    let expiresAt: Date
    let enrollCommand: String
}

extension APIError {
    static let caUnavailable = APIError(.serviceUnavailable, Code("ca_unavailable"),
                                        "this aggregator has no CA (run `outpost-aggregator ca init`)")

    /// An identity-module failure with its own status and stable code.
    init(_ error: IdentityError) {
        self.init(HTTPResponse.Status(code: error.code.httpStatus), Code(error.code.rawValue), error.context)
    }
}

extension AdminAPI {
    func addEnrollmentTokenRoutes(_ on: (HTTPRequest.Method, String, @escaping Handler) -> Void) {
        on(.post, "/enrollment-tokens") { request, context in
            let body = try await request.decodeJSON(CreateEnrollmentTokenRequest.self, limit: settings.maxBodyBytes)
            guard let identity else { throw APIError.caUnavailable }
            let issued: EnrollmentTokenIssuer.Issued
            do {
                issued = try await identity.createToken(device: body.device, kind: body.kind, lifetime: body.ttlSeconds.map { .seconds($0) },
                                                        origin: origin(context), audit: audit)
            } catch let error as IdentityError { throw APIError(error) }
            return try .json(CreatedEnrollmentToken(id: issued.hash, device: body.device.rawValue, kind: issued.kind,
                                                    token: issued.token.printed, expiresAt: issued.expiresAt,
                                                    enrollCommand: issued.enrollCommand), status: .created)
        }
        on(.delete, "/enrollment-tokens/{id}") { _, context in
            let id = context.parameters.get("id") ?? ""
            guard id.range(of: "^[0-9a-f]{64}$", options: .regularExpression) != nil else { throw APIError.notFound("enrollment token") }
            guard let identity else { throw APIError.caUnavailable }
            switch try await identity.tokens.store.expireToken(hash: id) {
            case .unknown: throw APIError.notFound("enrollment token")
            case .used: throw APIError(.conflict, .conflict, "the token was used already; revoke the device's certificates instead")
            case .expired(let device):
                try await audit.record("enrollment_token.revoke", target: "device:\(device)", detail: ["token_id": id], origin: origin(context))
                return Response(status: .noContent)
            }
        }
        on(.post, "/devices/{id}/certificates/revoke") { _, context in
            guard let device = DeviceID(context.parameters.get("id") ?? "") else { throw APIError.notFound("device") }
            guard try await devices.get(device.rawValue) != nil else { throw APIError.notFound("device") }
            guard let identity else { throw APIError.caUnavailable }
            let outcome: Revocation.Outcome
            do {
                outcome = try await identity.revokeCertificates(device: device, origin: origin(context), audit: audit)
            } catch let error as IdentityError { throw APIError(error) }
            return try .json(CertificateRevocationResult(device: device.rawValue, revokedSerials: outcome.revokedSerials,
                                                         crlEntries: outcome.crlEntries, sessionEnded: outcome.sessionEnded))
        }
    }
}

/// The answer to `POST /devices/{id}/certificates/revoke`.
struct CertificateRevocationResult: Encodable {
    let device: String
    let revokedSerials: [String]
    let crlEntries: Int
    let sessionEnded: Bool
}
