import OutpostWire

/// Turns the messages of a committed batch into the acks to publish: one per
/// (device, buffer), naming coalesced seq ranges, split so no ack exceeds the wire cap.
/// Each carries `pressure` (``IngestPressure``), the centre's load when it is published.
public enum AckPlanner {
    public static func acks(for messages: [ReceivedBatch], pressure: Double? = nil, maxRanges: Int = WireLimits.standard.maxAckRanges) -> [Ack] {
        struct Key: Hashable, Comparable {
            var device: DeviceID
            var buffer: BufferID
            static func < (lhs: Key, rhs: Key) -> Bool {
                (lhs.device, lhs.buffer.rawValue) < (rhs.device, rhs.buffer.rawValue)
            }
        }
        // A message's seqs are almost always one ascending run, so each message becomes its
        // ranges in one pass, and only the (few) ranges per key are sorted and coalesced.
        var pieces: [Key: [SeqRange]] = [:]
        for message in messages {
            pieces[Key(device: message.batch.device, buffer: message.batch.buffer), default: []]
                .append(contentsOf: runs(of: message.batch.readings))
        }
        var acks: [Ack] = []
        for key in pieces.keys.sorted() {
            let ranges = coalesce(pieces[key]!)
            var start = 0
            while start < ranges.count {
                let end = min(start + maxRanges, ranges.count)
                acks.append(Ack(device: key.device, buffer: key.buffer, ranges: Array(ranges[start..<end]), pressure: pressure))
                start = end
            }
        }
        return acks
    }

    /// The ascending runs of consecutive seqs, in message order (any order is fine: ``coalesce(_:)`` sorts).
    static func runs(of readings: [Reading]) -> [SeqRange] {
        var runs: [SeqRange] = []
        for reading in readings {
            if let last = runs.last, reading.seq == last.last + 1 {
                runs[runs.count - 1].last = reading.seq
            } else {
                runs.append(SeqRange(reading.seq, reading.seq))
            }
        }
        return runs
    }

    /// Sorted, with overlapping and adjacent ranges merged: the same ranges
    /// ``SeqRange/ranges(covering:)`` makes from every seq they contain.
    static func coalesce(_ pieces: [SeqRange]) -> [SeqRange] {
        var result: [SeqRange] = []
        for piece in pieces.sorted(by: { $0.first < $1.first }) {
            if let last = result.last, piece.first <= last.last + 1 {
                result[result.count - 1].last = max(last.last, piece.last)
            } else {
                result.append(piece)
            }
        }
        return result
    }
}
