import Testing
@testable import OutpostStreaming

private let sps = H264NALUnit([0x67, 0x42, 0xC0, 0x1E, 0xD9])!
private let pps = H264NALUnit([0x68, 0xCE, 0x3C, 0x80])!
private let parameterSets = ParameterSets(sps: sps, pps: pps)

@Suite("H.264 Annex-B parsing and RFC 6184 packetization")
struct H264PacketizationTests {
    static let stream: [UInt8] = [0, 0, 0, 1] + sps.bytes + [0, 0, 1] + pps.bytes + [0, 0, 0, 1, 0x65, 0x88, 0x84, 0x00, 0x33, 0xFF]
        + [0, 0, 0, 1, 0x41, 0x9A, 0x02, 0x03, 0x00, 0x00] + [0, 0, 1, 0x41, 0x9A, 0x07]

    @Test("the parser finds every unit whatever the chunk boundaries, and drops start-code zeros")
    func chunkBoundaries() {
        let expected: [[UInt8]] = [sps.bytes, pps.bytes, [0x65, 0x88, 0x84, 0x00, 0x33, 0xFF], [0x41, 0x9A, 0x02, 0x03], [0x41, 0x9A, 0x07]]
        for chunkSize in 1...Self.stream.count {
            var parser = AnnexBParser()
            var units: [[UInt8]] = []
            var offset = 0
            while offset < Self.stream.count {
                let end = min(offset + chunkSize, Self.stream.count)
                units += parser.feed(Self.stream[offset..<end]).map(\.bytes)
                offset = end
            }
            if let last = parser.finish() { units.append(last.bytes) }
            #expect(units == expected, "chunk size \(chunkSize)")
        }
    }

    @Test("an oversized unit is dropped and counted; the units after it survive; garbage before the first start code is skipped")
    func oversizedUnit() {
        var parser = AnnexBParser(maximumNALUnitSize: 64)
        var units = parser.feed([0xDE, 0xAD, 0, 0, 1] + sps.bytes + [0, 0, 1, 0x65] + Array(repeating: 0xAB, count: 500))
        units += parser.feed([0, 0, 1] + pps.bytes + [0, 0, 1, 0x41, 0x9A])
        if let last = parser.finish() { units.append(last) }
        #expect(units.map(\.bytes) == [sps.bytes, pps.bytes, [0x41, 0x9A]])
        #expect(parser.oversizedUnits == 1)
        #expect(parser.discardedBytes >= 500)
    }

