import Logging
import ServiceLifecycle

/// One stream as a swift-service-lifecycle `Service`: starts it, runs until the source ends
/// or a graceful shutdown (SIGTERM) arrives, then stops it with a BYE.
public struct StreamService: Service {
    public let controller: StreamController
    public let request: StreamRequest
    private let onStart: @Sendable (StreamSession) async throws -> Void

    /// - Parameter onStart: called with the session (and its SDP) before the first packet.
    public init(controller: StreamController, request: StreamRequest, onStart: @escaping @Sendable (StreamSession) async throws -> Void) {
        self.controller = controller
        self.request = request
        self.onStart = onStart
    }

    public func run() async throws {
        let session = try await controller.prepare(request)
        do {
            try await onStart(session)
        } catch {
            await controller.stop()
            throw error
        }
        try await controller.play()
        let controller = controller
        await withGracefulShutdownHandler {
            _ = await controller.waitUntilEnded()
        } onGracefulShutdown: {
            Task { await controller.stop() }
        }
    }
}
