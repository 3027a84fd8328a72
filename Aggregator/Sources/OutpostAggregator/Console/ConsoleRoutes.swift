import Foundation
import HTTPTypes
import Hummingbird

/// The operator console: static files only (HTML, CSS, ES modules) at `/console/`, with
/// `/` redirecting there, and Debian's `libjs-*` libraries at `/javascript/…` from
/// `/usr/share/javascript`. Every datum the pages show comes from `/api/v1`.
///
/// These routes need no credentials (they hold no data) and are the only unauthenticated
/// routes the console adds. Their responses carry ``ConsoleHeadersMiddleware``'s policy.
public struct ConsoleRoutes: RouteProvider {
    /// Where the package installs the console.
    public static let installedDirectory = "/usr/share/outpost-aggregator/console"

    let console: StaticFileTree
    let javascript: StaticFileTree
    let metrics: AggregatorMetrics

    public init(consoleDirectory: String, javascriptDirectory: String = HTTPSettings.debianJavaScriptDirectory, metrics: AggregatorMetrics) {
        console = StaticFileTree(root: consoleDirectory)
        javascript = StaticFileTree(root: javascriptDirectory)
        self.metrics = metrics
    }

    /// The console directory to serve: the configured one; else, for a binary built in a
    /// checkout (under its `.build/`), that checkout's `Aggregator/Console`; else the
    /// package's ``installedDirectory``.
    public static func directory(configured: String?, executable: String = Self.executablePath()) -> String {
        if let configured { return configured }
        var url = URL(fileURLWithPath: executable)
        while url.pathComponents.count > 1 {
            if url.lastPathComponent == ".build" {
                let tree = url.deletingLastPathComponent().appendingPathComponent("Aggregator/Console")
                if FileManager.default.fileExists(atPath: tree.appendingPathComponent("index.html").path) { return tree.path }
                break
            }
            url.deleteLastPathComponent()
        }
        return installedDirectory
    }

    /// This process's executable, links resolved.
    public static func executablePath() -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    public func addRoutes(to router: Router<AppRequestContext>) {
        // The router treats `/console` and `/console/` as one path; the request's own path
        // tells them apart, so that relative links in the page resolve under `/console/`.
        let console = self.console
        router.group()
            .add(middleware: RequestIDMiddleware())
            .add(middleware: ConsoleHeadersMiddleware())
            .add(middleware: ErrorResponseMiddleware(metrics: metrics))
            .get("/") { _, _ in Self.redirect }
            .get("/console") { request, _ in request.uri.path == "/console/" ? try Self.serve(console, ["index.html"]) : Self.redirect }
            .get("/console/**") { request, context in
                let components = context.parameters.getCatchAll()
                if components.isEmpty { return request.uri.path == "/console/" ? try Self.serve(console, ["index.html"]) : Self.redirect }
                return try Self.serve(console, components)
            }
            .get("/javascript/**") { [javascript] _, context in try Self.serve(javascript, context.parameters.getCatchAll()) }
    }

    static var redirect: Response { Response(status: .found, headers: [.location: "/console/"]) }

    static func serve(_ tree: StaticFileTree, _ components: [Substring]) throws -> Response {
        guard let file = tree.read(components) else { throw APIError.notFound("file") }
        return Response(status: .ok, headers: [.contentType: file.contentType], body: .init(byteBuffer: ByteBuffer(bytes: file.data)))
    }
}

/// Headers for the console's pages and files: scripts, styles, images and connections from
/// this origin only (plus `blob:` images and video: recordings the console fetched with its
/// token), no inline script or style, never framed; browsers revalidate files
/// instead of keeping stale copies. The API keeps its own stricter policy.
struct ConsoleHeadersMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    static let contentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; media-src blob:; connect-src 'self'; "
        + "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

    static let headers: [(HTTPField.Name, String)] = [
        (.strictTransportSecurity, "max-age=31536000"),
        (.xContentTypeOptions, "nosniff"),
        (HTTPField.Name("X-Frame-Options")!, "DENY"),
        (.contentSecurityPolicy, contentSecurityPolicy),
        (HTTPField.Name("Referrer-Policy")!, "no-referrer"),
        (.cacheControl, "no-cache"),
    ]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        for (name, value) in Self.headers where response.headers[name] == nil {
            response.headers[name] = value
        }
        return response
    }
}