    @Test("memory stays bounded on an endless unit")
    func boundedMemory() {
        var parser = AnnexBParser(maximumNALUnitSize: 1024)
        _ = parser.feed([0, 0, 1, 0x65])
        for _ in 0..<1000 { #expect(parser.feed([UInt8](repeating: 0x55, count: 4096)).isEmpty) }
        #expect(parser.oversizedUnits >= 1)
    }

    @Test("access units split at SPS/PPS/AUD after a picture and at a slice with first_mb_in_slice 0")
    func accessUnits() {
        var assembler = AccessUnitAssembler()
        let second = H264NALUnit([0x65, 0x40, 0x11])!  // first_mb_in_slice != 0: same picture
        let units = [H264NALUnit([0x09, 0xF0])!, sps, pps, H264NALUnit([0x65, 0x88])!, second,
                     H264NALUnit([0x41, 0x9A])!, H264NALUnit([0x41, 0x9B])!, H264NALUnit([0x09, 0xF0])!, H264NALUnit([0x41, 0x9C])!]
        var accessUnits = units.compactMap { assembler.append($0) }
        if let last = assembler.finish() { accessUnits.append(last) }
        #expect(accessUnits.map { $0.map(\.type) } == [[9, 7, 8, 5, 5], [1], [1], [9, 1]])
    }

    @Test("profile-level-id and sprop-parameter-sets come from the SPS and PPS")
    func parameterSetAttributes() {
        #expect(parameterSets.profileLevelID == "42c01e")
        #expect(parameterSets.spropParameterSets == "Z0LAHtk=,aM48gA==")
    }

    @Test("byte-exact: an IDR access unit is AUD, STAP-A(SPS, PPS), then the slice with the marker; sequence numbers wrap")
    func idrVector() throws {
        let vectors = try VectorFile.load("rtp-h264.txt")
        var packetizer = H264Packetizer(ssrc: 0x1122_3344, firstSequenceNumber: 0xFFFF)
        let accessUnit = [H264NALUnit([0x09, 0xF0])!, sps, pps, H264NALUnit([0x65, 0x88, 0x84, 0x00, 0x33, 0xFF])!]
        let packets = packetizer.packetize(accessUnit: accessUnit, timestamp: 0x0102_0304, parameterSets: parameterSets)
        let expected = try #require(vectors["idr-access-unit"])
        #expect(packets.map(hex) == expected.map(hex))
        #expect(packetizer.nextSequenceNumber == 2)
    }

    @Test("byte-exact: a unit over the payload size becomes FU-A fragments with start and end bits")
    func fuAVector() throws {
        let vectors = try VectorFile.load("rtp-h264.txt")
        var packetizer = H264Packetizer(ssrc: 0x1122_3344, firstSequenceNumber: 0xFFFF, maximumPayloadSize: 16)
        let slice = H264NALUnit([0x65] + (0..<20).map(UInt8.init))!
        let packets = packetizer.packetize(accessUnit: [slice], timestamp: 0x0102_0304, parameterSets: nil)
        let expected = try #require(vectors["fu-a"])
        #expect(packets.map(hex) == expected.map(hex))
    }

    @Test("byte-exact: a keyframe request puts SPS/PPS ahead of the next picture")
    func resendVector() throws {
        let vectors = try VectorFile.load("rtp-h264.txt")
        var packetizer = H264Packetizer(ssrc: 0x1122_3344, firstSequenceNumber: 0xFFFF)
        let packets = packetizer.packetize(accessUnit: [H264NALUnit([0x41, 0x9A, 0x02, 0x03])!], timestamp: 0x0102_0304,
                                           parameterSets: parameterSets, forceParameterSets: true)
        let expected = try #require(vectors["p-frame-with-resend"])
        #expect(packets.map(hex) == expected.map(hex))
    }

    @Test("an IDR access unit with two PPS keeps both in its STAP-A")
    func twoPPS() {
        var packetizer = H264Packetizer(ssrc: 1, firstSequenceNumber: 0)
        let secondPPS = H264NALUnit([0x68, 0x53, 0x3C, 0x80])!
        let accessUnit = [sps, pps, secondPPS, H264NALUnit([0x65, 0x88, 0x84])!]
        let packets = packetizer.packetize(accessUnit: accessUnit, timestamp: 0, parameterSets: parameterSets)
        #expect(packets.count == 2)
        #expect(Depacketizer.units(packets) == accessUnit.map(\.bytes))
    }

    @Test("depacketizing what the packetizer made gives back the units, for every payload size")
    func roundTrip() {
        let big = H264NALUnit([0x65] + (0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 7) })!
        let accessUnit = [sps, pps, big, H264NALUnit([0x65, 0x01, 0x02])!]
        for size in [16, 100, 1200, 1452] {
            var packetizer = H264Packetizer(ssrc: 1, firstSequenceNumber: 65_000, maximumPayloadSize: size)
            let packets = packetizer.packetize(accessUnit: accessUnit, timestamp: 90_000, parameterSets: parameterSets)
            #expect(packets.allSatisfy { $0.count <= 12 + size })
            #expect(packets.enumerated().allSatisfy { index, packet in RTPHeader(parsing: packet)?.marker == (index == packets.count - 1) })
            #expect(packets.allSatisfy { RTPHeader(parsing: $0)?.timestamp == 90_000 })
            let sequence = packets.compactMap { RTPHeader(parsing: $0)?.sequenceNumber }
            #expect(zip(sequence, sequence.dropFirst()).allSatisfy { $1 == $0 &+ 1 })
            #expect(Depacketizer.units(packets) == accessUnit.map(\.bytes), "payload size \(size)")
        }
    }
}

/// A minimal RFC 6184 receiver for the round-trip check: single NAL, STAP-A and FU-A.
enum Depacketizer {
    static func units(_ packets: [[UInt8]]) -> [[UInt8]] {
        var units: [[UInt8]] = []
        var fragment: [UInt8] = []
        for packet in packets {
            let payload = Array(packet[(RTPHeader.payloadOffset(in: packet) ?? 12)...])
            switch payload[0] & 0x1F {
            case 24:
                var offset = 1
                while offset + 2 <= payload.count {
                    let size = Int(payload[offset]) << 8 | Int(payload[offset + 1])
                    units.append(Array(payload[(offset + 2)..<(offset + 2 + size)]))
                    offset += 2 + size
                }
            case 28:
                if payload[1] & 0x80 != 0 { fragment = [(payload[0] & 0xE0) | (payload[1] & 0x1F)] }
                fragment += payload[2...]
                if payload[1] & 0x40 != 0 { units.append(fragment) }
            default:
                units.append(payload)
            }
        }
        return units
    }
}
