/// One kind-and-status group of ``DevicesStore/fleet()``.
public struct FleetGroup: Sendable, Equatable {
    public var kind: String
    /// `online`, `offline`, `unknown` (never connected) or `revoked`.
    public var status: String
    public var devices: Int
    public var bufferDepth: Int
    public var dropped: Int
}
