import HTTPTypes
import Hummingbird

/// Which methods each registered path serves, read from the router after every
/// ``RouteProvider`` has added its routes, so a route added anywhere is covered.
///
/// A request whose path matches a registered path but whose method does not is answered
/// 405 with `Allow` (RFC 9110 §15.5.6) instead of 404. Catch-all patterns (`*`, `**`) are
/// not known paths: they stand for "anything else".
struct RouteTable: Sendable, Equatable {
    struct Entry: Sendable, Equatable {
        /// Segments of the path; `nil` for a `:parameter` segment.
        let segments: [String?]
        var methods: Set<HTTPRequest.Method>
    }

    private(set) var entries: [Entry] = []

    init(_ routes: [(path: String, method: HTTPRequest.Method)]) {
        for (path, method) in routes {
            let parts = path.split(separator: "/", omittingEmptySubsequences: true)
            guard !parts.contains(where: { $0.contains("*") }) else { continue }
            let segments = parts.map { $0.hasPrefix(":") || $0.contains("{") ? nil : String($0) }
            if let index = entries.firstIndex(where: { $0.segments == segments }) {
                entries[index].methods.insert(method)
            } else {
                entries.append(Entry(segments: segments, methods: [method]))
            }
        }
    }

    /// The methods served at `path` (literal segments win over parameters), or nil for a path no route has.
    func methods(at path: String) -> Set<HTTPRequest.Method>? {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true)
        var best: (literals: Int, methods: Set<HTTPRequest.Method>)?
        for entry in entries where entry.segments.count == parts.count {
            var literals = 0
            var matches = true
            for (segment, part) in zip(entry.segments, parts) {
                guard let segment else { continue }
                guard segment == part else { matches = false; break }
                literals += 1
            }
            if matches, literals > (best?.literals ?? -1) { best = (literals, entry.methods) }
        }
        return best?.methods
    }

    /// The `Allow` header's value: the served methods, sorted.
    static func allowHeader(_ methods: Set<HTTPRequest.Method>) -> String {
        methods.map(\.rawValue).sorted().joined(separator: ", ")
    }
}

/// Answers every request no route took: 405 with `Allow` when the path is known (any
/// method, `TRACE` included), 404 otherwise, both in the admin API's error shape
/// with a request id and counted in `outpost_api_errors_total`.
///
/// Hummingbird sends a request whose path matches but whose method does not to the
/// router's not-found responder, which runs the router's middleware only; this middleware
/// sits there, so it sees exactly the unmatched requests.
struct UnmatchedRouteMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let table: RouteTable

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let methods = table.methods(at: request.uri.path), !methods.contains(request.method) {
            let allow = RouteTable.allowHeader(methods)
            throw APIError(.methodNotAllowed, .methodNotAllowed, "\(request.method) is not allowed here; allowed: \(allow)",
                           headers: [.allow: allow])
        }
        return try await next(request, context)
    }
}
