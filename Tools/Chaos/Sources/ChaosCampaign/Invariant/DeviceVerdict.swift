/// The exactly-once check for one device: its numbers and every way it failed.
public struct DeviceVerdict: Sendable, Equatable {
    /// One way a device broke the promise. Tests assert the code.
    public struct Problem: Sendable, Equatable, CustomStringConvertible {
        public enum Code: String, Sendable {
            /// The buffer file could not be read.
            case unreadableBuffer = "unreadable_buffer"
            /// The device captured nothing: the campaign did not exercise it.
            case nothingCaptured = "nothing_captured"
            /// Captured seqs absent from PostgreSQL.
            case missing
            /// A seq stored more than once.
            case duplicate
            /// Stored seqs the buffer never handed out (outside 1...last_seq).
            case unexpectedSeq = "unexpected_seq"
            /// Rows stored under a buffer id the device's file does not have.
            case foreignBuffer = "foreign_buffer"
            /// Readings still waiting in the buffer after the catch-up.
            case pending
            /// Readings the buffer dropped (full): captured, never stored.
            case dropped
            /// Rows in PostgreSQL for a device the campaign does not run.
            case unknownDevice = "unknown_device"
        }

        public var code: Code
        public var detail: String

        public init(_ code: Code, _ detail: String) {
            self.code = code
            self.detail = detail
        }

        public var description: String { "\(code.rawValue): \(detail)" }
    }

    public var device: String
    public var buffer: Int64?
    /// seqs 1...last_seq.
    public var captured: Int64
    /// Rows in PostgreSQL for the device, every buffer.
    public var stored: Int64
    public var duplicates: Int64
    public var missing: Int64
    /// Stored rows that match no captured seq: outside 1...last_seq or under another buffer id.
    public var unexpected: Int64
    public var pending: Int64
    public var dropped: Int64
    public var problems: [Problem]

    public var passed: Bool { problems.isEmpty }
    public var codes: [Problem.Code] { problems.map(\.code) }
}
