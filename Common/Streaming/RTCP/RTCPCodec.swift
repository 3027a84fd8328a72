/// Reads and writes RTCP compound packets (RFC 3550 §6, RFC 4585 §6, RFC 5104 §4.3.1, REMB).
///
/// Decoding is strict about framing (version, lengths, padding) and lenient about content:
/// packet types and feedback formats it does not know come back as ``RTCPPacket/unknown``
/// so they can be counted. A compound need not start with SR/RR (RFC 5506 reduced-size
/// RTCP is accepted).
public enum RTCPCodec {
    /// Decodes every packet of a compound packet, or throws on the first framing error.
    public static func decode(_ bytes: [UInt8]) throws(RTCPError) -> [RTCPPacket] {
        var packets: [RTCPPacket] = []
        var offset = 0
        guard bytes.count >= 4 else { throw RTCPError(.truncated, "\(bytes.count) bytes is shorter than an RTCP header") }
        while offset < bytes.count {
            guard bytes.count - offset >= 4 else { throw RTCPError(.truncated, "\(bytes.count - offset) trailing bytes at \(offset)") }
            let first = bytes[offset]
            guard first >> 6 == 2 else { throw RTCPError(.badVersion, "version \(first >> 6) at offset \(offset)") }
            let count = first & 0x1F
            let packetType = bytes[offset + 1]
            let length = (Int(bytes.readBigEndianUInt16(at: offset + 2)) + 1) * 4
            guard bytes.count - offset >= length else {
                throw RTCPError(.truncated, "packet type \(packetType) declares \(length) bytes, \(bytes.count - offset) remain")
            }
            var end = offset + length
            if first & 0x20 != 0 {
                let padding = Int(bytes[end - 1])
                guard padding > 0, padding <= length - 4 else { throw RTCPError(.badPadding, "padding count \(padding)") }
                end -= padding
            }
            let body = Array(bytes[(offset + 4)..<end])
            packets.append(try decodePacket(packetType: packetType, count: count, body: body))
            offset += length
        }
        return packets
    }

    private static func decodePacket(packetType: UInt8, count: UInt8, body: [UInt8]) throws(RTCPError) -> RTCPPacket {
        switch packetType {
        case RTCPPacket.PacketType.senderReport:
            guard body.count >= 24 + Int(count) * 24 else { throw malformed("SR with \(count) blocks in \(body.count) bytes") }
            return .senderReport(SenderReport(
                ssrc: body.readBigEndianUInt32(at: 0),
                ntpTimestamp: NTPTimestamp(seconds: body.readBigEndianUInt32(at: 4), fraction: body.readBigEndianUInt32(at: 8)),
                rtpTimestamp: body.readBigEndianUInt32(at: 12), packetCount: body.readBigEndianUInt32(at: 16),
                octetCount: body.readBigEndianUInt32(at: 20), reports: reportBlocks(body, from: 24, count: Int(count))))
        case RTCPPacket.PacketType.receiverReport:
            guard body.count >= 4 + Int(count) * 24 else { throw malformed("RR with \(count) blocks in \(body.count) bytes") }
            return .receiverReport(ReceiverReport(ssrc: body.readBigEndianUInt32(at: 0),
                                                  reports: reportBlocks(body, from: 4, count: Int(count))))
        case RTCPPacket.PacketType.sourceDescription:
            return .sourceDescription(try sdesChunks(body, count: Int(count)))
        case RTCPPacket.PacketType.goodbye:
            guard body.count >= Int(count) * 4 else { throw malformed("BYE with \(count) sources in \(body.count) bytes") }
            let sources = (0..<Int(count)).map { body.readBigEndianUInt32(at: $0 * 4) }
            var reason: String?
            let reasonAt = Int(count) * 4
            if body.count > reasonAt {
                let length = Int(body[reasonAt])
                guard body.count >= reasonAt + 1 + length else { throw malformed("BYE reason overruns the packet") }
                reason = String(decoding: body[(reasonAt + 1)..<(reasonAt + 1 + length)], as: UTF8.self)
            }
            return .goodbye(Goodbye(sources: sources, reason: reason))
        case RTCPPacket.PacketType.transportFeedback where count == 1:
            guard body.count >= 8, (body.count - 8) % 4 == 0 else { throw malformed("generic NACK of \(body.count) bytes") }
            let entries = stride(from: 8, to: body.count, by: 4).map {
                GenericNACK.Entry(packetID: body.readBigEndianUInt16(at: $0), bitmask: body.readBigEndianUInt16(at: $0 + 2))
            }
            return .genericNACK(GenericNACK(senderSSRC: body.readBigEndianUInt32(at: 0), mediaSSRC: body.readBigEndianUInt32(at: 4),
                                            entries: entries))
        case RTCPPacket.PacketType.payloadFeedback where count == 1:
            guard body.count >= 8 else { throw malformed("PLI of \(body.count) bytes") }
            return .pictureLossIndication(PictureLossIndication(senderSSRC: body.readBigEndianUInt32(at: 0),
                                                                mediaSSRC: body.readBigEndianUInt32(at: 4)))
        case RTCPPacket.PacketType.payloadFeedback where count == 4:
            guard body.count >= 8, (body.count - 8) % 8 == 0 else { throw malformed("FIR of \(body.count) bytes") }
            let entries = stride(from: 8, to: body.count, by: 8).map {
                FullIntraRequest.Entry(ssrc: body.readBigEndianUInt32(at: $0), sequenceNumber: body[$0 + 4])
            }
            return .fullIntraRequest(FullIntraRequest(senderSSRC: body.readBigEndianUInt32(at: 0),
                                                      mediaSSRC: body.readBigEndianUInt32(at: 4), entries: entries))
        case RTCPPacket.PacketType.payloadFeedback where count == 15 && body.count >= 12 && Array(body[8..<12]) == rembIdentifier:
            guard body.count >= 16 else { throw malformed("REMB of \(body.count) bytes") }
            let ssrcCount = Int(body[12])
            guard body.count >= 16 + ssrcCount * 4 else { throw malformed("REMB names \(ssrcCount) SSRCs in \(body.count) bytes") }
            let exponent = UInt64(body[13] >> 2)
            let mantissa = UInt64(body[13] & 0x03) << 16 | UInt64(body[14]) << 8 | UInt64(body[15])
            let bitrate = mantissa == 0 ? 0 : (exponent > UInt64(mantissa.leadingZeroBitCount) ? UInt64.max : mantissa << exponent)
            let ssrcs = (0..<ssrcCount).map { body.readBigEndianUInt32(at: 16 + $0 * 4) }
            return .receiverEstimatedMaximumBitrate(ReceiverEstimatedMaximumBitrate(
                senderSSRC: body.readBigEndianUInt32(at: 0), bitrate: bitrate, ssrcs: ssrcs))
        default:
            return .unknown(packetType: packetType, count: count, body: body)
        }
    }

