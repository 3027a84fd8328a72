/// The MQTT topics of DESIGN.md: `outpost/v1/{device}/{kind}`.
public struct Topic: Hashable, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable, CaseIterable {
        case telemetry
        case state
        case ack
        case cmd
        case cmdResult = "cmd/result"
        case events

        /// Who publishes on it.
        public var direction: Direction {
            switch self {
            case .telemetry, .state, .cmdResult, .events: .deviceToCentre
            case .ack, .cmd: .centreToDevice
            }
        }

        /// Retained only for state, so a newcomer sees each device's presence at once.
        public var isRetained: Bool { self == .state }
    }

    public enum Direction: Sendable {
        case deviceToCentre
        case centreToDevice
    }

    /// The root shared by every Outpost topic, including its protocol version.
    public static let root = "outpost/v1"
    /// The shared-subscription group aggregators join to split the load.
    public static let sharedGroup = "outpost"

    public let device: DeviceID
    public let kind: Kind

    public init(_ device: DeviceID, _ kind: Kind) {
        self.device = device
        self.kind = kind
    }

    public var name: String { "\(Topic.root)/\(device.rawValue)/\(kind.rawValue)" }
    public var description: String { name }

    /// Parses a topic name. Anything that is not exactly an Outpost topic, with a valid device id, is refused.
    public init(parsing name: String) throws(WireError) {
        let prefix = Topic.root + "/"
        guard name.hasPrefix(prefix) else { throw WireError(.invalidTopic, "topic is not under \(Topic.root)") }
        let rest = name.dropFirst(prefix.count)
        guard let slash = rest.firstIndex(of: "/") else { throw WireError(.invalidTopic, "topic names no kind") }
        guard let device = DeviceID(String(rest[..<slash])) else {
            throw WireError(.invalidDeviceID, "topic's device id is not valid")
        }
        guard let kind = Kind(rawValue: String(rest[rest.index(after: slash)...])) else {
            throw WireError(.invalidTopic, "unknown topic kind")
        }
        self.init(device, kind)
    }

    /// The filter matching `kind` for every device: `outpost/v1/+/{kind}`.
    public static func allDevices(_ kind: Kind) -> String { "\(root)/+/\(kind.rawValue)" }

    /// The shared-subscription filter aggregators use: `$share/outpost/outpost/v1/+/{kind}`.
    public static func shared(_ kind: Kind, group: String = sharedGroup) -> String {
        "$share/\(group)/\(allDevices(kind))"
    }
}
