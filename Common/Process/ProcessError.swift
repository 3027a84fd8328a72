#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A child that could not be started, with a stable code and the C library's `errno`.
public struct ProcessError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        private init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// `posix_spawn` refused (no such executable, no permission, no memory).
        public static let spawnFailed = Code("spawn_failed")
        /// The pipe for the child's output could not be made.
        public static let pipeFailed = Code("pipe_failed")
        /// The child must start without this process's descriptors, and this C library cannot do that.
        public static let closeFromUnavailable = Code("close_from_unavailable")
    }

    public let code: Code
    /// The `errno` (or `posix_spawn` result) behind the failure.
    public let errorNumber: Int32

    public init(_ code: Code, errorNumber: Int32) {
        self.code = code
        self.errorNumber = errorNumber
    }

    /// `strerror` of ``errorNumber``.
    public var reason: String { String(cString: strerror(errorNumber)) }

    public var description: String { "\(code): \(reason)" }
}
