import OutpostWire

/// The `reason` label of `outpost_ingest_rejected_total`: a ``WireError`` code for a
/// payload the codec refused, or one of these for what only the centre can judge.
public enum RejectionReason {
    /// No `devices` row for the device (never enrolled, or deleted).
    public static let unknownDevice = "unknown_device"
    /// The device's `revoked_at` is set.
    public static let revokedDevice = "revoked_device"
    /// A topic outside `outpost/v1/{device}/{kind}`, or a kind the centre does not consume.
    public static let invalidTopic = WireError.Code.invalidTopic.rawValue
    /// A command result for a command that is unknown, belongs to another device, or is already finished.
    public static let unknownCommand = "unknown_command"

    /// The `kind` label of a topic kind: its name with `/` as `_` (`cmd_result`).
    public static func kind(_ kind: Topic.Kind) -> String { kind.rawValue.replacing("/", with: "_") }

    /// The label for a codec refusal: its stable code.
    public static func wire(_ error: WireError) -> String { error.code.rawValue }
}
