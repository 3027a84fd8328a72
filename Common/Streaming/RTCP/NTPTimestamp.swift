#if canImport(Glibc)
import Glibc
#endif

/// A 64-bit NTP timestamp (RFC 5905): seconds since 1900 and a binary fraction.
public struct NTPTimestamp: Sendable, Hashable {
    /// Seconds between 1900-01-01 and 1970-01-01.
    static let unixEpochOffset: UInt64 = 2_208_988_800

    public var seconds: UInt32
    public var fraction: UInt32

    public init(seconds: UInt32, fraction: UInt32) {
        self.seconds = seconds
        self.fraction = fraction
    }

    /// From Unix time in nanoseconds.
    public init(unixNanoseconds: UInt64) {
        let secs = unixNanoseconds / 1_000_000_000
        let nanos = unixNanoseconds % 1_000_000_000
        seconds = UInt32(truncatingIfNeeded: secs + Self.unixEpochOffset)
        fraction = UInt32(truncatingIfNeeded: (nanos << 32) / 1_000_000_000)
    }

    /// The wall clock now.
    public static func now() -> NTPTimestamp {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return NTPTimestamp(unixNanoseconds: UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec))
    }

    /// The middle 32 bits, in units of 1/65536 s: what LSR carries (RFC 3550 §6.4.1).
    public var compact: UInt32 { seconds << 16 | fraction >> 16 }
}
