/// One H.264 NAL unit (ITU-T H.264 §7.3.1), without its Annex-B start code.
public struct H264NALUnit: Sendable, Hashable {
    /// NAL unit types this streamer treats specially (H.264 Table 7-1).
    public enum Kind {
        public static let nonIDRSlice: UInt8 = 1
        public static let idrSlice: UInt8 = 5
        public static let sei: UInt8 = 6
        public static let sps: UInt8 = 7
        public static let pps: UInt8 = 8
        public static let accessUnitDelimiter: UInt8 = 9
        public static let endOfSequence: UInt8 = 10
        public static let endOfStream: UInt8 = 11
        public static let filler: UInt8 = 12
        /// RFC 6184 aggregation and fragmentation units.
        public static let stapA: UInt8 = 24
        public static let fuA: UInt8 = 28
    }

    /// The NAL unit's bytes, header first. Never empty.
    public let bytes: [UInt8]

    /// Fails for an empty unit; a NAL unit has at least its one-byte header.
    public init?(_ bytes: [UInt8]) {
        guard !bytes.isEmpty else { return nil }
        self.bytes = bytes
    }

    public var header: UInt8 { bytes[0] }
    /// `nal_unit_type`, 5 bits.
    public var type: UInt8 { bytes[0] & 0x1F }
    /// `nal_ref_idc`, 2 bits.
    public var referenceIndicator: UInt8 { (bytes[0] >> 5) & 0x03 }
    /// `forbidden_zero_bit`; set means the unit is known to be damaged.
    public var isForbiddenBitSet: Bool { bytes[0] & 0x80 != 0 }

    /// A coded slice of a picture (types 1–5).
    public var isVCL: Bool { (1...5).contains(type) }
    public var isIDR: Bool { type == Kind.idrSlice }
    public var isParameterSet: Bool { type == Kind.sps || type == Kind.pps }

    /// True when this VCL unit is the first slice of its picture (`first_mb_in_slice == 0`).
    ///
    /// `first_mb_in_slice` is the first field of the slice header, coded ue(v); the value 0
    /// is the single bit `1`, so the first payload bit decides.
    public var startsPicture: Bool {
        guard isVCL, bytes.count > 1 else { return false }
        return bytes[1] & 0x80 != 0
    }
}
