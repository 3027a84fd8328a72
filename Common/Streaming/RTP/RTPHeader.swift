/// The fixed RTP header (RFC 3550 §5.1), without CSRCs or extensions: what this sender writes.
public struct RTPHeader: Sendable, Hashable {
    public static let size = 12

    public var marker: Bool
    public var payloadType: UInt8
    public var sequenceNumber: UInt16
    public var timestamp: UInt32
    public var ssrc: UInt32

    public init(marker: Bool, payloadType: UInt8, sequenceNumber: UInt16, timestamp: UInt32, ssrc: UInt32) {
        self.marker = marker
        self.payloadType = payloadType
        self.sequenceNumber = sequenceNumber
        self.timestamp = timestamp
        self.ssrc = ssrc
    }

    /// Appends the 12 header bytes to `out`.
    public func write(into out: inout [UInt8]) {
        out.append(0x80)
        out.append((marker ? 0x80 : 0) | (payloadType & 0x7F))
        out.appendBigEndian(sequenceNumber)
        out.appendBigEndian(timestamp)
        out.appendBigEndian(ssrc)
    }

    /// Reads a header from a packet; nil when the packet is too short or not RTP version 2.
    /// CSRCs and extensions are skipped: ``payloadOffset(in:)`` says where the payload starts.
    public init?(parsing packet: [UInt8]) {
        guard packet.count >= Self.size, packet[0] >> 6 == 2 else { return nil }
        marker = packet[1] & 0x80 != 0
        payloadType = packet[1] & 0x7F
        sequenceNumber = packet.readBigEndianUInt16(at: 2)
        timestamp = packet.readBigEndianUInt32(at: 4)
        ssrc = packet.readBigEndianUInt32(at: 8)
    }

    /// The payload's offset in `packet`, past CSRCs and a header extension; nil if malformed.
    public static func payloadOffset(in packet: [UInt8]) -> Int? {
        guard packet.count >= size else { return nil }
        var offset = size + Int(packet[0] & 0x0F) * 4
        if packet[0] & 0x10 != 0 {
            guard packet.count >= offset + 4 else { return nil }
            offset += 4 + Int(packet.readBigEndianUInt16(at: offset + 2)) * 4
        }
        return offset <= packet.count ? offset : nil
    }
}

extension Array where Element == UInt8 {
    package mutating func appendBigEndian(_ value: UInt16) {
        append(UInt8(value >> 8))
        append(UInt8(value & 0xFF))
    }

    package mutating func appendBigEndian(_ value: UInt32) {
        append(UInt8(value >> 24))
        append(UInt8((value >> 16) & 0xFF))
        append(UInt8((value >> 8) & 0xFF))
        append(UInt8(value & 0xFF))
    }

    package func readBigEndianUInt16(at offset: Int) -> UInt16 {
        UInt16(self[offset]) << 8 | UInt16(self[offset + 1])
    }

    package func readBigEndianUInt32(at offset: Int) -> UInt32 {
        UInt32(self[offset]) << 24 | UInt32(self[offset + 1]) << 16 | UInt32(self[offset + 2]) << 8 | UInt32(self[offset + 3])
    }
}
