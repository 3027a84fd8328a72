/// Groups NAL units into access units (one coded picture and what belongs to it).
///
/// The boundary rules are H.264 §7.4.1.2.3, as far as a camera stream needs them: after
/// a picture's slices, an access unit delimiter, SPS, PPS, SEI or a type 14–18 unit starts
/// the next access unit, and so does a slice whose `first_mb_in_slice` is 0. An access
/// unit is known to be complete only when the next one begins, or at ``finish()``.
public struct AccessUnitAssembler: Sendable {
    /// Bounds the units held for one access unit; a stream without picture boundaries
    /// cannot grow memory. Defaults to 1,024.
    public let maximumUnitsPerAccessUnit: Int
    private var current: [H264NALUnit] = []
    private var currentHasPicture = false

    public init(maximumUnitsPerAccessUnit: Int = 1024) {
        self.maximumUnitsPerAccessUnit = maximumUnitsPerAccessUnit
    }

    /// Adds `unit`; returns the access unit it closed, if any.
    public mutating func append(_ unit: H264NALUnit) -> [H264NALUnit]? {
        var completed: [H264NALUnit]?
        if currentHasPicture, Self.startsNewAccessUnit(unit) {
            completed = current
            current = []
            currentHasPicture = false
        } else if current.count >= maximumUnitsPerAccessUnit {
            completed = current
            current = []
            currentHasPicture = false
        }
        current.append(unit)
        if unit.isVCL { currentHasPicture = true }
        return completed
    }

    /// Returns what is held as the last access unit.
    public mutating func finish() -> [H264NALUnit]? {
        defer {
            current = []
            currentHasPicture = false
        }
        return current.isEmpty ? nil : current
    }

    private static func startsNewAccessUnit(_ unit: H264NALUnit) -> Bool {
        switch unit.type {
        case H264NALUnit.Kind.accessUnitDelimiter, H264NALUnit.Kind.sps, H264NALUnit.Kind.pps, H264NALUnit.Kind.sei, 14...18:
            true
        case 1...5:
            unit.startsPicture
        default:
            false
        }
    }
}
