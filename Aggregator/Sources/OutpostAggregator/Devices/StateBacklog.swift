import OutpostWire

/// State messages waiting to be written, per device in arrival order, bounded without ever
/// making the broker consumer wait and without losing a device's newest state.
///
/// A state is coalesced (its device's oldest pending state is dropped to make room) when its
/// device already holds `deviceLimit` pending states, or when `limit` states are pending in all
/// and its device holds at least one. So the backlog holds at most `limit` states plus one per
/// device, one device never holds more than `deviceLimit`, and the newest state of every device
/// is always kept. The dropped state's optional fields (version, buffer depth, drops,
/// certificate) carry over to the next state of its device where that one lacks them, as
/// writing both would have left them; only its status change (a history row and a live
/// event) is lost, and the caller counts it.
///
/// Batches (``take(max:)``) keep each device's states in arrival order.
public struct StateBacklog: Sendable {
    public enum Admission: Equatable {
        case queued
        /// Queued, and an older pending state of the same device dropped.
        case coalesced
    }

    let limit: Int
    let deviceLimit: Int
    /// One entry per pending state: the device whose next pending state comes next.
    private var order: [DeviceID] = []
    private var head = 0
    private var byDevice: [DeviceID: [StateObservation]] = [:]
    /// When the backlog last became non-empty: no later than its oldest state arrived.
    private(set) var oldestAt: ContinuousClock.Instant?

    init(limit: Int, deviceLimit: Int) {
        precondition(limit > 0 && deviceLimit > 0)
        self.limit = limit
        self.deviceLimit = deviceLimit
    }

    var count: Int { order.count - head }
    var isEmpty: Bool { count == 0 }

    mutating func add(_ observation: StateObservation, at now: ContinuousClock.Instant) -> Admission {
        let device = observation.state.device
        var held = byDevice[device, default: []]
        if isEmpty { oldestAt = now }
        if !held.isEmpty && (held.count >= deviceLimit || count >= limit) {
            let dropped = held.removeFirst()
            if held.isEmpty {
                held.append(Self.carry(dropped, into: observation))
            } else {
                held[0] = Self.carry(dropped, into: held[0])
                held.append(observation)
            }
            byDevice[device] = held
            return .coalesced
        }
        held.append(observation)
        byDevice[device] = held
        order.append(device)
        return .queued
    }

    /// Takes up to `max` states, oldest first; each device's stay in arrival order.
    mutating func take(max: Int) -> [StateObservation] {
        var batch: [StateObservation] = []
        batch.reserveCapacity(Swift.min(max, count))
        while batch.count < max && head < order.count {
            let device = order[head]
            head += 1
            var held = byDevice[device]!
            batch.append(held.removeFirst())
            byDevice[device] = held.isEmpty ? nil : held
        }
        if head == order.count {
            order.removeAll(keepingCapacity: true)
            head = 0
            oldestAt = nil
        } else if head > 1_024 && head * 2 > order.count {
            order.removeFirst(head)
            head = 0
        }
        return batch
    }

    /// `newer` with the optional fields of `older` where it has none.
    static func carry(_ older: StateObservation, into newer: StateObservation) -> StateObservation {
        var merged = newer
        merged.state.version = newer.state.version ?? older.state.version
        merged.state.bufferDepth = newer.state.bufferDepth ?? older.state.bufferDepth
        merged.state.dropped = newer.state.dropped ?? older.state.dropped
        merged.state.certSerial = newer.state.certSerial ?? older.state.certSerial
        merged.state.certNotAfter = newer.state.certNotAfter ?? older.state.certNotAfter
        return merged
    }
}
