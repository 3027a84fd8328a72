/// A message on one of the topics in DESIGN.md. Each carries its schema version in `v`.
public protocol WireMessage: Codable, Sendable, Equatable {
    /// The only version of this message this build accepts.
    static var schemaVersion: Int { get }
    /// The version the payload claims.
    var v: Int { get }
    /// The device the payload names, if it names one; checked against the topic's device.
    var deviceField: DeviceID? { get }
    /// Semantic checks beyond the JSON shape.
    func validate(limits: WireLimits, nowMs: Int64) throws(WireError)
}

extension WireMessage {
    public var deviceField: DeviceID? { nil }
}
