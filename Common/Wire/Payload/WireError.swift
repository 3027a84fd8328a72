/// Why a wire payload was refused.
///
/// The `code` is stable: it is what tests assert, what metrics label, and what an
/// operator greps for. The `context` is for humans and may change. Equality compares
/// the code only.
public struct WireError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        private init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        public static let payloadTooLarge = Code("payload_too_large")
        public static let malformedJSON = Code("malformed_json")
        public static let missingField = Code("missing_field")
        public static let wrongType = Code("wrong_type")
        public static let unsupportedVersion = Code("unsupported_version")
        public static let invalidDeviceID = Code("invalid_device_id")
        public static let deviceMismatch = Code("device_mismatch")
        public static let invalidBufferID = Code("invalid_buffer_id")
        public static let emptyBatch = Code("empty_batch")
        public static let batchTooLarge = Code("batch_too_large")
        public static let invalidSeq = Code("invalid_seq")
        public static let duplicateSeq = Code("duplicate_seq")
        public static let timestampOutOfRange = Code("timestamp_out_of_range")
        public static let invalidMetric = Code("invalid_metric")
        public static let nonFiniteValue = Code("non_finite_value")
        public static let invalidRange = Code("invalid_range")
        public static let tooManyRanges = Code("too_many_ranges")
        public static let invalidCommandID = Code("invalid_command_id")
        public static let invalidCommandName = Code("invalid_command_name")
        public static let invalidStatus = Code("invalid_status")
        public static let invalidEventKind = Code("invalid_event_kind")
        public static let fieldTooLong = Code("field_too_long")
        public static let nestingTooDeep = Code("nesting_too_deep")
        public static let inconsistentResult = Code("inconsistent_result")
        public static let invalidTopic = Code("invalid_topic")
        /// A string holds `\u0000` or a lone surrogate: text PostgreSQL cannot store.
        public static let invalidText = Code("invalid_text")
    }

    public let code: Code
    public let context: String

    public init(_ code: Code, _ context: String) {
        self.code = code
        self.context = context
    }

    public var description: String { "\(code): \(context)" }

    public static func == (lhs: WireError, rhs: WireError) -> Bool { lhs.code == rhs.code }
}
