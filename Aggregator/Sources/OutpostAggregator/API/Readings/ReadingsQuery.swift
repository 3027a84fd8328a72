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
    struct RawPosition: Codable, Sendable, Equatable {
        let t: Int64
        let b: Int64
        let s: Int64
    }

    static let metricPattern = "^[a-z][a-z0-9_]{0,63}$"
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
        guard from < to else { throw APIError(.badRequest, .invalidRange, "'from' must be before 'to'") }
        guard to.timeIntervalSince(from) <= 400 * 86_400 else {
            throw APIError(.badRequest, .invalidRange, "a query spans at most 400 days; use the export for more")
        }
        self.from = from
        self.to = to
        guard let bucket = Bucket(rawValue: query["bucket"] ?? "raw") else {
            throw APIError.invalidParameter("bucket", "must be one of raw, 1m, 1h, 1d")
        }
        self.bucket = bucket
        limit = try QueryValue.limit(query, default: Self.defaultLimit, maximum: Self.maximumLimit)
        if let cursor = query["cursor"] {
            if bucket == .raw {
                rawAfter = try Cursor.decode(cursor, as: RawPosition.self)
                bucketFrom = nil
            } else {
                rawAfter = nil
                bucketFrom = try Cursor.decode(cursor, as: Int64.self)
            }
        } else {
            rawAfter = nil
            bucketFrom = nil
        }
    }

    static func microseconds(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1_000_000).rounded()) }
}
