import OutpostSupport
import OutpostWire

/// A command as stored in `commands`.
public struct CommandRecord: Sendable, Equatable, Codable {
    /// queued → sent → succeeded | failed | expired.
    public enum Status: String, Sendable, Codable, CaseIterable {
        case queued, sent, succeeded, failed, expired

        public var isFinal: Bool { self == .succeeded || self == .failed || self == .expired }
    }

    public var id: String
    public var device: DeviceID
    public var name: String
    public var args: JSONValue
    public var status: Status
    public var createdBy: String
    /// UTC ms.
    public var createdAt: Int64
    public var expiresAt: Int64
    public var sentAt: Int64?
    public var finishedAt: Int64?
    public var output: JSONValue?
    public var errorCode: String?
    public var errorMessage: String?

    /// The message an agent receives.
    public var wireCommand: Command { Command(id: id, name: name, args: args, expiresAt: expiresAt) }

    /// The status a result moves a command to: `succeeded` when ok, `expired` when the
    /// agent refused it as expired, `failed` otherwise.
    public static func status(after result: CommandResult) -> Status {
        if result.ok { return .succeeded }
        return result.error?.code == CommandResult.Failure.expired ? .expired : .failed
    }

    /// A fresh command id: `c-` and 24 random hex digits.
    public static func newID() -> String {
        var generator = SystemRandomNumberGenerator()
        let high = generator.next() as UInt64, low = generator.next() as UInt32
        func hex<T: BinaryInteger>(_ value: T, _ width: Int) -> String {
            let digits = String(value, radix: 16)
            return String(repeating: "0", count: width - digits.count) + digits
        }
        return "c-" + hex(high, 16) + hex(low, 8)
    }
}
