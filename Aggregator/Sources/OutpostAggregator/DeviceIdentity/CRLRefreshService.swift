import Foundation
import Logging
import ServiceLifecycle

/// Keeps the broker's CRL from lapsing: at start and every `interval`, re-issues and
/// publishes it through ``Revocation/refreshCRLIfDue(now:)`` once less than half of its
/// validity is left. mosquitto refuses every client once the CRL's nextUpdate passes, so
/// without this an untouched fleet would lock itself out after `crl_validity_seconds`.
///
/// Safe with several aggregators: the re-issue happens under the CRL publication lock (a
/// PostgreSQL advisory lock) with the check repeated inside it. A failed check (database
/// down, broker not running) is logged and retried at the next tick. Stops on graceful
/// shutdown (SIGTERM).
public struct CRLRefreshService: Service {
    let revocation: Revocation
    let interval: Duration
    /// Checked once the migrations ran (the CRL number is a sequence); nil checks at once.
    let readiness: SchemaReadiness?
    let logger: Logger

    public init(revocation: Revocation, interval: Duration, readiness: SchemaReadiness? = nil, logger: Logger) {
        self.revocation = revocation
        self.interval = interval
        self.readiness = readiness
        self.logger = logger
    }

    public func run() async throws {
        if let readiness {
            do { try await readiness.wait() } catch { return }
        }
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await check()
                try? await Task.sleep(for: interval)
            }
        }
    }

    /// One check; whether the CRL was re-issued.
    @discardableResult
    func check() async -> Bool {
        guard FileManager.default.fileExists(atPath: revocation.crlFile) else {
            // No broker-config output here: this aggregator does not publish the broker's CRL.
            logger.debug("no CRL to keep fresh", metadata: ["crl_file": "\(revocation.crlFile)"])
            return false
        }
        do {
            return try await revocation.refreshCRLIfDue()
        } catch {
            logger.warning("CRL refresh failed; retrying at the next check",
                           metadata: ["crl_file": "\(revocation.crlFile)", "error": "\(error)"])
            return false
        }
    }
}
