/// What a fault kills: one process of one kind.
public enum FaultKind: String, CaseIterable, Sendable, Comparable {
    /// An `outpost-simulator` process (several devices) or an `outpost-agent run`.
    case device
    /// One of the `outpost-aggregator serve` processes.
    case aggregator
    /// mosquitto.
    case broker
    /// The PostgreSQL postmaster.
    case database

    public static func < (lhs: FaultKind, rhs: FaultKind) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// One process of the fleet: its kind and its index among the processes of that kind.
public struct FaultTarget: Hashable, Sendable {
    public var kind: FaultKind
    public var index: Int

    public init(_ kind: FaultKind, _ index: Int = 0) {
        self.kind = kind
        self.index = index
    }
}
