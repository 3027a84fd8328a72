import Foundation

/// A validated readings query: one device's metric over `[from, to)`, raw or in buckets.
/// Built from query parameters without touching the database, so every refusal is a
/// plain 4xx tested as a value.
struct ReadingsQuery: Sendable, Equatable {
    enum Bucket: String, Sendable, CaseIterable {
        case raw, oneMinute = "1m", oneHour = "1h", oneDay = "1d"

        var seconds: Int64? {
            switch self {
            case .raw: nil
            case .oneMinute: 60
            case .oneHour: 3600
            case .oneDay: 86_400
            }
        }
    }

    /// Where a raw page resumes: after this (ts in µs since the epoch, buffer, seq).
    /// `^-?[0-9]{1,16}(\.[0-9a-f]{16}\.[0-9]{1,18})?$`: a reading's time in microseconds, then its
    /// buffer (as 16 hex digits of its 64 bits) and sequence number. A bare time means "from
    /// this time on" for raw pages and is the next bucket's start for bucketed pages, so one
    /// grammar serves both and any cursor matching it is accepted by either.
    struct RawPosition: Codable, Sendable, Equatable, CursorKey {
        let t: Int64
        let b: Int64
        let s: Int64

        var cursorText: String {
            let hex = String(UInt64(bitPattern: b), radix: 16)
            return "\(t).\(String(repeating: "0", count: 16 - hex.count))\(hex).\(s)"
        }

        init(t: Int64, b: Int64, s: Int64) {
            self.t = t
            self.b = b
            self.s = s
        }

        init?(cursorText text: Substring) {
            let parts = text.split(separator: ".", omittingEmptySubsequences: false)
            guard let t = Cursor.integer(parts[0], digits: 16, signed: true) else { return nil }
            if parts.count == 1 {
                // Before every reading at `t`: (t, smallest buffer, smallest seq) is not itself a reading.
                self.init(t: t, b: Int64.min, s: -1)
                return
            }
            guard parts.count == 3, parts[1].utf8.count == 16, let buffer = UInt64(parts[1], radix: 16),
                  parts[1].utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }),
                  let seq = Cursor.integer(parts[2], digits: 18, signed: false)
            else { return nil }
            self.init(t: t, b: Int64(bitPattern: buffer), s: seq)
        }
    }

    /// The wire's metric grammar (``Reading/isValidMetric(_:limits:)``: `host.cpu_percent` has a dot),
    /// so every metric the centre stores can be asked for.
    static let metricPattern = "^[a-z][a-z0-9_.]{0,63}$"
    static let maximumLimit = 10_000
    static let defaultLimit = 1000
    static let parameters: Set<String> = ["metric", "from", "to", "bucket", "limit", "cursor"]

    let metric: String
    let from: Date
    let to: Date
    let bucket: Bucket
    let limit: Int
    /// Raw: resume after this row. Buckets: resume at this bucket start (µs since the epoch).
    let rawAfter: RawPosition?
    let bucketFrom: Int64?

    init(_ query: [String: String], now: Date = Date()) throws(APIError) {
        guard let metric = query["metric"] else { throw APIError.invalidParameter("metric", "is required") }
        guard metric.range(of: Self.metricPattern, options: .regularExpression) != nil else {
            throw APIError.invalidParameter("metric", "must match \(Self.metricPattern)")
        }
        self.metric = metric
        let to = try QueryValue.date(query, "to") ?? now
        let from = try QueryValue.date(query, "from") ?? to.addingTimeInterval(-86_400)
        self.from = from
        self.to = to
        guard let bucket = Bucket(rawValue: query["bucket"] ?? "raw") else {
            throw APIError.invalidParameter("bucket", "must be one of raw, 1m, 1h, 1d")
        }
        self.bucket = bucket
        limit = try QueryValue.limit(query, default: Self.defaultLimit, maximum: Self.maximumLimit)
        if let cursor = query["cursor"] {
            let position = try Cursor.decode(cursor, as: RawPosition.self)
            if bucket == .raw {
                rawAfter = position
                bucketFrom = nil
            } else {
                rawAfter = nil
                bucketFrom = position.t
            }
        } else {
            rawAfter = nil
            bucketFrom = nil
        }
    }

    static func microseconds(_ date: Date) -> Int64 { PostgresTimestamp(date).microseconds }
}
