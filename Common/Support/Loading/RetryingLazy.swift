import Synchronization

/// A value made on first use and kept from its first success. A failure is not kept: the next
/// use tries again. The agent opens its C libraries (libcurl, libsrtp2) this way, so a package
/// installed after the agent started is used without a restart.
public final class RetryingLazy<Value: Sendable, Failure: Error>: Sendable {
    private let value = Mutex<Value?>(nil)
    private let make: @Sendable () -> Result<Value, Failure>

    public init(_ make: @escaping @Sendable () -> Result<Value, Failure>) {
        self.make = make
    }

    /// The kept value, or the outcome of one more attempt; attempts never overlap.
    public func get() throws(Failure) -> Value {
        try value.withLock { value throws(Failure) -> Value in
            if let value { return value }
            let made = try make().get()
            value = made
            return made
        }
    }
}
