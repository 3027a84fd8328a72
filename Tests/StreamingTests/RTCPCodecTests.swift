import Testing
@testable import OutpostStreaming

@Suite("RTCP codec and feedback policy")
struct RTCPCodecTests {
    static let ours: UInt32 = 0x1122_3344
    static let theirs: UInt32 = 0xAABB_CCDD

    static let expected: [String: [RTCPPacket]] = [
        "sr-sdes": [
            .senderReport(SenderReport(ssrc: ours, ntpTimestamp: NTPTimestamp(seconds: 0xE800_0000, fraction: 0x8000_0000),
                                       rtpTimestamp: 0x0102_0304, packetCount: 10, octetCount: 1000)),
            .sourceDescription([SDESChunk(ssrc: ours, items: [SDESItem(type: 1, text: "cam@10.0.0.1")])]),
        ],
        "bye": [.goodbye(Goodbye(sources: [ours], reason: "stopped"))],
        "rr": [.receiverReport(ReceiverReport(ssrc: theirs, reports: [
            ReportBlock(ssrc: ours, fractionLost: 16, cumulativeLost: 3, extendedHighestSequenceNumber: 0x0001_1234, jitter: 80,
                        lastSenderReport: 0x0001_8000, delaySinceLastSenderReport: 0x8000),
        ]))],
        "pli": [.pictureLossIndication(PictureLossIndication(senderSSRC: theirs, mediaSSRC: ours))],
        "fir": [.fullIntraRequest(FullIntraRequest(senderSSRC: theirs, entries: [.init(ssrc: ours, sequenceNumber: 7)]))],
        "remb": [.receiverEstimatedMaximumBitrate(ReceiverEstimatedMaximumBitrate(senderSSRC: theirs, bitrate: 500_000, ssrcs: [ours]))],
        "nack": [.genericNACK(GenericNACK(senderSSRC: theirs, mediaSSRC: ours, entries: [.init(packetID: 100, bitmask: 0b101)]))],
    ]

    @Test("byte-exact: every vector decodes to the expected packets and encodes back to the same bytes",
          arguments: ["sr-sdes", "bye", "rr", "pli", "fir", "remb", "nack"])
    func vectors(name: String) throws {
        let bytes = try #require(try VectorFile.load("rtcp.txt")[name]?.first)
        let packets = try RTCPCodec.decode(bytes)
        #expect(packets == Self.expected[name])
        #expect(hex(RTCPCodec.encode(packets)) == hex(bytes))
    }

    @Test("REMB of 500 kbit/s decodes exactly, and mantissa/exponent encoding is exact for large values")
    func rembExact() throws {
        let bytes = try #require(try VectorFile.load("rtcp.txt")["remb"]?.first)
        guard case .receiverEstimatedMaximumBitrate(let remb) = try RTCPCodec.decode(bytes).first else {
            Issue.record("not a REMB")
            return
        }
        #expect(remb.bitrate == 500_000)
        for bitrate: UInt64 in [0, 1, 262_143, 262_144, 1_000_000, 2_500_000_000] {
            let encoded = RTCPCodec.encode([.receiverEstimatedMaximumBitrate(.init(senderSSRC: 1, bitrate: bitrate, ssrcs: []))])
            guard case .receiverEstimatedMaximumBitrate(let decoded) = try RTCPCodec.decode(encoded).first else { continue }
            let mantissaBits = 64 - bitrate.leadingZeroBitCount
            let loss = mantissaBits > 18 ? UInt64(1) << (mantissaBits - 18) : 1
            #expect(decoded.bitrate <= bitrate && bitrate - decoded.bitrate < loss)
        }
    }

    @Test("framing errors have stable codes")
    func errors() {
        let pli: [UInt8] = [0x81, 0xCE, 0x00, 0x02, 0xAA, 0xBB, 0xCC, 0xDD, 0x11, 0x22, 0x33, 0x44]
        let cases: [([UInt8], RTCPError.Code)] = [
            ([0x81, 0xCE], .truncated),
            (Array(pli.prefix(10)), .truncated),
            ([0x41] + pli.dropFirst(), .badVersion),
            ([0xA1] + pli.dropFirst().dropLast() + [0x00], .badPadding),
            ([0xA1, 0xCE, 0x00, 0x02, 0xAA, 0xBB, 0xCC, 0xDD, 0x11, 0x22, 0x33, 0x09], .badPadding),
            ([0x81, 0xC8, 0x00, 0x01, 0x11, 0x22, 0x33, 0x44], .malformed),
            ([0x81, 0xCA, 0x00, 0x01, 0x11, 0x22, 0x33, 0x44], .malformed),
            (pli + [0x81], .truncated),
        ]
        for (bytes, code) in cases {
            #expect(throws: RTCPError(code, "")) { try RTCPCodec.decode(bytes) }
        }
        let unknown = try? RTCPCodec.decode([0x80, 0xCC, 0x00, 0x00])
        #expect(unknown == [.unknown(packetType: 204, count: 0, body: [])])
    }

