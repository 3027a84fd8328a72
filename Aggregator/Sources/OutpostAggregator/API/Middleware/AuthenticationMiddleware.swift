@preconcurrency import Crypto
import Foundation
import HTTPTypes
import Hummingbird

/// Resolves `Authorization: Bearer …` (an access token, or an API key `opk_…`) or
/// `X-API-Key: opk_…` into ``AppRequestContext/principal``. No credentials leaves the
/// caller anonymous (routes decide); a credential that fails is refused with 401 at once,
/// on any route, so a client never silently runs with less than it thinks.
struct AuthenticationMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let keyring: SigningKeyring
    let apiKeys: APIKeysStore

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        if let credential = try Self.credential(in: request.headers) {
            let principal = try await authenticate(credential)
            context.principal = principal
            context.logger[metadataKey: "principal"] = .string("\(principal.kind.rawValue):\(principal.name)")
        }
        return try await next(request, context)
    }

    func authenticate(_ credential: String) async throws -> Principal {
        if credential.hasPrefix(APIKeysStore.prefix) { return try await apiKeys.authenticate(credential) }
        let claims = try await keyring.verify(credential, now: Date())
        return Principal(kind: .user, id: claims.sub, name: claims.name, role: claims.role, mustChangePassword: claims.pwc ?? false)
    }

    static func credential(in headers: HTTPFields) throws(APIError) -> String? {
        if let authorization = headers[.authorization] {
            let parts = authorization.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "bearer", !parts[1].isEmpty else {
                throw APIError(.unauthorized, .invalidToken, "Authorization must be 'Bearer <token>'", headers: [.wwwAuthenticate: "Bearer"])
            }
            return String(parts[1]).trimmingCharacters(in: .whitespaces)
        }
        return headers[.apiKey]
    }
}
