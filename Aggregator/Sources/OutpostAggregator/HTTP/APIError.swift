import HTTPTypes
import Hummingbird

/// An admin API failure: an HTTP status, a stable machine-readable `code`, and a message
/// safe to show the caller. Rendered by ``ErrorResponseMiddleware`` as
/// `{"error": {"code", "message", "requestId"}}`.
///
/// Not a `CodedError`: it carries an HTTP status and headers, and its codes are an open set
/// (routes pass through the codes of other domains, e.g. `LiveError`'s).
public struct APIError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        public static let badRequest = Code("bad_request")
        public static let invalidJSON = Code("invalid_json")
        public static let invalidParameter = Code("invalid_parameter")
        public static let unknownParameter = Code("unknown_parameter")
        public static let invalidCursor = Code("invalid_cursor")
        public static let unknownMetric = Code("unknown_metric")
        public static let validationFailed = Code("validation_failed")
        public static let readOnlyField = Code("read_only_field")
        public static let unsupportedMediaType = Code("unsupported_media_type")
        public static let bodyTooLarge = Code("body_too_large")
        public static let unauthenticated = Code("unauthenticated")
        public static let invalidToken = Code("invalid_token")
        public static let tokenExpired = Code("token_expired")
        public static let invalidCredentials = Code("invalid_credentials")
        public static let refreshTokenReused = Code("refresh_token_reused")
        public static let forbidden = Code("forbidden")
        public static let passwordChangeRequired = Code("password_change_required")
        public static let notFound = Code("not_found")
        public static let methodNotAllowed = Code("method_not_allowed")
        public static let conflict = Code("conflict")
        public static let deviceOffline = Code("device_offline")
        public static let rateLimited = Code("rate_limited")
        public static let commandFailed = Code("command_failed")
        public static let unavailable = Code("service_unavailable")
        public static let internalError = Code("internal_error")
    }

    public let status: HTTPResponse.Status
    public let code: Code
    public let message: String
    /// Extra response headers, e.g. `Retry-After` on 429 or `WWW-Authenticate` on 401.
    public var headers: HTTPFields

    public init(_ status: HTTPResponse.Status, _ code: Code, _ message: String, headers: HTTPFields = [:]) {
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers
    }

    public var description: String { "\(status.code) \(code): \(message)" }
    public static func == (lhs: APIError, rhs: APIError) -> Bool { lhs.code == rhs.code && lhs.status == rhs.status }

    static func invalidParameter(_ name: String, _ why: String) -> APIError {
        APIError(.badRequest, .invalidParameter, "query parameter '\(name)' \(why)")
    }

    static func validation(_ message: String) -> APIError { APIError(.unprocessableContent, .validationFailed, message) }

    static func notFound(_ what: String) -> APIError { APIError(.notFound, .notFound, "\(what) not found") }

    static let unauthenticated = APIError(
        .unauthorized, .unauthenticated, "authentication required", headers: [.wwwAuthenticate: "Bearer"])

    static let forbidden = APIError(.forbidden, .forbidden, "your role does not allow this")
}

/// The JSON body of every error response.
struct ErrorBody: Codable, Sendable {
    struct Detail: Codable, Sendable {
        let code: String
        let message: String
        let requestId: String
    }

    let error: Detail
}
