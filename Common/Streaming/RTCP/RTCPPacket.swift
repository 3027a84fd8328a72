/// One RTCP packet of a compound packet: the types a video sender writes or must understand.
public enum RTCPPacket: Sendable, Hashable {
    case senderReport(SenderReport)
    case receiverReport(ReceiverReport)
    case sourceDescription([SDESChunk])
    case goodbye(Goodbye)
    /// Picture Loss Indication (RFC 4585 §6.3.1).
    case pictureLossIndication(PictureLossIndication)
    /// Full Intra Request (RFC 5104 §4.3.1).
    case fullIntraRequest(FullIntraRequest)
    /// Receiver Estimated Maximum Bitrate (draft-alvestrand-rmcat-remb).
    case receiverEstimatedMaximumBitrate(ReceiverEstimatedMaximumBitrate)
    /// Generic NACK (RFC 4585 §6.2.1).
    case genericNACK(GenericNACK)
    /// Anything else, kept so it can be counted: packet type, count/FMT field, body.
    case unknown(packetType: UInt8, count: UInt8, body: [UInt8])

    public enum PacketType {
        public static let senderReport: UInt8 = 200
        public static let receiverReport: UInt8 = 201
        public static let sourceDescription: UInt8 = 202
        public static let goodbye: UInt8 = 203
        public static let transportFeedback: UInt8 = 205
        public static let payloadFeedback: UInt8 = 206
    }
}

/// A reception report block (RFC 3550 §6.4.1).
public struct ReportBlock: Sendable, Hashable {
    public var ssrc: UInt32
    /// Fraction of packets lost since the previous report, in 1/256.
    public var fractionLost: UInt8
    /// Cumulative packets lost; signed 24-bit (duplicates can make it negative).
    public var cumulativeLost: Int32
    public var extendedHighestSequenceNumber: UInt32
    /// Interarrival jitter in RTP timestamp units.
    public var jitter: UInt32
    /// Middle 32 bits of the NTP timestamp of the last SR received from this source; 0 if none.
    public var lastSenderReport: UInt32
    /// Delay since that SR, in 1/65536 s.
    public var delaySinceLastSenderReport: UInt32

    public init(ssrc: UInt32, fractionLost: UInt8, cumulativeLost: Int32, extendedHighestSequenceNumber: UInt32, jitter: UInt32,
                lastSenderReport: UInt32, delaySinceLastSenderReport: UInt32)
    {
        self.ssrc = ssrc
        self.fractionLost = fractionLost
        self.cumulativeLost = cumulativeLost
        self.extendedHighestSequenceNumber = extendedHighestSequenceNumber
        self.jitter = jitter
        self.lastSenderReport = lastSenderReport
        self.delaySinceLastSenderReport = delaySinceLastSenderReport
    }
}

public struct SenderReport: Sendable, Hashable {
    public var ssrc: UInt32
    public var ntpTimestamp: NTPTimestamp
    public var rtpTimestamp: UInt32
    public var packetCount: UInt32
    public var octetCount: UInt32
    public var reports: [ReportBlock]

    public init(ssrc: UInt32, ntpTimestamp: NTPTimestamp, rtpTimestamp: UInt32, packetCount: UInt32, octetCount: UInt32,
                reports: [ReportBlock] = [])
    {
        self.ssrc = ssrc
        self.ntpTimestamp = ntpTimestamp
        self.rtpTimestamp = rtpTimestamp
        self.packetCount = packetCount
        self.octetCount = octetCount
        self.reports = reports
    }
}

public struct ReceiverReport: Sendable, Hashable {
    public var ssrc: UInt32
    public var reports: [ReportBlock]

    public init(ssrc: UInt32, reports: [ReportBlock]) {
        self.ssrc = ssrc
        self.reports = reports
    }
}

/// An SDES chunk: one source and its items (type → text). CNAME is item type 1.
public struct SDESChunk: Sendable, Hashable {
    public static let cnameItem: UInt8 = 1

    public var ssrc: UInt32
    public var items: [SDESItem]

    public init(ssrc: UInt32, items: [SDESItem]) {
        self.ssrc = ssrc
        self.items = items
    }

    public var cname: String? { items.first { $0.type == Self.cnameItem }?.text }
}

public struct SDESItem: Sendable, Hashable {
    public var type: UInt8
    public var text: String

    public init(type: UInt8, text: String) {
        self.type = type
        self.text = text
    }
}

public struct Goodbye: Sendable, Hashable {
    public var sources: [UInt32]
    public var reason: String?

    public init(sources: [UInt32], reason: String? = nil) {
        self.sources = sources
        self.reason = reason
    }
}

public struct PictureLossIndication: Sendable, Hashable {
    public var senderSSRC: UInt32
    public var mediaSSRC: UInt32

    public init(senderSSRC: UInt32, mediaSSRC: UInt32) {
        self.senderSSRC = senderSSRC
        self.mediaSSRC = mediaSSRC
    }
}

public struct FullIntraRequest: Sendable, Hashable {
    /// One FCI entry: the media source asked for, and the request's sequence number.
    public struct Entry: Sendable, Hashable {
        public var ssrc: UInt32
        public var sequenceNumber: UInt8

        public init(ssrc: UInt32, sequenceNumber: UInt8) {
            self.ssrc = ssrc
            self.sequenceNumber = sequenceNumber
        }
    }

    public var senderSSRC: UInt32
    /// RFC 5104 says 0 here; the target is in each entry.
    public var mediaSSRC: UInt32
    public var entries: [Entry]

    public init(senderSSRC: UInt32, mediaSSRC: UInt32 = 0, entries: [Entry]) {
        self.senderSSRC = senderSSRC
        self.mediaSSRC = mediaSSRC
        self.entries = entries
    }
}

public struct ReceiverEstimatedMaximumBitrate: Sendable, Hashable {
    public var senderSSRC: UInt32
    /// Bits per second, as exponent and 18-bit mantissa on the wire: `mantissa << exponent`.
    public var bitrate: UInt64
    public var ssrcs: [UInt32]

    public init(senderSSRC: UInt32, bitrate: UInt64, ssrcs: [UInt32]) {
        self.senderSSRC = senderSSRC
        self.bitrate = bitrate
        self.ssrcs = ssrcs
    }
}

public struct GenericNACK: Sendable, Hashable {
    /// One FCI entry: a lost packet id and a bitmask of the 16 following ones.
    public struct Entry: Sendable, Hashable {
        public var packetID: UInt16
        public var bitmask: UInt16

        public init(packetID: UInt16, bitmask: UInt16) {
            self.packetID = packetID
            self.bitmask = bitmask
        }
    }

    public var senderSSRC: UInt32
    public var mediaSSRC: UInt32
    public var entries: [Entry]

    public init(senderSSRC: UInt32, mediaSSRC: UInt32, entries: [Entry]) {
        self.senderSSRC = senderSSRC
        self.mediaSSRC = mediaSSRC
        self.entries = entries
    }

    /// Every sequence number the entries name, in order.
    public var lostSequenceNumbers: [UInt16] {
        entries.flatMap { entry -> [UInt16] in
            var lost = [entry.packetID]
            for bit in 0..<16 where entry.bitmask & (1 << bit) != 0 {
                lost.append(entry.packetID &+ UInt16(bit + 1))
            }
            return lost
        }
    }
}
