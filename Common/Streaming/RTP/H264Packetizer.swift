/// RFC 6184 packetization mode 1 (non-interleaved) for one RTP stream.
///
/// - A NAL unit that fits ``maximumPayloadSize`` travels alone (single NAL unit packet).
/// - A larger one is split into FU-A fragments (§5.8).
/// - Ahead of each IDR picture, SPS and PPS travel together in one STAP-A (§5.7.1), so a
///   receiver that joins or lost packets can decode from that picture on.
/// - Every packet of an access unit has the same 90 kHz timestamp; the last one has the
///   marker bit (§5.1).
///
/// A value type: the caller chooses SSRC, first sequence number and timestamps (random in
/// production, fixed in the byte-exact tests).
public struct H264Packetizer: Sendable {
    public static let clockRate: UInt32 = 90_000

    public let ssrc: UInt32
    public let payloadType: UInt8
    /// RTP payload bytes per packet, excluding the 12-byte header. Defaults to 1,200, which
    /// keeps IPv6 + UDP + RTP under a 1,280-byte path MTU with room for tunnels.
    public let maximumPayloadSize: Int
    /// The sequence number the next packet gets.
    public private(set) var nextSequenceNumber: UInt16

    public init(ssrc: UInt32, firstSequenceNumber: UInt16, payloadType: UInt8 = 96, maximumPayloadSize: Int = 1200) {
        precondition(maximumPayloadSize >= 16, "a payload must hold at least a FU-A header and some data")
        self.ssrc = ssrc
        self.payloadType = payloadType
        self.maximumPayloadSize = maximumPayloadSize
        self.nextSequenceNumber = firstSequenceNumber
    }

    /// Packetizes one access unit. `parameterSets` are the stream's latest SPS/PPS; they go
    /// in a STAP-A ahead of an IDR picture (or of any picture when `forceParameterSets`, the
    /// answer to a keyframe request), in place of SPS/PPS units the access unit carries.
    public mutating func packetize(accessUnit: [H264NALUnit], timestamp: UInt32, parameterSets: ParameterSets?,
                                   forceParameterSets: Bool = false) -> [[UInt8]]
    {
        var payloads: [[UInt8]] = []
        let aggregate = parameterSets != nil && (forceParameterSets || accessUnit.contains(where: \.isIDR))
        // The access unit's own SPS/PPS units (all of them: an encoder may use several PPS)
        // take precedence over the tracked pair.
        let inBand = accessUnit.filter(\.isParameterSet)
        let aggregatedUnits = inBand.isEmpty ? parameterSets.map { [$0.sps, $0.pps] } ?? [] : inBand
        var aggregated = false
        for unit in accessUnit {
            if aggregate, !aggregated, unit.isParameterSet || unit.isVCL {
                payloads.append(contentsOf: parameterSetPayloads(aggregatedUnits))
                aggregated = true
            }
            if aggregate, unit.isParameterSet { continue }
            payloads.append(contentsOf: fragment(unit))
        }
        if aggregate, !aggregated { payloads.append(contentsOf: parameterSetPayloads(aggregatedUnits)) }
        return packets(payloads, timestamp: timestamp, markLast: true)
    }

    /// One STAP-A with the parameter sets, or (if they do not fit together) each on its own.
    func parameterSetPayloads(_ units: [H264NALUnit]) -> [[UInt8]] {
        let size = 1 + units.reduce(0) { $0 + 2 + $1.bytes.count }
        guard size <= maximumPayloadSize, units.allSatisfy({ $0.bytes.count <= 0xFFFF }) else {
            return units.flatMap(fragment)
        }
        let forbidden = units.reduce(UInt8(0)) { $0 | ($1.header & 0x80) }
        let nri = units.map { $0.header & 0x60 }.max() ?? 0
        var payload: [UInt8] = [forbidden | nri | H264NALUnit.Kind.stapA]
        payload.reserveCapacity(size)
        for unit in units {
            payload.appendBigEndian(UInt16(unit.bytes.count))
            payload.append(contentsOf: unit.bytes)
        }
        return [payload]
    }

    /// A single NAL unit payload, or FU-A fragments of it.
    func fragment(_ unit: H264NALUnit) -> [[UInt8]] {
        if unit.bytes.count <= maximumPayloadSize { return [unit.bytes] }
        let indicator = (unit.header & 0xE0) | H264NALUnit.Kind.fuA
        let type = unit.type
        let chunk = maximumPayloadSize - 2
        var payloads: [[UInt8]] = []
        var offset = 1
        while offset < unit.bytes.count {
            let end = min(offset + chunk, unit.bytes.count)
            var header = type
            if offset == 1 { header |= 0x80 }
            if end == unit.bytes.count { header |= 0x40 }
            var payload: [UInt8] = [indicator, header]
            payload.reserveCapacity(2 + end - offset)
            payload.append(contentsOf: unit.bytes[offset..<end])
            payloads.append(payload)
            offset = end
        }
        return payloads
    }

    private mutating func packets(_ payloads: [[UInt8]], timestamp: UInt32, markLast: Bool) -> [[UInt8]] {
        payloads.enumerated().map { index, payload in
            let header = RTPHeader(marker: markLast && index == payloads.count - 1, payloadType: payloadType,
                                   sequenceNumber: nextSequenceNumber, timestamp: timestamp, ssrc: ssrc)
            nextSequenceNumber &+= 1
            var packet: [UInt8] = []
            packet.reserveCapacity(RTPHeader.size + payload.count)
            header.write(into: &packet)
            packet.append(contentsOf: payload)
            return packet
        }
    }
}
