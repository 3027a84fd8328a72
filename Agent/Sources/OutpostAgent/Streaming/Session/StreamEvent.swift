import OutpostSupport
import OutpostWire

/// Something a stream reports: ready to become a ``DeviceEvent`` with `kind` and `data`.
public struct StreamEvent: Sendable, Hashable {
    /// `DeviceEvent.Kind.streamStats`, `.streamState` or `.sourceError`.
    public var kind: String
    public var data: JSONValue

    public init(kind: String, data: JSONValue) {
        self.kind = kind
        self.data = data
    }

    /// The stream's lifecycle and health, as `stream_state` `data.state`.
    public enum State: String, Sendable {
        case started
        case stopped
        case feedbackLost = "feedback_lost"
        case feedbackResumed = "feedback_resumed"
        case bitrateChanged = "bitrate_changed"
        case sourceRestarted = "source_restarted"
    }

    static func state(_ state: State, _ details: [String: JSONValue] = [:]) -> StreamEvent {
        var data = details
        data["state"] = .string(state.rawValue)
        return StreamEvent(kind: DeviceEvent.Kind.streamState, data: .object(data))
    }

    static func statistics(_ statistics: StreamStatistics) -> StreamEvent {
        StreamEvent(kind: DeviceEvent.Kind.streamStats, data: statistics.json)
    }
}
