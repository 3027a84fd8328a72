import AsyncHTTPClient
import Foundation
import NIOHTTP1
import NIOSSL
import OutpostAgent
import OutpostAggregator
import OutpostWire
import Testing
import TestHarness

@Suite("Config endpoint rate limit", .serialized, .timeLimit(.minutes(3)))
struct ConfigEndpointLimitTests {
    @Test("each source address gets identity.config_requests_per_minute over enroll, renew and ca; then 429 with Retry-After, counted")
    func limited() async throws {
        let fixture = try await IdentityFixture()
        fixture.configuration.identity.configRequestsPerMinute = 5
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .file(fixture.caFile)
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
        do {
            // startHTTP fetches the CA once: one of the five.
            try await fixture.startHTTP()
            func get(_ path: String, method: HTTPMethod = .GET) async throws -> HTTPClientResponse {
                var request = HTTPClientRequest(url: fixture.serverURL + path)
                request.method = method
                let response = try await http.execute(request, timeout: .seconds(30))
                _ = try await response.body.collect(upTo: 1 << 20)
                return response
            }
            var statuses: [UInt] = []
            for _ in 0..<5 { statuses.append(try await get("/api/v1/ca").status.code) }
            #expect(statuses == [200, 200, 200, 200, 429])
            let limited = try await get("/api/v1/ca")
            #expect(limited.status == .tooManyRequests)
            #expect((Int(limited.headers.first(name: "Retry-After") ?? "") ?? 0) >= 1)

            let token = try await fixture.makeToken(device: "meter-flood")
            let csr = try DeviceCredentials.signingRequest(device: DeviceID("meter-flood")!, key: DeviceCredentials.makeKey())
            let caPEM = Array(try String(contentsOfFile: fixture.caFile, encoding: .utf8).utf8)
            let refused = await #expect(throws: EnrollmentError.self) {
                _ = try await ConfigEndpointClient(server: fixture.serverURL).enroll(EnrollRequest(token: token.printed, csr: csr), trusting: caPEM)
            }
            #expect(refused?.serverCode == "rate_limited")
            #expect(try await fixture.certificateCount(device: "meter-flood") == 0)

            let wrongMethod = try await get("/api/v1/enroll")
            #expect(wrongMethod.status == .methodNotAllowed)
            #expect(wrongMethod.headers.first(name: "Allow") == "POST")

            let text = fixture.metrics.render()
            #expect(metricValue(text, "outpost_identity_requests_total", ["operation": "ca", "outcome": "served"]) == 5)
            #expect(metricValue(text, "outpost_identity_requests_total", ["operation": "ca", "outcome": "rate_limited"]) == 2)
            #expect(metricValue(text, "outpost_identity_requests_total", ["operation": "enroll", "outcome": "rate_limited"]) == 1)
            #expect(metricValue(text, "outpost_api_errors_total", ["code": "method_not_allowed"]) == 1)
        } catch {
            try? await http.shutdown()
            await fixture.stop()
            throw error
        }
        try await http.shutdown()
        await fixture.stop()
    }
}
