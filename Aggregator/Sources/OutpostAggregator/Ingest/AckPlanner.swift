import OutpostCommon

/// Turns the messages of a committed batch into the acks to publish: one per
/// (device, buffer), naming coalesced seq ranges, split so no ack exceeds the wire cap.
public enum AckPlanner {
    public static func acks(for messages: [ReceivedBatch], maxRanges: Int = WireLimits.standard.maxAckRanges) -> [Ack] {
        struct Key: Hashable, Comparable {
            var device: DeviceID
            var buffer: BufferID
            static func < (lhs: Key, rhs: Key) -> Bool {
                (lhs.device, lhs.buffer.rawValue) < (rhs.device, rhs.buffer.rawValue)
            }
        }
        var seqs: [Key: [Int64]] = [:]
        for message in messages {
            seqs[Key(device: message.batch.device, buffer: message.batch.buffer), default: []]
                .append(contentsOf: message.batch.readings.map(\.seq))
        }
        var acks: [Ack] = []
        for key in seqs.keys.sorted() {
            let ranges = SeqRange.ranges(covering: seqs[key]!)
            var start = 0
            while start < ranges.count {
                let end = min(start + maxRanges, ranges.count)
                acks.append(Ack(device: key.device, buffer: key.buffer, ranges: Array(ranges[start..<end])))
                start = end
            }
        }
        return acks
    }
}
