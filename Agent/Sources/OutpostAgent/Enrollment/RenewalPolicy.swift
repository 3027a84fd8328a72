#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// When to renew a certificate, as a value: at `fraction` of its lifetime (two thirds by
/// default), moved by up to ±`jitter` of the lifetime so a fleet enrolled together does not
/// renew together; after a failure, retry with exponential backoff, never waiting past a
/// tenth of the time left (so several attempts fit before expiry).
public struct RenewalPolicy: Sendable, Equatable {
    /// Defaults to 2/3.
    public var fraction: Double
    /// Defaults to 0.05 (±5% of the lifetime).
    public var jitter: Double
    /// Defaults to 5 s.
    public var minimumRetry: Duration
    /// Defaults to 10 minutes.
    public var maximumRetry: Duration

    public init(fraction: Double = 2.0 / 3.0, jitter: Double = 0.05, minimumRetry: Duration = .seconds(5),
                maximumRetry: Duration = .seconds(600)) {
        self.fraction = fraction
        self.jitter = jitter
        self.minimumRetry = minimumRetry
        self.maximumRetry = maximumRetry
    }

    /// The moment to renew a certificate valid from `notBefore` to `notAfter`.
    /// - Parameter random: a number in -1...1 (uniform in production), scaling the jitter.
    public func renewalDate(notBefore: Date, notAfter: Date, random: Double) -> Date {
        let lifetime = notAfter.timeIntervalSince(notBefore)
        let offset = lifetime * (fraction + jitter * max(-1, min(1, random)))
        return notBefore.addingTimeInterval(max(0, min(lifetime, offset)))
    }

    /// How long to wait before attempt `attempt` (1 after the first failure).
    public func retryDelay(attempt: Int, now: Date, notAfter: Date) -> Duration {
        let exponential = Double(minimumRetry.components.seconds) * pow(2, Double(max(0, attempt - 1)))
        let capped = min(exponential, Double(maximumRetry.components.seconds))
        let remaining = notAfter.timeIntervalSince(now)
        let bounded = remaining > 0 ? min(capped, max(1, remaining / 10)) : capped
        return .milliseconds(Int64(bounded * 1000))
    }
}
