// `make bench` phase "decode": decodes the same four 500-reading telemetry batches `count`
// times through one path (`direct`: JSONReader; `foundation`: the JSONDecoder path kept as the
// reference), built with swiftc -O from the sources of Common/Wire like the fuzz
// target. Run under callgrind at two counts, the difference gives instructions per reading
// without start-up.
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

@main
struct DecodeBench {
    static func main() throws {
        let arguments = CommandLine.arguments
        let directly = arguments[1] == "direct"
        let count = Int(arguments[2])!
        let device = DeviceID("meter-0042")!
        let nowMs: Int64 = 1_763_800_100_000
        let codec = WireCodec()
        var payloads: [[UInt8]] = []
        var seq: Int64 = 0
        for _ in 0..<4 {
            let readings = (0..<500).map { index -> Reading in
                seq += 1
                let metric = ["power_w", "voltage_v", "current_a", "energy_wh"][index % 4]
                return Reading(seq: seq, ts: nowMs - 60_000 + seq, metric: metric, value: Double(Int(seq * 7919) % 100_000) / 10)
            }
            payloads.append(try codec.encode(TelemetryBatch(device: device, buffer: BufferID(0x9f3c_2a7b_11d0_4e58), readings: readings)))
        }
        var total = 0
        for round in 0..<count {
            let batch = try codec.decode(TelemetryBatch.self, from: payloads[round % 4], topicDevice: device, nowMs: nowMs, directly: directly)
            total += batch.readings.count
        }
        print("decoded \(total) readings, \(payloads[0].count) bytes per batch")
    }
}
