/// Splits an H.264 Annex-B byte stream (ITU-T H.264 Annex B) into NAL units, incrementally.
///
/// Feed it chunks of any size as they arrive; it returns the NAL units completed so far.
/// Memory is bounded: at most one NAL unit in progress (up to ``maximumNALUnitSize``) is
/// held. A unit larger than that is dropped and counted, and parsing resumes at the next
/// start code, so a corrupt or hostile stream cannot grow the agent's memory.
public struct AnnexBParser: Sendable {
    /// Defaults to 4 MiB: far above a 4K intra frame from a camera encoder.
    public let maximumNALUnitSize: Int
    /// Units dropped for exceeding ``maximumNALUnitSize``.
    public private(set) var oversizedUnits = 0
    /// Bytes skipped before the first start code or inside dropped units.
    public private(set) var discardedBytes = 0

    private var buffer: [UInt8] = []
    /// Index in `buffer` of the current unit's first byte (after its start code), if inside one.
    private var unitStart: Int?
    /// Where the next start-code search begins.
    private var scanPosition = 0

    public init(maximumNALUnitSize: Int = 4 << 20) {
        precondition(maximumNALUnitSize > 0)
        self.maximumNALUnitSize = maximumNALUnitSize
    }

    /// Appends `chunk` and returns every NAL unit it completes.
    public mutating func feed(_ chunk: some Collection<UInt8>) -> [H264NALUnit] {
        buffer.append(contentsOf: chunk)
        var units: [H264NALUnit] = []
        var index = scanPosition
        while index + 2 < buffer.count {
            if buffer[index + 2] > 1 {
                index += 3
            } else if buffer[index] == 0, buffer[index + 1] == 0, buffer[index + 2] == 1 {
                if let start = unitStart {
                    if let unit = Self.unit(buffer, start, index) { units.append(unit) }
                } else {
                    discardedBytes += Self.trimmedEnd(buffer, 0, index)
                }
                unitStart = index + 3
                index += 3
            } else {
                index += 1
            }
        }
        scanPosition = index
        compact()
        return units
    }

    /// Ends the stream: returns the last unit, which no further start code will close.
    public mutating func finish() -> H264NALUnit? {
        defer { reset() }
        guard let start = unitStart else {
            discardedBytes += buffer.count
            return nil
        }
        return Self.unit(buffer, start, buffer.count)
    }

    /// Forgets any partial unit, e.g. before reading a looped file from its start again.
    public mutating func reset() {
        buffer.removeAll(keepingCapacity: true)
        unitStart = nil
        scanPosition = 0
    }

    /// Drops consumed bytes and enforces the size bound.
    private mutating func compact() {
        if let start = unitStart {
            if buffer.count - start > maximumNALUnitSize {
                oversizedUnits += 1
                discardedBytes += buffer.count - 2
                keepTail()
                unitStart = nil
            } else if start > 0 {
                buffer.removeFirst(start)
                scanPosition -= start
                unitStart = 0
            }
        } else if buffer.count > 2 {
            discardedBytes += buffer.count - 2
            keepTail()
        }
    }

    /// Keeps the last two bytes, which may begin a start code split across chunks.
    private mutating func keepTail() {
        let tail = Array(buffer.suffix(2))
        buffer.removeAll(keepingCapacity: true)
        buffer.append(contentsOf: tail)
        scanPosition = 0
    }

    /// The unit in `bytes[start..<end]` without trailing zero bytes (`trailing_zero_8bits`
    /// and the leading zero of a four-byte start code belong to no unit).
    private static func unit(_ bytes: [UInt8], _ start: Int, _ end: Int) -> H264NALUnit? {
        let last = start + trimmedEnd(bytes, start, end)
        return H264NALUnit(Array(bytes[start..<last]))
    }

    /// Length of `bytes[start..<end]` once trailing zeros are removed.
    private static func trimmedEnd(_ bytes: [UInt8], _ start: Int, _ end: Int) -> Int {
        var last = end
        while last > start, bytes[last - 1] == 0 { last -= 1 }
        return last - start
    }
}
