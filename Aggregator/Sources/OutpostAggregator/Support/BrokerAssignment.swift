import Crypto

/// Which of the configured brokers a device belongs on: an explicit override when the
/// operator set one, otherwise rendezvous (highest-random-weight) hashing of the device id
/// over the broker names.
///
/// Each broker scores a device with the first 8 bytes of SHA-256(`name` NUL `device`) read
/// big-endian, and the highest score wins (ties, which need equal digests, go to the
/// smaller name). Why this hash:
/// - SHA-256 is the same on every aggregator, every architecture and every release
///   (Swift's `Hasher` is seeded per process and would move devices at each restart).
/// - Scores depend on the broker's *name* only, not its position, host or port: reordering
///   the list or changing an address moves nobody.
/// - Appending a broker to N moves only the devices it now wins, about 1/(N+1) of them, all
///   to the new broker; removing one moves only its own devices. A modulo hash would move
///   about N/(N+1) of the fleet.
public struct BrokerAssignment: Sendable, Equatable {
    /// The broker names, each `[a-z0-9][a-z0-9-]{0,31}`, at least one, no duplicates.
    public let brokers: [String]
    /// Device id to broker name, set by the operator (`PUT /devices/{id}/broker`).
    public var overrides: [String: String]

    public init(brokers: [String], overrides: [String: String] = [:]) {
        precondition(!brokers.isEmpty, "a broker assignment needs at least one broker")
        self.brokers = brokers
        self.overrides = overrides
    }

    /// The broker of `device`: its override when that names a configured broker, else the hash's choice.
    public func broker(for device: String) -> String {
        if let chosen = overrides[device], brokers.contains(chosen) { return chosen }
        return hashed(device)
    }

    /// The hash's choice for `device`, ignoring overrides.
    public func hashed(_ device: String) -> String {
        var best = brokers[0]
        var bestScore = Self.score(broker: best, device: device)
        for name in brokers.dropFirst() {
            let score = Self.score(broker: name, device: device)
            if score > bestScore || (score == bestScore && name < best) {
                best = name
                bestScore = score
            }
        }
        return best
    }

    /// The rendezvous weight of `broker` for `device`.
    static func score(broker: String, device: String) -> UInt64 {
        let digest = SHA256.hash(data: Array(broker.utf8) + [0] + Array(device.utf8))
        return digest.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    }

    /// True for a name a broker may have: `[a-z0-9][a-z0-9-]{0,31}`.
    public static func isValidName(_ name: String) -> Bool {
        guard let first = name.utf8.first, (1...32).contains(name.utf8.count), first != UInt8(ascii: "-") else { return false }
        return name.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x2D }
    }
}
