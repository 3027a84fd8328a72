import AsyncHTTPClient
import Foundation
import NIOCore
import OutpostSupport
import Synchronization
import Testing
import TestHarness

/// Reads a live-event stream (`GET /api/v1/events`) in the background: every event is
/// stamped with its arrival time and checked against the OpenAPI document's `x-events`
/// schema for its type, so tests wait on events and measure latency without polling
/// skewing the numbers.
final class EventStreamReader: Sendable {
    struct Event: Sendable {
        let type: String
        let data: JSONValue
        let receivedAt: ContinuousClock.Instant
    }

    /// What the background reader writes and the test reads.
    private final class Storage: Sendable {
        let events = Mutex<[Event]>([])
        let schemaFailures = Mutex<[String]>([])
    }

    private let storage: Storage
    private let reader: Task<Void, Never>

    /// Starts reading `body`, the stream of `GET path`.
    init(_ body: HTTPClientResponse.Body, path: String, validator: OpenAPIValidator) {
        let storage = Storage()
        self.storage = storage
        reader = Task {
            var text = ""
            do {
                for try await chunk in body {
                    text += String(buffer: chunk)
                    while let end = text.range(of: "\n\n") {
                        let block = text[..<end.lowerBound]
                        text.removeSubrange(..<end.upperBound)
                        guard let event = Self.parse(block) else { continue }
                        do {
                            try validator.validateEvent(path: path, type: event.type, data: event.data)
                        } catch {
                            storage.schemaFailures.withLock { $0.append("\(error)") }
                        }
                        storage.events.withLock { $0.append(event) }
                    }
                }
            } catch {
                // The stream ends with the test (cancelled, or the client shut down).
            }
        }
    }

    /// One `event:` + `data:` block; nil for comments (keep-alives) and blocks without both.
    static func parse(_ block: Substring) -> Event? {
        var type: String?
        var data: JSONValue?
        for line in block.split(separator: "\n") {
            if line.hasPrefix("event: ") { type = String(line.dropFirst(7)) }
            if line.hasPrefix("data: ") { data = try? JSONDecoder().decode(JSONValue.self, from: Data(line.dropFirst(6).utf8)) }
        }
        guard let type, let data else { return nil }
        return Event(type: type, data: data, receivedAt: .now)
    }

    /// Every event so far, in arrival order.
    var events: [Event] { storage.events.withLock { $0 } }

    /// Events whose data did not conform to the document, as readable failures.
    var nonconforming: [String] { storage.schemaFailures.withLock { $0 } }

    /// Waits (bounded) until `count` events have arrived; returns the first `count`.
    func wait(for count: Int, timeout: Duration) async throws -> [Event] {
        try await waitUntil(timeout: timeout, every: .milliseconds(20), "\(count) live events (have \(events.count))") { self.events.count >= count }
        return Array(events.prefix(count))
    }

    /// Waits (bounded) for the first event after index `after` that satisfies `matches`.
    func first(after: Int = 0, timeout: Duration, _ description: String, where matches: @escaping @Sendable (Event) -> Bool) async throws
        -> Event
    {
        try await waitUntil(timeout: timeout, every: .milliseconds(20), description) { self.events.dropFirst(after).contains(where: matches) }
        return events.dropFirst(after).first(where: matches)!
    }

    func cancel() { reader.cancel() }
}