    @Test("round-trip time comes from LSR and DLSR, and only for an LSR we sent")
    func roundTrip() {
        var history = SenderReportHistory()
        let sent = NTPTimestamp(seconds: 0xE800_0001, fraction: 0x8000_0000)
        history.record(sent)
        #expect(sent.compact == 0x0001_8000)
        let block = ReportBlock(ssrc: Self.ours, fractionLost: 64, cumulativeLost: 5, extendedHighestSequenceNumber: 1, jitter: 900,
                                lastSenderReport: sent.compact, delaySinceLastSenderReport: 0x0000_8000)
        // Arrival 0.5 s (DLSR) + 0.25 s (the round trip) after the SR.
        let arrival = NTPTimestamp(seconds: 0xE800_0002, fraction: 0x4000_0000)
        let report = ReceptionReport(reporterSSRC: Self.theirs, block: block, arrival: arrival, history: history)
        #expect(report.lastSenderReportMatched)
        #expect(report.roundTripMilliseconds == 250)
        #expect(report.fractionLost == 0.25)
        #expect(report.jitterMilliseconds == 10)
        var foreign = block
        foreign.lastSenderReport = 0x0001_9000
        let unmatched = ReceptionReport(reporterSSRC: Self.theirs, block: foreign, arrival: arrival, history: history)
        #expect(!unmatched.lastSenderReportMatched)
        #expect(unmatched.roundTripMilliseconds == nil)
    }

    @Test("PLI and FIR ask for SPS/PPS, rate-limited; a repeated FIR sequence number is a duplicate")
    func keyframeRequests() {
        var policy = FeedbackPolicy(ssrc: Self.ours, minimumResendInterval: .milliseconds(250))
        let history = SenderReportHistory()
        let arrival = NTPTimestamp(seconds: 0, fraction: 0)
        let pli = RTCPPacket.pictureLossIndication(.init(senderSSRC: Self.theirs, mediaSSRC: Self.ours))
        #expect(policy.handle(pli, now: 1_000_000_000, arrival: arrival, history: history) == [.resendParameterSets])
        #expect(policy.handle(pli, now: 1_100_000_000, arrival: arrival, history: history) == [])
        #expect(policy.counters.resendsRateLimited == 1)
        let fir = { (sequence: UInt8) in
            RTCPPacket.fullIntraRequest(.init(senderSSRC: Self.theirs, entries: [.init(ssrc: Self.ours, sequenceNumber: sequence)]))
        }
        #expect(policy.handle(fir(1), now: 2_000_000_000, arrival: arrival, history: history) == [.resendParameterSets])
        #expect(policy.handle(fir(1), now: 3_000_000_000, arrival: arrival, history: history) == [])
        #expect(policy.counters.firDuplicates == 1)
        #expect(policy.handle(fir(2), now: 4_000_000_000, arrival: arrival, history: history) == [.resendParameterSets])
        let other = RTCPPacket.pictureLossIndication(.init(senderSSRC: Self.theirs, mediaSSRC: 0x0BAD_0BAD))
        #expect(policy.handle(other, now: 5_000_000_000, arrival: arrival, history: history) == [])
        #expect(policy.counters.pli == 2)
        #expect(policy.counters.fir == 3)
        #expect(policy.counters.foreign == 1)
        #expect(policy.counters.keyframeRequests == 5)
    }

    @Test("NACK asks for the named packets; REMB sets the target")
    func nackAndREMB() throws {
        var policy = FeedbackPolicy(ssrc: Self.ours)
        let vectors = try VectorFile.load("rtcp.txt")
        var actions: [FeedbackAction] = []
        for name in ["nack", "remb", "rr"] {
            for packet in try RTCPCodec.decode(try #require(vectors[name]?.first)) {
                actions += policy.handle(packet, now: 1, arrival: NTPTimestamp(seconds: 0, fraction: 0), history: SenderReportHistory())
            }
        }
        #expect(actions == [.retransmit([100, 101, 103]), .targetBitrate(500_000)])
        #expect(policy.lastREMB == 500_000)
        #expect(policy.lastReport?.cumulativeLost == 3)
        #expect(policy.lastReport?.lastSenderReportMatched == false)
    }

