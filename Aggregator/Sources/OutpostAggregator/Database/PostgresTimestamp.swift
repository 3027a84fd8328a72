import Foundation
import NIOCore
import PostgresNIO

/// A `timestamptz` bound from whole microseconds since the Unix epoch, exactly: `Date`'s
/// encoding truncates a `Double`, which can land one microsecond early. Bound as a value (not
/// computed in SQL from a number), it lets the planner prune `readings`' partitions.
struct PostgresTimestamp: PostgresNonThrowingEncodable {
    /// Microseconds from the Unix epoch to PostgreSQL's, 2000-01-01T00:00:00Z.
    static let postgresEpoch: Int64 = 946_684_800_000_000

    static var psqlType: PostgresDataType { .timestamptz }
    static var psqlFormat: PostgresFormat { .binary }

    let microseconds: Int64

    init(microseconds: Int64) { self.microseconds = microseconds }

    /// The microsecond nearest to `date` (an API query's bound holds whole microseconds).
    init(_ date: Date) { microseconds = Int64((date.timeIntervalSince1970 * 1_000_000).rounded()) }

    func encode<JSONEncoder: PostgresJSONEncoder>(into byteBuffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>) {
        byteBuffer.writeInteger(microseconds - Self.postgresEpoch)
    }
}
