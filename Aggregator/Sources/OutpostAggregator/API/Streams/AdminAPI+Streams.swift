import Foundation
import HTTPTypes
import Hummingbird
import OutpostSupport
import OutpostWire

/// `POST /devices/{id}/streams/start|stop`: optional `args` for the agent's
/// `start_stream` / `stop_stream` commands (see docs/protocol.md). A camera that is not
/// online is refused at once (409 `device_offline`); an online one is waited for at most
/// `?wait=` seconds (default 20), then the answer is 202 with the command to follow.
struct StreamRequest: Decodable, StrictKeys {
    static let allowedKeys: Set<String> = ["args"]
    let args: JSONValue

    init(from decoder: any Decoder) throws {
        try Self.refuseUnknownKeys(decoder)
        args = try decoder.container(keyedBy: AnyKey.self).decodeOptional(JSONValue.self, "args") ?? .object([:])
        guard case .object = args else { throw APIError.validation("args must be a JSON object") }
        guard (try JSONEncoder().encode(args)).count <= 4096 else { throw APIError.validation("args must be at most 4 KiB") }
    }
}

/// The outcome of a stream command: the command, and for a started stream the agent's SDP offer.
struct StreamResponse: Encodable, Sendable {
    let command: CommandsStore.View
    let offer: String?

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: AnyKey.self)
        try container.encode(command, forKey: AnyKey(stringValue: "command"))
        try container.encode(offer, forKey: AnyKey(stringValue: "offer"))
    }
}

extension AdminAPI {
    /// Longest a stream request waits for the agent's answer; `?wait=` chooses 1–30 s.
    static let defaultStreamWait = 20

    func addStreamRoutes(_ on: (HTTPRequest.Method, String, @escaping Handler) -> Void) {
        for (path, command) in [("/devices/{id}/streams/start", "start_stream"), ("/devices/{id}/streams/stop", "stop_stream")] {
            on(.post, path) { request, context in
                let query = try request.queryParameters(allowing: ["wait"])
                let wait = try query["wait"].map { raw throws(APIError) in
                    guard let seconds = Int(raw), (1...30).contains(seconds) else { throw APIError.invalidParameter("wait", "must be 1-30 seconds") }
                    return seconds
                } ?? Self.defaultStreamWait
                let body = try await request.decodeJSON(StreamRequest.self, limit: settings.maxBodyBytes)
                let device = try await existingDevice(context)
                guard let record = try await devices.get(device), record.kind == "camera" else {
                    throw APIError(.conflict, .conflict, "device \(device) is not a camera")
                }
                // An offline camera cannot answer within any wait: say so at once instead of
                // holding the request for `wait` seconds and leaving a command to expire.
                guard record.status == "online" else {
                    throw APIError(.conflict, .deviceOffline, "device \(device) is \(record.status); \(command) needs it online")
                }
                let updates = await events.subscribe()
                let queued = try await commands.send(device: device, name: command, args: body.args, ttl: wait + 30,
                                                     origin: origin(context), audit: audit)
                let outcome = try await awaitOutcome(of: queued.id, updates: updates, timeout: .seconds(wait)) ?? queued
                switch outcome.status {
                case "succeeded":
                    let offer = outcome.output?["sdp"]?.stringValue
                    if command == "start_stream", offer == nil {
                        throw APIError(.badGateway, .commandFailed, "the agent started the stream but sent no SDP offer (command \(outcome.id))")
                    }
                    return try .json(StreamResponse(command: outcome, offer: offer))
                case "failed", "expired":
                    throw APIError(.badGateway, .commandFailed,
                                   "\(command) \(outcome.status): \(outcome.errorMessage ?? outcome.errorCode ?? "no detail") (command \(outcome.id))")
                default:
                    var response = try Response.json(StreamResponse(command: outcome, offer: nil), status: .accepted)
                    response.headers[.location] = "\(Self.prefix)/commands/\(outcome.id)"
                    return response
                }
            }
        }
    }

    /// The command once it reaches a final state, or its latest state after `timeout`.
    /// `updates` was subscribed before the command was queued, so no change is missed.
    func awaitOutcome(of id: String, updates: AsyncStream<String>, timeout: Duration) async throws -> CommandsStore.View? {
        let finished: Set<String> = ["succeeded", "failed", "expired"]
        if let current = try await commands.get(id), finished.contains(current.status) { return current }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await payload in updates {
                    guard let event = try? JSONDecoder().decode(JSONValue.self, from: Data(payload.utf8)),
                          event["command"]?.stringValue == id, let status = event["status"]?.stringValue, finished.contains(status)
                    else { continue }
                    return
                }
            }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
        return try await commands.get(id)
    }
}
