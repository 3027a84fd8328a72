import Foundation
import HTTPTypes
import Hummingbird
import Logging
import OutpostSupport
import OutpostWire
import ServiceLifecycle

extension AdminAPI {
    /// `GET /events`: Server-Sent Events of device status and command state, optionally
    /// for one `device`. Each event is `event: {type}` + `data: {json}`; a comment line
    /// every 15 s keeps proxies from closing the stream.
    func addEventRoutes(_ on: (HTTPRequest.Method, String, @escaping Handler) -> Void) {
        on(.get, "/events") { request, context in
            let query = try request.queryParameters(allowing: ["device"])
            if let device = query["device"], !DeviceID.isValid(device) { throw APIError.invalidParameter("device", "is not a device id") }
            let filter = query["device"]
            let subscription = await events.subscription()
            let logger = context.logger
            let headers: HTTPFields = [.contentType: "text/event-stream", .cacheControl: "no-store", HTTPField.Name("X-Accel-Buffering")!: "no"]
            return Response(status: .ok, headers: headers, body: ResponseBody { writer in
                try await writer.write(ByteBuffer(string: "retry: 3000\n: connected\n\n"))
                try await withGracefulShutdownHandler {
                    try await relay(subscription.events, filter: filter, to: &writer, logger: logger)
                } onGracefulShutdown: {
                    subscription.end()
                }
                try await writer.finish(nil)
            })
        }
    }

    /// Writes each event as `event: {type}` + `data: {json}` until the subscription ends. The
    /// events that arrive within ``LiveEventBatch/interval`` of one another go out in one write:
    /// a write per event (a flush, an HTTP/2 frame, a TLS record and a syscall each) was a fifth
    /// of the aggregator's CPU at 1,000 events a second.
    private func relay(_ stream: AsyncStream<String>, filter: String?, to writer: inout any ResponseBodyWriter, logger: Logger) async throws {
        let batch = LiveEventBatch(capacity: EventFeed.subscriberBuffer)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for await payload in stream { batch.add(payload) }
                batch.finish()
            }
            for await _ in batch.ready {
                try? await Task.sleep(for: LiveEventBatch.interval)
                var frames = ByteBuffer()
                for payload in batch.take() {
                    if let frame = Self.frame(payload, filter: filter, logger: logger) { frames.writeString(frame) }
                }
                if frames.readableBytes > 0 { try await writer.write(frames) }
            }
            try await group.waitForAll()
        }
    }

    /// Live events are PostgreSQL notifications of at most 8,000 bytes; a `device.event` carries
    /// the device's `data`, which the wire lets nest ``WireLimits/maxNestingDepth`` deep, one level down.
    private static let eventScanner = JSONScanner(maxBytes: 8000, maxDepth: WireLimits.standard.maxNestingDepth + 2)

    /// One payload's SSE frame; nil when `filter` names another device or the payload is not an
    /// event (logged: only PostgreSQL's triggers, or someone with access to the database, notify).
    static func frame(_ payload: String, filter: String?, logger: Logger) -> String? {
        if payload == EventFeed.heartbeat { return ": keep-alive\n\n" }
        // A line break would end the `data:` line and let the rest pose as SSE fields.
        guard !payload.utf8.contains(where: { $0 == 0x0A || $0 == 0x0D }),
              let members = try? JSONMembers.strings(["type", "device"], in: payload.utf8, scanner: eventScanner),
              let type = members[0], !type.isEmpty, !type.utf8.contains(where: { $0 < 0x20 })
        else {
            logger.warning("unreadable live event dropped", metadata: ["payload": "\(payload.prefix(200))"])
            return nil
        }
        if let filter, members[1] != filter { return nil }
        return "event: \(type)\ndata: \(payload)\n\n"
    }
}
