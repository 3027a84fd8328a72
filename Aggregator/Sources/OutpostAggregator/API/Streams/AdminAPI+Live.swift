import Foundation
import HTTPTypes
import Hummingbird
import OutpostSupport
import OutpostWire
import ServiceLifecycle

/// `POST /devices/{id}/live`: optional `source`, the agent's stream source (default `live.default_source`).
struct LiveStartRequest: Decodable, StrictKeys {
    static let allowedKeys: Set<String> = ["source"]
    let source: String?

    init(from decoder: any Decoder) throws {
        try Self.refuseUnknownKeys(decoder)
        source = try decoder.container(keyedBy: AnyKey.self).decodeIfPresent(String.self, forKey: AnyKey(stringValue: "source"))
        if let source, source.isEmpty || source.count > 64 { throw APIError.validation("source must be 1-64 characters") }
    }
}

/// A camera's live view: the mountpoint a browser watches through `janusPath` (never the key).
struct LiveResponse: Encodable, Sendable {
    let device: String
    let mountpoint: Int
    let janusPath: String
    let startedAt: Date
    let startedBy: String
    let reused: Bool
    /// Browsers watching now, as Janus counts them; nil when not asked (start) or Janus did not answer.
    let viewers: Int?

    init(_ session: LiveSessionsStore.Session, reused: Bool, viewers: Int? = nil) {
        device = session.device
        mountpoint = session.mountpoint
        janusPath = AdminAPI.prefix + "/live/janus"
        startedAt = session.startedAt
        startedBy = session.startedBy
        self.reused = reused
        self.viewers = viewers
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: AnyKey.self)
        try container.encode(device, forKey: AnyKey(stringValue: "device"))
        try container.encode(mountpoint, forKey: AnyKey(stringValue: "mountpoint"))
        try container.encode(janusPath, forKey: AnyKey(stringValue: "janusPath"))
        try container.encode(startedAt, forKey: AnyKey(stringValue: "startedAt"))
        try container.encode(startedBy, forKey: AnyKey(stringValue: "startedBy"))
        try container.encode(reused, forKey: AnyKey(stringValue: "reused"))
        try container.encode(viewers, forKey: AnyKey(stringValue: "viewers"))
    }
}

extension LiveError {
    /// The admin API's rendering: 503 when Janus is off or silent, 403 for a refused
    /// browser request, 502 for anything Janus or the agent got wrong.
    var apiError: APIError {
        let status: HTTPResponse.Status =
            switch code {
            case .janusUnavailable: .serviceUnavailable
            case .requestRefused: .forbidden
            default: .badGateway
            }
        return APIError(status, APIError.Code(code.rawValue), context)
    }
}

extension AdminAPI {
    func requireLive() throws -> LiveView {
        guard let live else { throw APIError(.serviceUnavailable, APIError.Code(LiveError.Code.janusUnavailable.rawValue),
                                             "live view is not configured (live.janus_url)") }
        return live
    }

    func addLiveRoutes(_ on: (HTTPRequest.Method, String, @escaping Handler) -> Void) {
        on(.post, "/devices/{id}/live") { request, context in
            let live = try requireLive()
            let body = try await request.decodeJSON(LiveStartRequest.self, limit: settings.maxBodyBytes)
            let device = try await existingDevice(context)
            guard try await devices.get(device)?.kind == "camera" else {
                throw APIError(.conflict, .conflict, "device \(device) is not a camera")
            }
            let origin = origin(context)
            let source = body.source ?? live.settings.defaultSource
            do {
                let (session, reused) = try await live.gate.withDevice(device) {
                    try await startLive(live, device: device, source: source, origin: origin)
                }
                return try .json(LiveResponse(session, reused: reused), status: reused ? .ok : .created)
            } catch let error as LiveError {
                throw error.apiError
            }
        }
        on(.get, "/devices/{id}/live") { _, context in
            let live = try requireLive()
            let device = try await existingDevice(context)
            guard let session = try await live.store.get(device: device) else { throw APIError.notFound("live view") }
            let viewers = try? await live.janus.mountpointInfo(id: session.mountpoint)?.viewers
            return try .json(LiveResponse(session, reused: true, viewers: viewers ?? nil))
        }
        on(.delete, "/devices/{id}/live") { _, context in
            let live = try requireLive()
            let device = try await existingDevice(context)
            guard let session = try await live.store.get(device: device) else { throw APIError.notFound("live view") }
            do {
                try await live.teardown(session, reason: "stopped", origin: origin(context))
            } catch let error as LiveError {
                throw error.apiError
            }
            return Response(status: .noContent)
        }
        on(.post, "/live/janus") { request, context in try await relay(request: &request, context: context, session: nil, handle: nil) }
        on(.post, "/live/janus/{session}") { request, context in
            try await relay(request: &request, context: context, session: try Self.janusID(context, "session"), handle: nil)
        }
        on(.post, "/live/janus/{session}/{handle}") { request, context in
            try await relay(request: &request, context: context, session: try Self.janusID(context, "session"),
                            handle: try Self.janusID(context, "handle"))
        }
        on(.get, "/live/janus/{session}") { request, context in
            let live = try requireLive()
            let query = try request.queryParameters(allowing: ["maxev", "rid", "_"])
            let maxEvents = min(max(Int(query["maxev"] ?? "1") ?? 1, 1), 10)
            let session = try Self.janusID(context, "session")
            try await requireOwner(live, session: session, context: context)
            do {
                // Janus holds a poll up to 30 s; a shutting-down server does not wait for it.
                return try .json(try await cancelWhenGracefulShutdown { try await live.janus.poll(session: session, maxEvents: maxEvents) })
            } catch let error as LiveError {
                throw error.apiError
            }
        }
    }

