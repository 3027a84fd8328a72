import Foundation
import Logging
import OutpostAggregator
import ServiceLifecycle
import Testing
import TestHarness

@Suite("The CRL is re-issued before it lapses", .serialized, .timeLimit(.minutes(3)))
struct CRLRefreshTests {
    /// A configuration whose CRL lives `validity` seconds, checked every second.
    static func revocation(_ fixture: IdentityFixture, broker: HangupIgnoringProcess, validity: Int) -> (Revocation, AggregatorConfiguration) {
        var configuration = fixture.configuration
        configuration.identity.crlValiditySeconds = validity
        configuration.identity.crlCheckIntervalSeconds = 1
        configuration.identity.brokerDir = fixture.directory.file("crl-broker")
        configuration.identity.brokerPidFile = broker.pidFile
        return (Revocation(configuration: configuration, authority: fixture.authority, store: fixture.certificates,
                           logger: fixture.logs.logger("aggregator.crl")), configuration)
    }

    static func published(_ revocation: Revocation) -> (thisUpdate: Date, nextUpdate: Date)? {
        (try? String(contentsOfFile: revocation.crlFile, encoding: .utf8)).flatMap(CertificateRevocationList.validity(pem:))
    }

    @Test("the service re-issues at start and whenever less than half the validity is left, so the CRL never lapses; it stops on shutdown")
    func keepsFresh() async throws {
        let fixture = try await IdentityFixture()
        let broker = try HangupIgnoringProcess(directory: fixture.directory.path)
        do {
            try FileManager.default.createDirectory(atPath: fixture.directory.file("crl-broker"), withIntermediateDirectories: true)
            let (revocation, configuration) = Self.revocation(fixture, broker: broker, validity: 6)
            // A CRL with 2 s left of a 6 s validity: due at once.
            let (stale, _) = Self.revocation(fixture, broker: broker, validity: 2)
            try await stale.publishCRL()
            let staleNext = try #require(Self.published(revocation)?.nextUpdate)

            var logger = Logger(label: "test.crl")
            logger.logLevel = .warning
            let services = (0..<2).map { _ in
                CRLRefreshService(revocation: revocation, interval: .seconds(configuration.identity.crlCheckIntervalSeconds), logger: logger)
            }
            let group = ServiceGroup(configuration: .init(services: services.map { .init(service: $0) }, logger: logger))
            let running = Task { try await group.run() }
            try await waitUntil(timeout: .seconds(20), "re-issued at start") { Self.published(revocation).map { $0.nextUpdate > staleNext } ?? false }
            let first = try #require(Self.published(revocation))
            #expect(first.nextUpdate.timeIntervalSince(first.thisUpdate) == 6, "the configured validity")

            // Watch 10 s: the CRL is never past its nextUpdate, and it is re-issued every ~3-4 s, not twice as often.
            let startNumber = Int(try await fixture.postgres.psql("SELECT last_value FROM crl_number")) ?? -1
            var issued: Set<Date> = [first.thisUpdate]
            var lapsed = 0
            let end = ContinuousClock.now + .seconds(10)
            while ContinuousClock.now < end {
                if let current = Self.published(revocation) {
                    issued.insert(current.thisUpdate)
                    if current.nextUpdate <= Date() { lapsed += 1 }
                }
                try await Task.sleep(for: .milliseconds(100))
            }
            let publications = (Int(try await fixture.postgres.psql("SELECT last_value FROM crl_number")) ?? -1) - startNumber
            #expect(lapsed == 0)
            #expect(issued.count >= 3, "re-issued at least twice in 10 s: \(issued.sorted())")
            #expect((2...5).contains(publications), "two services, one re-issue per half validity: \(publications)")

            let stopping = ContinuousClock.now
            await group.triggerGracefulShutdown()
            try await running.value
            #expect(ContinuousClock.now - stopping < .seconds(5))
            print("CRL refresh: \(publications) re-issues in 10 s with a 6 s validity and two services")
        } catch {
            await broker.stop()
            await fixture.stop()
            throw error
        }
        await broker.stop()
        await fixture.stop()
    }

    @Test("two aggregators refreshing a due CRL at once: exactly one re-issues")
    func oneOfTwo() async throws {
        let fixture = try await IdentityFixture()
        let broker = try HangupIgnoringProcess(directory: fixture.directory.path)
        do {
            try FileManager.default.createDirectory(atPath: fixture.directory.file("crl-broker"), withIntermediateDirectories: true)
            let (first, _) = Self.revocation(fixture, broker: broker, validity: 3_600)
            let (second, _) = Self.revocation(fixture, broker: broker, validity: 3_600)
            let (stale, _) = Self.revocation(fixture, broker: broker, validity: 60)
            for round in 1...5 {
                try await stale.publishCRL()
                let before = Int(try await fixture.postgres.psql("SELECT last_value FROM crl_number")) ?? -1
                async let a = first.refreshCRLIfDue()
                async let b = second.refreshCRLIfDue()
                let results = try await [a, b]
                let after = Int(try await fixture.postgres.psql("SELECT last_value FROM crl_number")) ?? -1
                #expect(results.filter { $0 }.count == 1, "round \(round): \(results)")
                #expect(after - before == 1, "round \(round)")
                #expect(try await first.refreshCRLIfDue() == false, "fresh now")
            }
            let validity = try #require(Self.published(first))
            #expect(validity.nextUpdate.timeIntervalSince(validity.thisUpdate) == 3_600)
        } catch {
            await broker.stop()
            await fixture.stop()
            throw error
        }
        await broker.stop()
        await fixture.stop()
    }
}
