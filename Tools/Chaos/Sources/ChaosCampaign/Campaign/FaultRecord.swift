/// One fault as it happened, for the closing summary.
public struct FaultRecord: Sendable, Equatable {
    public var number: Int
    public var kind: FaultKind
    public var target: String
    public var killedPID: Int32?
    public var restartedPID: Int32?
    /// Seconds since the campaign began.
    public var killedAt: Double
    public var restartedAt: Double?
}
