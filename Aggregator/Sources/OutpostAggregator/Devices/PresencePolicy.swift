import OutpostWire

/// When a device's status changed, judged from one state message.
///
/// - A live message (not retained): when the centre received it. A will carries the
///   time its connection was made, so only the receipt time is right for it; an
///   `online` is published at connect, so its receipt is right too.
/// - A retained `online` replayed at subscribe: the message's own `ts` (its publish
///   time), never later than the receipt.
/// - A retained `offline` replayed at subscribe: unknown from the message; the store
///   uses the device's last-seen time (the last moment it was known alive).
///
/// The store records a transition only when the status differs from the stored one,
/// so replays and several aggregators receiving one message change nothing twice.
public enum PresencePolicy {
    /// The transition time in UTC ms, or nil for "the device's last-seen time".
    public static func transitionTime(status: DeviceState.Status, retained: Bool, messageTsMs: Int64, receivedAtMs: Int64)
        -> Int64?
    {
        guard retained else { return receivedAtMs }
        switch status {
        case .online: return min(messageTsMs, receivedAtMs)
        case .offline: return nil
        }
    }
}

/// A state message as the store applies it.
public struct StateObservation: Sendable, Equatable {
    public var state: DeviceState
    public var retained: Bool
    public var receivedAtMs: Int64

    public init(state: DeviceState, retained: Bool, receivedAtMs: Int64) {
        self.state = state
        self.retained = retained
        self.receivedAtMs = receivedAtMs
    }

    public var transitionTimeMs: Int64? {
        PresencePolicy.transitionTime(status: state.status, retained: retained, messageTsMs: state.ts, receivedAtMs: receivedAtMs)
    }
}

/// The first and last time a device was heard from within one flush interval.
public struct SeenWindow: Sendable, Equatable {
    public var firstMs: Int64
    public var lastMs: Int64

    public mutating func merge(_ ms: Int64) {
        firstMs = min(firstMs, ms)
        lastMs = max(lastMs, ms)
    }
}