    private static func janusID(_ context: AppRequestContext, _ name: String) throws -> UInt64 {
        guard let text = context.parameters.get(name), text.count <= 20, let id = UInt64(text), id > 0 else {
            throw APIError(.badRequest, .invalidParameter, "\(name) must be a Janus id")
        }
        return id
    }

    /// Refuses a Janus session the caller did not create through the relay (403 `live_request_refused`).
    private func requireOwner(_ live: LiveView, session: UInt64, context: AppRequestContext) async throws {
        guard try await live.relaySessions.claim(session: session, owner: LiveRelaySessionsStore.owner(context.principal!)) else {
            live.metrics.live("refused", reason: "not_owner")
            throw LiveError(.requestRefused, "Janus session \(session) was not created by this caller").apiError
        }
    }

    /// Passes a browser's Janus call on when ``LivePlan/checkBrowserRequest(_:watchable:)`` allows it and, below a
    /// session, when the caller created that session; a created session is recorded as the caller's.
    private func relay(request: inout Request, context: AppRequestContext, session: UInt64?, handle: UInt64?) async throws -> Response {
        let live = try requireLive()
        let body = try await request.decodeJSON(JSONValue.self, limit: settings.maxBodyBytes)
        guard case .object(var members) = body else { throw APIError.validation("a Janus request is a JSON object") }
        members["apisecret"] = nil
        members["admin_key"] = nil
        let path = session.map { "/\($0)" + (handle.map { "/\($0)" } ?? "") } ?? ""
        do {
            try LivePlan.checkBrowserRequest(.object(members), watchable: Set(try await live.store.all().map(\.mountpoint)))
            if let session { try await requireOwner(live, session: session, context: context) }
            let answer = try await live.janus.forward(path: path, method: .POST, body: .object(members))
            let verb = members["janus"]?.stringValue
            if session == nil, verb == "create", answer["janus"]?.stringValue == "success",
               let created = answer["data"]?["id"]?.doubleValue, created > 0, created < 0x1p63
            {
                try await live.relaySessions.bind(session: UInt64(created), owner: LiveRelaySessionsStore.owner(context.principal!))
            }
            if let session, handle == nil, verb == "destroy" { try await live.relaySessions.release(session: session) }
            return try .json(answer)
        } catch let error as LiveError {
            if error.code == .requestRefused { live.metrics.live("refused") }
            throw error.apiError
        }
    }

