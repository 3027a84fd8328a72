/// The last packets sent, by sequence number, so a generic NACK (RFC 4585 §6.2.1) can be
/// answered. Bounded in packets and bytes; the oldest go first.
///
/// Retransmission re-sends the original packet unchanged (same sequence number). That is
/// what a receiver without RFC 4588 RTX negotiated expects; its jitter buffer discards a
/// copy it already has.
public struct RetransmissionHistory: Sendable {
    /// Defaults to 512 packets (about 0.5 s of a 10 Mbit/s stream).
    public let capacity: Int
    /// Defaults to 1 MiB.
    public let maximumBytes: Int
    /// A ring indexed by sequence number modulo capacity.
    private var slots: [(sequenceNumber: UInt16, packet: [UInt8])?]
    private var bytes = 0
    private var order: [UInt16] = []
    private var head = 0

    public init(capacity: Int = 512, maximumBytes: Int = 1 << 20) {
        precondition(capacity > 0 && capacity <= 32_768, "capacity must stay below half the sequence space")
        self.capacity = capacity
        self.maximumBytes = maximumBytes
        slots = Array(repeating: nil, count: capacity)
        order.reserveCapacity(capacity)
    }

    public var count: Int { order.count - head }

    /// Remembers a sent packet under its sequence number.
    public mutating func record(_ packet: [UInt8], sequenceNumber: UInt16) {
        let slot = Int(sequenceNumber) % capacity
        if let old = slots[slot] { bytes -= old.packet.count }
        slots[slot] = (sequenceNumber, packet)
        bytes += packet.count
        order.append(sequenceNumber)
        while count > capacity || (bytes > maximumBytes && count > 1) { evictOldest() }
        if head > capacity {
            order.removeFirst(head)
            head = 0
        }
    }

    /// The packet sent with `sequenceNumber`, if still held.
    public func packet(_ sequenceNumber: UInt16) -> [UInt8]? {
        guard let entry = slots[Int(sequenceNumber) % capacity], entry.sequenceNumber == sequenceNumber else { return nil }
        return entry.packet
    }

    private mutating func evictOldest() {
        let oldest = order[head]
        head += 1
        let slot = Int(oldest) % capacity
        if let entry = slots[slot], entry.sequenceNumber == oldest {
            bytes -= entry.packet.count
            slots[slot] = nil
        }
    }
}
