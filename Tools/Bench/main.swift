// outpost-bench: micro-benchmarks of agent parts on their own, for `make bench`.
// Built only by `make bench` (`swift build --product outpost-bench`); never linked into the
// shipped agent, whose product is `outpost-agent` alone.
//
//   outpost-bench buffer --dir DIR [--rows N] [--add-size K] [--drain-batch B] [--synchronous full|normal]
//
// Prints one JSON object: the append rate (samples added K at a time, as sources do, through
// the group commit of a default-configured ReadingBuffer, until all are committed) and the
// drain rate (read the oldest B, acknowledge them, as the publisher does with each ack).
import Foundation
import Logging
import OutpostAgent
import OutpostWire

struct BufferBenchmark {
    var directory: String
    var rows = 100_000
    var addSize = 10
    var drainBatch = 500
    var synchronousFull = true

    func run() async throws -> [String: Any] {
        let path = directory + "/bench-\(synchronousFull ? "full" : "normal").db"
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        var logger = Logger(label: "bench.buffer")
        logger.logLevel = .warning
        let buffer = try ReadingBuffer(
            configuration: .init(path: path, capacity: BufferCapacity(maxRows: rows * 2, maxBytes: rows * 2 * BufferCapacity.maxRowBytes),
                                 synchronousFull: synchronousFull),
            logger: logger)
        let metrics = ["voltage_v", "current_a", "power_w", "energy_wh", "frequency_hz"]
        let baseTs = Int64(Date().timeIntervalSince1970 * 1000)

        let appendStart = ContinuousClock.now
        var added = 0
        while added < rows {
            let count = min(addSize, rows - added)
            var samples: [Sample] = []
            samples.reserveCapacity(count)
            for index in added..<(added + count) {
                samples.append(Sample(ts: baseTs + Int64(index / metrics.count) * 1000, metric: metrics[index % metrics.count], value: Double(index) * 0.5))
            }
            await buffer.add(samples)
            added += count
        }
        await buffer.commit()
        let appendSeconds = seconds(ContinuousClock.now - appendStart)
        let stored = await buffer.stats()
        guard stored.depth == rows else { throw BenchError("appended \(rows) but the buffer holds \(stored.depth)") }

        let drainStart = ContinuousClock.now
        var after: Int64 = 0
        var drained = 0
        while true {
            let batch = try await buffer.readings(after: after, limit: drainBatch)
            guard let first = batch.first, let last = batch.last else { break }
            drained += try await buffer.acknowledge([SeqRange(first.seq, last.seq)])
            after = last.seq
        }
        let drainSeconds = seconds(ContinuousClock.now - drainStart)
        guard drained == rows, await buffer.stats().depth == 0 else { throw BenchError("drained \(drained) of \(rows)") }
        await buffer.close()
        return [
            "synchronous": synchronousFull ? "full" : "normal", "rows": rows, "add_size": addSize, "drain_batch": drainBatch,
            "append_seconds": appendSeconds, "append_rows_per_second": Double(rows) / appendSeconds,
            "drain_seconds": drainSeconds, "drain_rows_per_second": Double(rows) / drainSeconds,
        ]
    }

    private func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

func usage() -> Never {
    FileHandle.standardError.write(Data("usage: outpost-bench buffer --dir DIR [--rows N] [--add-size K] [--drain-batch B] [--synchronous full|normal]\n".utf8))
    exit(2)
}

var arguments = Array(CommandLine.arguments.dropFirst())
guard arguments.first == "buffer" else { usage() }
arguments.removeFirst()
var benchmark = BufferBenchmark(directory: "")
while !arguments.isEmpty {
    let flag = arguments.removeFirst()
    guard let value = arguments.first else { usage() }
    arguments.removeFirst()
    switch flag {
    case "--dir": benchmark.directory = value
    case "--rows": benchmark.rows = Int(value) ?? { usage() }()
    case "--add-size": benchmark.addSize = Int(value) ?? { usage() }()
    case "--drain-batch": benchmark.drainBatch = Int(value) ?? { usage() }()
    case "--synchronous": benchmark.synchronousFull = value == "full"
    default: usage()
    }
}
guard !benchmark.directory.isEmpty, benchmark.rows > 0, benchmark.addSize > 0, benchmark.drainBatch > 0 else { usage() }
do {
    let result = try await benchmark.run()
    let json = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
    print(String(decoding: json, as: UTF8.self))
} catch {
    FileHandle.standardError.write(Data("outpost-bench: \(error)\n".utf8))
    exit(1)
}