    /// Reuses the camera's mountpoint while Janus has it; otherwise creates one (Janus picks
    /// the ports), sends the agent `start_stream` toward it with a fresh SRTP key, and
    /// re-creates the mountpoint on the same ports with the offer's H.264 parameters.
    private func startLive(_ live: LiveView, device: String, source: String, origin: AuditLog.Origin) async throws
        -> (LiveSessionsStore.Session, Bool)
    {
        if let existing = try await live.store.get(device: device) {
            if try await live.janus.mountpointInfo(id: existing.mountpoint) != nil {
                live.metrics.live("reused")
                return (existing, true)
            }
            try await live.teardown(existing, reason: "gateway_lost", origin: origin)
        }
        let mountpoint = Int.random(in: 1...Int(Int32.max))
        let address = live.settings.mediaAddress
        if let recording = await live.ingress?.session(device) {
            return try await joinRecording(live, srtpKey: recording.srtpKey, offer: recording.offer, relay: recording.relay, device: device,
                                           mountpoint: mountpoint, origin: origin)
        }
        if let recording = try await live.relays.relay(device: device) {
            return try await joinRecording(live, srtpKey: recording.srtpKey, offer: recording.offer, relay: nil, device: device,
                                           mountpoint: mountpoint, origin: origin)
        }
        let key = SRTPKeyText.generate()
        let ports = try await live.janus.createMountpoint(LivePlan.createMountpoint(
            id: mountpoint, device: device, address: address, ports: nil, payloadType: 96, fmtp: nil, srtpKey: key, adminKey: live.adminKey))
        var queued: CommandsStore.View?
        do {
            let args: JSONValue = [
                "source": .string(source), "host": .string(address), "rtpPort": .number(Double(ports.rtp)),
                "rtcpPort": .number(Double(ports.rtcp)), "srtpKey": .string(key), "srtcp": false,
            ]
            let updates = await events.subscribe()
            let command = try await commands.send(device: device, name: "start_stream", args: args, ttl: Self.defaultStreamWait + 30,
                                                  origin: origin, audit: audit)
            queued = command
            let outcome = try await awaitOutcome(of: command.id, updates: updates, timeout: .seconds(Self.defaultStreamWait)) ?? command
            guard outcome.status == "succeeded", let offer = outcome.output?["sdp"]?.stringValue else {
                throw APIError(.badGateway, .commandFailed,
                               "start_stream \(outcome.status): \(outcome.errorMessage ?? outcome.errorCode ?? "no offer") (command \(outcome.id))")
            }
            let format = try LivePlan.h264FormatParameters(offer: offer)
            try await live.janus.destroyMountpoint(id: mountpoint)
            try await recreate(live, LivePlan.createMountpoint(
                id: mountpoint, device: device, address: address, ports: ports, payloadType: format.payloadType, fmtp: format.fmtp,
                srtpKey: key, adminKey: live.adminKey))
            let session = LiveSessionsStore.Session(
                device: device, mountpoint: mountpoint, rtpPort: ports.rtp, rtcpPort: ports.rtcp, startCommand: command.id,
                startedBy: origin.actor, startedAt: Date(), lastViewerAt: Date(), mediaHost: address)
            guard try await live.store.insert(session, srtpKey: key) else {
                throw APIError(.conflict, .conflict, "another live view of \(device) started at the same time; retry")
            }
            try await audit.record("live.start", target: "device:\(device)", detail: ["mountpoint": "\(mountpoint)", "command": command.id],
                                   origin: origin)
            live.metrics.live("started")
            live.logger.info("live view started", metadata: ["device": "\(device)", "mountpoint": "\(mountpoint)"])
            return (try await live.store.get(device: device) ?? session, false)
        } catch {
            live.metrics.live("failed")
            if queued != nil {
                _ = try? await commands.send(device: device, name: "stop_stream", args: LivePlan.stopArguments(host: address, rtpPort: ports.rtp),
                                             ttl: 30, origin: origin, audit: audit)
            }
            _ = try? await live.janus.destroyMountpoint(id: mountpoint)
            throw error
        }
    }

    /// Live view of a recorded camera: a mountpoint with the recorder's key and the offer's
    /// H.264 parameters, fed by the recorder's relay; the agent keeps its one stream. `relay` is
    /// the relay when it runs in this process (fed at once); a relay on another aggregator
    /// reads the live session's row and feeds the mountpoint within a second.
    private func joinRecording(_ live: LiveView, srtpKey: String, offer: String, relay: RTPRelay?, device: String, mountpoint: Int,
                               origin: AuditLog.Origin) async throws -> (LiveSessionsStore.Session, Bool) {
        let address = live.settings.mediaAddress
        let format = try LivePlan.h264FormatParameters(offer: offer)
        let ports = try await live.janus.createMountpoint(LivePlan.createMountpoint(
            id: mountpoint, device: device, address: address, ports: nil, payloadType: format.payloadType, fmtp: format.fmtp,
            srtpKey: srtpKey, adminKey: live.adminKey))
        let destination = RTPRelay.Destination(host: address, rtpPort: ports.rtp, rtcpPort: ports.rtcp)
        relay?.add(destination)
        let session = LiveSessionsStore.Session(
            device: device, mountpoint: mountpoint, rtpPort: ports.rtp, rtcpPort: ports.rtcp, startCommand: LiveSessionsStore.fromRecording,
            startedBy: origin.actor, startedAt: Date(), lastViewerAt: Date(), mediaHost: address)
        guard try await live.store.insert(session) else {
            relay?.remove(destination)
            _ = try? await live.janus.destroyMountpoint(id: mountpoint)
            throw APIError(.conflict, .conflict, "another live view of \(device) started at the same time; retry")
        }
        try await audit.record("live.start", target: "device:\(device)", detail: ["mountpoint": "\(mountpoint)", "via": "recording"],
                               origin: origin)
        live.metrics.live("started")
        live.logger.info("live view started from the recording", metadata: ["device": "\(device)", "mountpoint": "\(mountpoint)"])
        return (try await live.store.get(device: device) ?? session, false)
    }

    /// Janus frees a destroyed mountpoint's ports from its relay thread, a moment later:
    /// the re-creation on the same ports is tried for up to 2 s.
    private func recreate(_ live: LiveView, _ request: JSONValue) async throws {
        var attempt = 0
        while true {
            attempt += 1
            let failure: LiveError
            do throws(LiveError) {
                _ = try await live.janus.createMountpoint(request)
                return
            } catch {
                failure = error
            }
            guard failure.code == .janusRefused, attempt < 20 else { throw failure }
            try await Task.sleep(for: .milliseconds(100))
        }
    }
}
