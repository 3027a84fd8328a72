import HTTPTypes
import Hummingbird
import Logging

/// Gives every request an id: the caller's `X-Request-Id` when it is a sane token
/// (1–64 of `[A-Za-z0-9._-]`), otherwise a new random one. The id goes into the context,
/// the logger's metadata (`request_id`) and the `X-Request-Id` response header, and
/// error bodies carry it, so an operator can find a failed call in the logs. One access-log
/// line per request (method, path without query, status, time to the response head).
struct RequestIDMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let id = request.headers[.requestID].flatMap(Self.acceptable) ?? Self.generate()
        context.requestID = id
        context.logger[metadataKey: "request_id"] = .string(id)
        let started = ContinuousClock.now
        var response = try await next(request, context)
        response.headers[.requestID] = id
        let elapsed = ContinuousClock.now - started
        context.logger.info("request", metadata: [
            "method": "\(request.method)", "path": "\(request.uri.path)", "status": "\(response.status.code)",
            "ms": "\(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)",
        ])
        return response
    }

    static func acceptable(_ candidate: String) -> String? {
        guard (1...64).contains(candidate.utf8.count),
              candidate.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A)
                  || $0 == 0x2D || $0 == 0x2E || $0 == 0x5F })
        else { return nil }
        return candidate
    }

    static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        return String(generator.next() as UInt64, radix: 16, uppercase: false).leftPadded(to: 16)
            + String(generator.next() as UInt64, radix: 16, uppercase: false).leftPadded(to: 16)
    }
}

extension HTTPField.Name {
    static let requestID = HTTPField.Name("X-Request-Id")!
    static let retryAfter = HTTPField.Name("Retry-After")!
    static let apiKey = HTTPField.Name("X-API-Key")!
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
