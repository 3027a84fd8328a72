import OutpostSupport

/// Why a wire payload was refused.
///
/// The `code` is stable: it is what tests assert, what metrics label, and what an
/// operator greps for. The `context` is for humans and may change. Equality compares
/// the code only.
public typealias WireError = CodedError<WireErrorCode>

/// The stable codes of ``WireError``.
public enum WireErrorCode: String, ErrorCode {
    case payloadTooLarge = "payload_too_large"
    case malformedJSON = "malformed_json"
    case missingField = "missing_field"
    case wrongType = "wrong_type"
    case unsupportedVersion = "unsupported_version"
    case invalidDeviceID = "invalid_device_id"
    case deviceMismatch = "device_mismatch"
    case invalidBufferID = "invalid_buffer_id"
    case emptyBatch = "empty_batch"
    case batchTooLarge = "batch_too_large"
    case invalidSeq = "invalid_seq"
    case duplicateSeq = "duplicate_seq"
    case timestampOutOfRange = "timestamp_out_of_range"
    case invalidMetric = "invalid_metric"
    case nonFiniteValue = "non_finite_value"
    case invalidRange = "invalid_range"
    case tooManyRanges = "too_many_ranges"
    /// An ack's `pressure` is a number outside 0...1.
    case invalidPressure = "invalid_pressure"
    case invalidCommandID = "invalid_command_id"
    case invalidCommandName = "invalid_command_name"
    case invalidStatus = "invalid_status"
    case invalidEventKind = "invalid_event_kind"
    case fieldTooLong = "field_too_long"
    case nestingTooDeep = "nesting_too_deep"
    case inconsistentResult = "inconsistent_result"
    case invalidTopic = "invalid_topic"
    /// A string holds `\u0000` or a lone surrogate: text PostgreSQL cannot store.
    case invalidText = "invalid_text"
}

extension WireError {
    /// Wraps this error so a `Decoder` reports it with its coding path; ``WireCodec`` unwraps it again.
    func decoding(at decoder: any Decoder) -> DecodingError {
        .dataCorrupted(DecodingError.Context(codingPath: decoder.codingPath, debugDescription: context, underlyingError: self))
    }
}