    @Test("the retransmission history is bounded and finds what it holds")
    func history() {
        var history = RetransmissionHistory(capacity: 16, maximumBytes: 1000)
        for sequence in UInt16(65_530)...UInt16(65_535) { history.record([UInt8(sequence & 0xFF)], sequenceNumber: sequence) }
        for sequence in UInt16(0)..<20 { history.record([UInt8(sequence)], sequenceNumber: sequence) }
        #expect(history.count == 16)
        #expect(history.packet(65_535) == nil)
        #expect(history.packet(4) == [4])
        #expect(history.packet(19) == [19])
        #expect(history.packet(3) == nil)
        var bytes = RetransmissionHistory(capacity: 16, maximumBytes: 250)
        for sequence in UInt16(0)..<5 { bytes.record([UInt8](repeating: 1, count: 100), sequenceNumber: sequence) }
        #expect(bytes.count == 2)
        #expect(bytes.packet(4) != nil && bytes.packet(2) == nil)
    }

    @Test("the retransmission budget allows a burst, then the rate")
    func budget() {
        var budget = RetransmissionBudget(rate: 10, burst: 3)
        #expect((0..<5).map { _ in budget.take(now: 1_000_000_000) } == [true, true, true, false, false])
        #expect(budget.take(now: 1_050_000_000) == false)
        #expect(budget.take(now: 1_100_000_000) == true)
        #expect(budget.take(now: 1_100_000_000) == false)
        #expect((0..<5).map { _ in budget.take(now: 9_000_000_000) } == [true, true, true, false, false])
    }

    @Test("the RTCP interval follows RFC 3550 A.7")
    func interval() {
        let standard = RTCPInterval()
        // 2 members at 1 MB/s: bandwidth share gives far less than the 5 s minimum.
        #expect(standard.deterministic(members: 2, senders: 1, weSent: true, initial: false, sessionBandwidth: 1_000_000,
                                       averagePacketSize: 100) == 5)
        #expect(standard.deterministic(members: 2, senders: 1, weSent: true, initial: true, sessionBandwidth: 1_000_000,
                                       averagePacketSize: 100) == 2.5)
        // 1,000 members, 1 sender, 1 kB/s session: RTCP gets 50 B/s, senders a quarter of it.
        #expect(standard.deterministic(members: 1000, senders: 1, weSent: true, initial: false, sessionBandwidth: 1000,
                                       averagePacketSize: 100) == 8)
        #expect(standard.deterministic(members: 1000, senders: 1, weSent: false, initial: false, sessionBandwidth: 1000,
                                       averagePacketSize: 100) == 100 * 999 / 37.5)
        let low = standard.randomized(deterministic: 5, unit: 0)
        let high = standard.randomized(deterministic: 5, unit: 1)
        #expect(low > .milliseconds(2050) && low < .milliseconds(2060))
        #expect(high > .milliseconds(6150) && high < .milliseconds(6160))
        // The first report waits half the minimum, whatever the (still unknown) bandwidth.
        #expect(standard.initialDelay == .milliseconds(2500))
        #expect(RTCPInterval(minimum: .seconds(1)).initialDelay == .milliseconds(500))
    }

    @Test("the watchdog reports silence once and recovery once")
    func watchdog() {
        var watchdog = FeedbackWatchdog(timeout: .seconds(2), startedAt: 0)
        #expect(watchdog.check(now: 1_000_000_000) == nil)
        #expect(watchdog.check(now: 2_500_000_000) == .lost(silentFor: .milliseconds(2500)))
        #expect(watchdog.check(now: 3_000_000_000) == nil)
        #expect(watchdog.heard(at: 3_100_000_000) == .resumed)
        #expect(watchdog.heard(at: 3_200_000_000) == nil)
        #expect(watchdog.deadline == 5_200_000_000)
    }

    @Test("bitrate changes are clamped, need a 20% step and wait out the interval")
    func bitrate() {
        var adaptation = BitrateAdaptation(initial: 2_000_000, minimum: 300_000, maximum: 8_000_000)
        #expect(adaptation.estimate(1_900_000, now: 1) == nil)
        #expect(adaptation.estimate(500_000, now: 2) == 500_000)
        #expect(adaptation.estimate(100_000, now: 3) == nil)
        #expect(adaptation.target == 300_000)
        #expect(adaptation.due(now: 10_000_000_002) == 300_000)
        #expect(adaptation.current == 300_000)
    }
}