    static let rembIdentifier: [UInt8] = Array("REMB".utf8)

    private static func malformed(_ context: String) -> RTCPError { RTCPError(.malformed, context) }

    private static func reportBlocks(_ body: [UInt8], from start: Int, count: Int) -> [ReportBlock] {
        (0..<count).map { index in
            let at = start + index * 24
            let lostField = body.readBigEndianUInt32(at: at + 4) & 0x00FF_FFFF
            let cumulative = lostField & 0x80_0000 != 0 ? Int32(bitPattern: lostField | 0xFF00_0000) : Int32(lostField)
            return ReportBlock(
                ssrc: body.readBigEndianUInt32(at: at), fractionLost: body[at + 4], cumulativeLost: cumulative,
                extendedHighestSequenceNumber: body.readBigEndianUInt32(at: at + 8), jitter: body.readBigEndianUInt32(at: at + 12),
                lastSenderReport: body.readBigEndianUInt32(at: at + 16), delaySinceLastSenderReport: body.readBigEndianUInt32(at: at + 20))
        }
    }

    private static func sdesChunks(_ body: [UInt8], count: Int) throws(RTCPError) -> [SDESChunk] {
        var chunks: [SDESChunk] = []
        var offset = 0
        for _ in 0..<count {
            guard body.count >= offset + 4 else { throw malformed("SDES chunk overruns the packet") }
            var chunk = SDESChunk(ssrc: body.readBigEndianUInt32(at: offset), items: [])
            offset += 4
            while true {
                guard offset < body.count else { throw malformed("SDES chunk has no terminating null item") }
                let type = body[offset]
                if type == 0 {
                    offset = (offset + 4) & ~3
                    break
                }
                guard offset + 2 <= body.count, offset + 2 + Int(body[offset + 1]) <= body.count else {
                    throw malformed("SDES item overruns the packet")
                }
                let length = Int(body[offset + 1])
                chunk.items.append(SDESItem(type: type, text: String(decoding: body[(offset + 2)..<(offset + 2 + length)], as: UTF8.self)))
                offset += 2 + length
            }
            chunks.append(chunk)
        }
        return chunks
    }

    // MARK: Encoding

    /// Encodes packets back to back as one compound packet.
    public static func encode(_ packets: [RTCPPacket]) -> [UInt8] {
        var out: [UInt8] = []
        for packet in packets { encode(packet, into: &out) }
        return out
    }

