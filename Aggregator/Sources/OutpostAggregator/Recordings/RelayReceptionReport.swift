import Foundation
import OutpostStreaming

/// What the relay, the camera's first receiver at the centre, reports back to it: RTCP
/// receiver reports (RFC 3550 §6.4.2) about the stream as it arrives, from the RTP headers
/// (clear even under SRTP) and the camera's sender reports (plain RTCP). Neither ffmpeg reading
/// an SDP nor Janus's streaming plugin sends any, so without these the camera would learn
/// nothing about loss, jitter or round-trip time on its way to the centre. A value type:
/// packets and times in, report bytes out (sequence tracking as RFC 3550 A.1, jitter as A.8).
struct RelayReceptionReport: Sendable {
    /// The relay's own SSRC, as the report's sender.
    let reporter: UInt32
    private(set) var source: UInt32?
    private var baseSequence: UInt32 = 0
    private var maxSequence: UInt16 = 0
    private var cycles: UInt32 = 0
    private(set) var received: UInt32 = 0
    private var expectedPrior: UInt32 = 0
    private var receivedPrior: UInt32 = 0
    private var lastTransit: Double?
    private var jitter: Double = 0
    /// The middle 32 bits of the last sender report's NTP time, and when it arrived (seconds).
    private var lastSenderReport: (ntp: UInt32, arrival: Double)?

    init(reporter: UInt32) { self.reporter = reporter }

    /// An RTP packet from the camera, arrived at `arrival` seconds (any monotonic origin);
    /// `clockRate` is the payload's RTP clock (90 kHz for video).
    mutating func rtp(_ packet: UnsafeRawBufferPointer, arrival: Double, clockRate: Double = 90_000) {
        guard packet.count >= 12, packet[0] >> 6 == 2 else { return }
        let sequence = UInt16(packet[2]) << 8 | UInt16(packet[3])
        let timestamp = UInt32(packet[4]) << 24 | UInt32(packet[5]) << 16 | UInt32(packet[6]) << 8 | UInt32(packet[7])
        let ssrc = UInt32(packet[8]) << 24 | UInt32(packet[9]) << 16 | UInt32(packet[10]) << 8 | UInt32(packet[11])
        if ssrc != source {
            self = RelayReceptionReport(reporter: reporter)
            source = ssrc
            baseSequence = UInt32(sequence)
            maxSequence = sequence
        } else {
            let delta = sequence &- maxSequence
            if delta != 0, delta < 0x8000 {
                if sequence < maxSequence { cycles &+= 1 << 16 }
                maxSequence = sequence
            }
        }
        received &+= 1
        let transit = arrival * clockRate - Double(timestamp)
        if let lastTransit {
            var difference = abs(transit - lastTransit)
            // A timestamp that wrapped between two packets is not jitter.
            if difference > Double(UInt32.max) / 2 { difference = Double(UInt32.max) + 1 - difference }
            jitter += (difference - jitter) / 16
        }
        lastTransit = transit
    }

    /// An RTCP compound packet from the camera: its sender report, if any, is remembered for LSR/DLSR.
    mutating func rtcp(_ packet: UnsafeRawBufferPointer, arrival: Double) {
        guard packet.count >= 28, packet[0] >> 6 == 2, packet[1] == 200 else { return }
        lastSenderReport = (UInt32(packet[10]) << 24 | UInt32(packet[11]) << 16 | UInt32(packet[12]) << 8 | UInt32(packet[13]), arrival)
    }

    /// A receiver report (28 bytes) about the current source at `now`, or nil before its first packet.
    mutating func report(now: Double) -> [UInt8]? {
        guard let source else { return nil }
        let extendedMax = cycles &+ UInt32(maxSequence)
        let expected = extendedMax &- baseSequence &+ 1
        let lost = Int64(expected) - Int64(received)
        let cumulative = Int32(clamping: max(-0x80_0000, min(0x7F_FFFF, lost)))
        let expectedInterval = Int64(expected &- expectedPrior)
        let receivedInterval = Int64(received &- receivedPrior)
        expectedPrior = expected
        receivedPrior = received
        let lostInterval = expectedInterval - receivedInterval
        let fraction = expectedInterval == 0 || lostInterval <= 0 ? 0 : UInt8(min(255, (lostInterval << 8) / expectedInterval))
        var lsr: UInt32 = 0, dlsr: UInt32 = 0
        if let last = lastSenderReport {
            lsr = last.ntp
            dlsr = UInt32(min(Double(UInt32.max), max(0, (now - last.arrival) * 65_536)))
        }
        let block = ReportBlock(ssrc: source, fractionLost: fraction, cumulativeLost: cumulative, extendedHighestSequenceNumber: extendedMax,
                                jitter: UInt32(min(Double(UInt32.max), jitter)), lastSenderReport: lsr, delaySinceLastSenderReport: dlsr)
        return RTCPCodec.encode([.receiverReport(ReceiverReport(ssrc: reporter, reports: [block]))])
    }
}
