/// The stable codes of one error domain: a `String`-raw enum whose raw values are the codes
/// that tests assert, metrics label and operators grep for.
public protocol ErrorCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible where RawValue == String {}

extension ErrorCode {
    public var description: String { rawValue }
}

/// An error of one domain: a stable ``code`` and a ``context`` for humans that may change.
///
/// Each domain names its specialisation, e.g. `typealias WireError = CodedError<WireErrorCode>`.
/// Equality compares the code only, so tests can write `#expect(throws: WireError(.emptyBatch, ""))`.
public struct CodedError<Codes: ErrorCode>: Error, Sendable, Equatable, CustomStringConvertible {
    /// Named so call sites can write `WireError.Code`.
    public typealias Code = Codes

    public let code: Code
    public let context: String

    public init(_ code: Code, _ context: String) {
        self.code = code
        self.context = context
    }

    /// `code: context`, as logs and API answers show it.
    public var description: String { "\(code): \(context)" }

    public static func == (lhs: CodedError, rhs: CodedError) -> Bool { lhs.code == rhs.code }
}