    private static func encode(_ packet: RTCPPacket, into out: inout [UInt8]) {
        var body: [UInt8] = []
        let count: UInt8
        let packetType: UInt8
        switch packet {
        case .senderReport(let report):
            packetType = RTCPPacket.PacketType.senderReport
            count = UInt8(min(report.reports.count, 31))
            body.appendBigEndian(report.ssrc)
            body.appendBigEndian(report.ntpTimestamp.seconds)
            body.appendBigEndian(report.ntpTimestamp.fraction)
            body.appendBigEndian(report.rtpTimestamp)
            body.appendBigEndian(report.packetCount)
            body.appendBigEndian(report.octetCount)
            report.reports.prefix(31).forEach { append($0, to: &body) }
        case .receiverReport(let report):
            packetType = RTCPPacket.PacketType.receiverReport
            count = UInt8(min(report.reports.count, 31))
            body.appendBigEndian(report.ssrc)
            report.reports.prefix(31).forEach { append($0, to: &body) }
        case .sourceDescription(let chunks):
            packetType = RTCPPacket.PacketType.sourceDescription
            count = UInt8(min(chunks.count, 31))
            for chunk in chunks.prefix(31) {
                body.appendBigEndian(chunk.ssrc)
                for item in chunk.items {
                    let text = Array(item.text.utf8.prefix(255))
                    body.append(item.type)
                    body.append(UInt8(text.count))
                    body.append(contentsOf: text)
                }
                body.append(0)
                while body.count % 4 != 0 { body.append(0) }
            }
        case .goodbye(let goodbye):
            packetType = RTCPPacket.PacketType.goodbye
            count = UInt8(min(goodbye.sources.count, 31))
            goodbye.sources.prefix(31).forEach { body.appendBigEndian($0) }
            if let reason = goodbye.reason {
                let text = Array(reason.utf8.prefix(255))
                body.append(UInt8(text.count))
                body.append(contentsOf: text)
                while body.count % 4 != 0 { body.append(0) }
            }
        case .pictureLossIndication(let pli):
            packetType = RTCPPacket.PacketType.payloadFeedback
            count = 1
            body.appendBigEndian(pli.senderSSRC)
            body.appendBigEndian(pli.mediaSSRC)
        case .fullIntraRequest(let fir):
            packetType = RTCPPacket.PacketType.payloadFeedback
            count = 4
            body.appendBigEndian(fir.senderSSRC)
            body.appendBigEndian(fir.mediaSSRC)
            for entry in fir.entries {
                body.appendBigEndian(entry.ssrc)
                body.append(contentsOf: [entry.sequenceNumber, 0, 0, 0])
            }
        case .receiverEstimatedMaximumBitrate(let remb):
            packetType = RTCPPacket.PacketType.payloadFeedback
            count = 15
            body.appendBigEndian(remb.senderSSRC)
            body.appendBigEndian(UInt32(0))
            body.append(contentsOf: rembIdentifier)
            var exponent: UInt64 = 0
            while remb.bitrate >> exponent >= 1 << 18 { exponent += 1 }
            let mantissa = remb.bitrate >> exponent
            let ssrcs = remb.ssrcs.prefix(255)
            body.append(UInt8(ssrcs.count))
            body.append(UInt8(exponent << 2) | UInt8(mantissa >> 16))
            body.append(UInt8((mantissa >> 8) & 0xFF))
            body.append(UInt8(mantissa & 0xFF))
            ssrcs.forEach { body.appendBigEndian($0) }
        case .genericNACK(let nack):
            packetType = RTCPPacket.PacketType.transportFeedback
            count = 1
            body.appendBigEndian(nack.senderSSRC)
            body.appendBigEndian(nack.mediaSSRC)
            for entry in nack.entries {
                body.appendBigEndian(entry.packetID)
                body.appendBigEndian(entry.bitmask)
            }
        case .unknown(let type, let fieldCount, let unknownBody):
            packetType = type
            count = fieldCount & 0x1F
            body = unknownBody
            while body.count % 4 != 0 { body.append(0) }
        }
        out.append(0x80 | count)
        out.append(packetType)
        out.appendBigEndian(UInt16(body.count / 4))
        out.append(contentsOf: body)
    }

    private static func append(_ block: ReportBlock, to body: inout [UInt8]) {
        body.appendBigEndian(block.ssrc)
        body.appendBigEndian(UInt32(block.fractionLost) << 24 | UInt32(bitPattern: block.cumulativeLost) & 0x00FF_FFFF)
        body.appendBigEndian(block.extendedHighestSequenceNumber)
        body.appendBigEndian(block.jitter)
        body.appendBigEndian(block.lastSenderReport)
        body.appendBigEndian(block.delaySinceLastSenderReport)
    }
}
