import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle

/// Relays `outpost_events` notifications (device status, command state; see migration
/// 0032) to the admin API's live-event subscribers.
///
/// One LISTEN connection per aggregator process, however many dashboards are open. It
/// reconnects with backoff when PostgreSQL goes away. Each subscriber has a bounded
/// buffer: a dashboard that stops reading loses its oldest events, never the server's
/// memory. Run it in the service group next to the HTTP server.
public final class EventFeed: Service, Sendable {
    public static let channel = "outpost_events"
    /// Events buffered per subscriber before the oldest are dropped.
    static let subscriberBuffer = 1000

    private let client: PostgresPool
    private let logger: Logger
    private let hub = Hub()

    public init(client: PostgresPool, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// How often subscribers get a keep-alive, which also reveals dashboards that went away.
    static let heartbeatInterval: Duration = .seconds(15)

    public func run() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await self.heartbeats() }
            group.addTask { await self.listen() }
            try await group.next()
            group.cancelAll()
        }
    }

    private func listen() async {
        var backoff: Duration = .milliseconds(200)
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let started = ContinuousClock.now
            do {
                try await cancelWhenGracefulShutdown {
                    try await self.client.withConnection { connection in
                        try await connection.listen(on: Self.channel) { notifications in
                            for try await notification in notifications {
                                await self.hub.publish(notification.payload)
                            }
                        }
                    }
                }
            } catch {
                if Task.isCancelled || Task.isShuttingDownGracefully { return }
                if ContinuousClock.now - started > .seconds(30) { backoff = .milliseconds(200) }
                logger.warning("live-event listener lost its connection; retrying", metadata: ["error": "\(error)", "in": "\(backoff)"])
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(10))
            }
        }
    }

    private func heartbeats() async {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: Self.heartbeatInterval)
                await self.hub.publish(Self.heartbeat)
            }
        }
    }

    /// The payload that stands for a keep-alive.
    static let heartbeat = ""

    /// A stream of event payloads (JSON text) from now on, until the consumer stops.
    func subscribe() async -> AsyncStream<String> {
        await subscription().events
    }

    /// A subscriber's stream, with a way to end it from outside: a live-event response ends it at
    /// graceful shutdown, since otherwise an open dashboard holds the HTTP server until its timeout.
    struct Subscription: Sendable {
        let events: AsyncStream<String>
        let end: @Sendable () -> Void
    }

    func subscription() async -> Subscription {
        let (stream, continuation) = AsyncStream.makeStream(of: String.self, bufferingPolicy: .bufferingNewest(Self.subscriberBuffer))
        let id = await hub.add(continuation)
        continuation.onTermination = { [hub] _ in Task { await hub.remove(id) } }
        return Subscription(events: stream, end: { continuation.finish() })
    }

    var subscriberCount: Int { get async { await hub.count } }

    private actor Hub {
        private var subscribers: [UInt64: AsyncStream<String>.Continuation] = [:]
        private var nextID: UInt64 = 0

        func add(_ continuation: AsyncStream<String>.Continuation) -> UInt64 {
            nextID += 1
            subscribers[nextID] = continuation
            return nextID
        }

        func remove(_ id: UInt64) { subscribers[id] = nil }

        func publish(_ payload: String) {
            for continuation in subscribers.values { continuation.yield(payload) }
        }

        var count: Int { subscribers.count }
    }
}
