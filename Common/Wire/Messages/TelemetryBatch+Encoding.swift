extension TelemetryBatch {
    /// The batch as JSON, written directly: every key, string and number spelled as
    /// `JSONEncoder` spells it (numbers in their shortest form with a trailing `.0` dropped,
    /// its string escapes), members in declaration order, without its generic containers.
    /// The publisher encodes every batch it sends, so this is on the agent's drain path.
    /// `DirectDecoderTests` compares the tokens with `JSONEncoder`'s.
    func encodedDirectly() throws(WireError) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(96 + readings.count * 72)
        out.append(contentsOf: #"{"v":"#.utf8)
        out.append(contentsOf: String(v).utf8)
        out.append(contentsOf: #","device":"#.utf8)
        JSONString.append(device.rawValue, to: &out)
        out.append(contentsOf: #","buffer":"#.utf8)
        JSONString.append(buffer.hex, to: &out)
        out.append(contentsOf: #","readings":["#.utf8)
        for (position, reading) in readings.enumerated() {
            guard reading.value.isFinite else {
                throw WireError(.nonFiniteValue, "value of seq \(reading.seq) is not finite: JSON cannot carry it")
            }
            out.append(contentsOf: position == 0 ? #"{"seq":"#.utf8 : #",{"seq":"#.utf8)
            out.append(contentsOf: String(reading.seq).utf8)
            out.append(contentsOf: #","ts":"#.utf8)
            out.append(contentsOf: String(reading.ts).utf8)
            out.append(contentsOf: #","metric":"#.utf8)
            JSONString.append(reading.metric, to: &out)
            out.append(contentsOf: #","value":"#.utf8)
            let number = reading.value.description.utf8
            if number.count > 2, number.last == UInt8(ascii: "0"), number[number.index(number.endIndex, offsetBy: -2)] == UInt8(ascii: ".") {
                out.append(contentsOf: number.dropLast(2))
            } else {
                out.append(contentsOf: number)
            }
            out.append(UInt8(ascii: "}"))
        }
        out.append(contentsOf: "]}".utf8)
        return out
    }
}
