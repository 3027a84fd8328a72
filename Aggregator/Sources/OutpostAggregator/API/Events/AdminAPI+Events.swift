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

    /// Writes each event as `event: {type}` + `data: {json}` until the subscription ends.
    private func relay(_ stream: AsyncStream<String>, filter: String?, to writer: inout any ResponseBodyWriter, logger: Logger) async throws {
        for await payload in stream {
            if payload == EventFeed.heartbeat {
                try await writer.write(ByteBuffer(string: ": keep-alive\n\n"))
                continue
            }
            guard let event = try? JSONDecoder().decode(JSONValue.self, from: Data(payload.utf8)),
                  let type = event["type"]?.stringValue
            else {
                logger.warning("unreadable live event dropped", metadata: ["payload": "\(payload.prefix(200))"])
                continue
            }
            if let filter, event["device"]?.stringValue != filter { continue }
            try await writer.write(ByteBuffer(string: "event: \(type)\ndata: \(payload)\n\n"))
        }
    }
}
