import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import OutpostSupport

/// Janus's HTTP API (the REST transport), with the API secret added to every request.
///
/// Mountpoint management uses a short-lived session per call (create, attach the
/// streaming plugin, one request, destroy), so nothing has to be kept alive between calls
/// and several aggregators can share one Janus. ``forward(path:method:body:)`` relays a
/// browser's call unchanged apart from the secret.
public struct JanusClient: Sendable {
    public struct MountpointInfo: Sendable, Equatable {
        public var viewers: Int
        /// Milliseconds since the mountpoint last received media; nil before any.
        public var mediaAgeMs: Int?
        public var rtpPort: Int?
        /// The H.264 format parameters Janus offers viewers.
        public var fmtp: String?
        /// Whether the mountpoint takes SRTP from its source.
        public var srtp: Bool
    }

    /// The streaming plugin's "no such mountpoint" error code.
    static let noSuchMountpoint = 455

    let baseURL: String
    let secrets: JanusConfigGenerator.Secrets
    let http: HTTPClient
    let timeout: TimeAmount

    public init(baseURL: String, secrets: JanusConfigGenerator.Secrets, http: HTTPClient = .shared, timeout: TimeAmount = .seconds(10)) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.secrets = secrets
        self.http = http
        self.timeout = timeout
    }

    /// Sends `body` (with the API secret and a transaction) to `path` below the base URL;
    /// returns Janus's answer, whatever its verb.
    public func forward(path: String, method: HTTPMethod, body: JSONValue?, timeout: TimeAmount? = nil) async throws(LiveError) -> JSONValue {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        if var body, case .object(var members) = body {
            members["apisecret"] = .string(secrets.apiSecret)
            if members["transaction"] == nil { members["transaction"] = .string(SecretToken.generate(bytes: 9)) }
            body = .object(members)
            request.headers.add(name: "Content-Type", value: "application/json")
            guard let data = try? JSONEncoder().encode(body) else { throw LiveError(.janusMalformed, "request not encodable") }
            request.body = .bytes(ByteBuffer(bytes: data))
        }
        let data: ByteBuffer
        do {
            let response = try await http.execute(request, timeout: timeout ?? self.timeout)
            data = try await response.body.collect(upTo: 1 << 20)
        } catch {
            throw LiveError(.janusUnavailable, "Janus at \(baseURL) did not answer: \(error)")
        }
        guard let answer = try? JSONDecoder().decode(JSONValue.self, from: Data(data.readableBytesView)) else {
            throw LiveError(.janusMalformed, "Janus's answer is not JSON")
        }
        return answer
    }

    /// A session's GET long poll (Janus holds it up to 30 s), with the secret in the query
    /// where Janus takes it for GET; `maxEvents` is Janus's `maxev` (1-10).
    public func poll(session: UInt64, maxEvents: Int) async throws(LiveError) -> JSONValue {
        let secret = secrets.apiSecret.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
        return try await forward(path: "/\(session)?maxev=\(maxEvents)&apisecret=\(secret)", method: .GET, body: nil, timeout: .seconds(45))
    }

    /// Runs `body` with a fresh session and streaming-plugin handle, destroying the session after.
    func withStreamingHandle<T: Sendable>(_ body: (_ path: String) async throws(LiveError) -> T) async throws(LiveError) -> T {
        let session = try Self.id(of: try await forward(path: "", method: .POST, body: ["janus": "create"]))
        let handle = try Self.id(of: try await forward(path: "/\(session)", method: .POST,
                                                        body: ["janus": "attach", "plugin": "janus.plugin.streaming"]))
        let result: Result<T, LiveError>
        do throws(LiveError) { result = .success(try await body("/\(session)/\(handle)")) } catch { result = .failure(error) }
        _ = try? await forward(path: "/\(session)", method: .POST, body: ["janus": "destroy"])
        return try result.get()
    }

    /// A synchronous streaming-plugin request; returns the plugin's data, nil for the error
    /// code `absent` (e.g. "no such mountpoint"), or throws any other error.
    func streaming(_ request: JSONValue, at path: String, absent: Int? = nil) async throws(LiveError) -> JSONValue? {
        let answer = try await forward(path: path, method: .POST, body: ["janus": "message", "body": request])
        if answer["janus"]?.stringValue == "error" {
            throw LiveError(.janusRefused, "Janus: \(answer["error"]?["reason"]?.stringValue ?? "error")")
        }
        guard let data = answer["plugindata"]?["data"] else { throw LiveError(.janusMalformed, "no plugindata in Janus's answer") }
        if let code = data["error_code"]?.intValue {
            if code == absent { return nil }
            throw LiveError(.janusRefused, "streaming plugin error \(code): \(data["error"]?.stringValue ?? "")")
        }
        return data
    }

    /// Creates a mountpoint (``LivePlan/createMountpoint(id:device:address:ports:payloadType:fmtp:srtpKey:adminKey:)``);
    /// returns the RTP and RTCP ports Janus listens on.
    public func createMountpoint(_ request: JSONValue) async throws(LiveError) -> (rtp: Int, rtcp: Int) {
        let data = try await withStreamingHandle { path throws(LiveError) in try await streaming(request, at: path) }
        guard let port = data?["stream"]?["ports"].flatMap({ if case .array(let items) = $0 { items.first } else { nil } }),
              let rtp = port["port"]?.intValue, let rtcp = port["rtcp_port"]?.intValue
        else { throw LiveError(.janusMalformed, "Janus created the mountpoint but named no ports") }
        return (rtp, rtcp)
    }

    /// Destroys a mountpoint; returns false when Janus had none of that id.
    @discardableResult
    public func destroyMountpoint(id: Int) async throws(LiveError) -> Bool {
        let request: JSONValue = ["request": "destroy", "id": .number(Double(id)), "secret": .string(secrets.adminKey)]
        return try await withStreamingHandle { path throws(LiveError) in
            try await streaming(request, at: path, absent: Self.noSuchMountpoint) != nil
        }
    }

    /// The mountpoint's viewers and media age, or nil when Janus has no such mountpoint.
    public func mountpointInfo(id: Int) async throws(LiveError) -> MountpointInfo? {
        let request: JSONValue = ["request": "info", "id": .number(Double(id)), "secret": .string(secrets.adminKey)]
        return try await withStreamingHandle { path throws(LiveError) in
            guard let data = try await streaming(request, at: path, absent: Self.noSuchMountpoint) else { return nil }
            guard let info = data["info"], let viewers = info["viewers"]?.intValue else {
                throw LiveError(.janusMalformed, "no viewers in the mountpoint's info")
            }
            let media = info["media"].flatMap { if case .array(let items) = $0 { items.first } else { nil } }
            return MountpointInfo(viewers: viewers, mediaAgeMs: media?["age_ms"]?.intValue, rtpPort: media?["port"]?.intValue,
                                  fmtp: media?["fmtp"]?.stringValue,
                                  srtp: info["srtp"]?.boolValue ?? false)
        }
    }

    private static func id(of answer: JSONValue) throws(LiveError) -> UInt64 {
        guard answer["janus"]?.stringValue == "success", let value = answer["data"]?["id"]?.doubleValue, value > 0 else {
            throw LiveError(answer["janus"]?.stringValue == "error" ? .janusRefused : .janusMalformed,
                            "Janus: \(answer["error"]?["reason"]?.stringValue ?? "no session or handle id")")
        }
        return UInt64(value)
    }
}
