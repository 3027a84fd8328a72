import AsyncHTTPClient
import Foundation
import NIOCore
import OutpostAgent
import OutpostAggregator
import OutpostSupport
import Testing
import TestHarness

/// The admin API over the whole system: real agents, the real broker with its CRL, the
/// aggregator as `serve` wires it. Every response and every live event is checked against
/// the served OpenAPI document.
@Suite("Admin API end to end with real agents and broker", .serialized, .timeLimit(.minutes(4)))
struct FleetEndToEndTests {
    @Test("live events: a real agent goes online, and after its kill -9 the offline event arrives within seconds")
    func offlineAfterKill() async throws {
        try await FleetFixture.with { fleet in
            let viewer = try await fleet.apiKey(.viewer)
            let path = "/api/v1/events?device=meter-live"
            let stream = try await fleet.api.open(path, token: viewer)
            #expect(stream.reply.status == 200)
            let events = EventStreamReader(stream.stream, path: path, validator: fleet.api.validator)
            defer { events.cancel() }

            let agent = try await fleet.startAgent("meter-live")
            let online = try await events.first(timeout: .seconds(60), "meter-live online") { $0.data["status"] == "online" }
            #expect(online.type == "device.status" && online.data["device"] == "meter-live")
            let seen = events.events.count

            let killedAt = Date()
            let killed = ContinuousClock.now
            #expect(kill(agent.pid, SIGKILL) == 0)
            let offline = try await events.first(after: seen, timeout: .seconds(15), "meter-live offline after kill -9") {
                $0.data["status"] == "offline"
            }
            let delay = offline.receivedAt - killed
            #expect(offline.type == "device.status")
            #expect(offline.data["device"] == "meter-live")
            let at = try #require(offline.data["at"]?.stringValue.flatMap(Self.parseDate))
            // `at` is when the aggregator received the broker's last will: after the kill, well within the delay.
            #expect(at.timeIntervalSince(killedAt) > -1 && at.timeIntervalSince(killedAt) < 15, "at \(at), killed \(killedAt)")
            #expect(delay < .seconds(15))
            #expect(events.events.dropFirst(seen).allSatisfy { $0.data["status"] != "online" }, "no online flap after the kill")
            #expect(events.nonconforming.isEmpty, "events off the OpenAPI document: \(events.nonconforming)")

            let device = try await fleet.api.send(.GET, "/api/v1/devices/meter-live", token: viewer)
            #expect(device.json["status"] == "offline")
            #expect(device.json["statusChangedAt"].flatMap { $0.stringValue }.flatMap(Self.parseDate).map { abs($0.timeIntervalSince(at)) < 0.01 }
                    == true)
            let willReceived = at.timeIntervalSince(killedAt)
            print("""
                live events after kill -9: offline event \(delay) after the kill \
                (last will received by the aggregator \(Int(willReceived * 1_000)) ms after the kill; \
                state messages written within \(PresenceService.stateLinger), then NOTIFY)
                """)
        }
    }

    @Test("decommission revokes for real: the live session ends, the certificate is refused, the CRL lists it, the audit log has it")
    func decommissionRevokes() async throws {
        try await FleetFixture.with { fleet in
            let admin = try await fleet.apiKey(.admin)
            let stream = try await fleet.api.open("/api/v1/events", token: admin)
            let events = EventStreamReader(stream.stream, path: "/api/v1/events", validator: fleet.api.validator)
            defer { events.cancel() }
            _ = try await fleet.startAgent("meter-gone")
            _ = try await events.first(timeout: .seconds(60), "meter-gone online") { $0.data["device"] == "meter-gone" && $0.data["status"] == "online" }
            let serial = try await fleet.broker.identity.postgres.psql(
                "SELECT serial FROM certificates WHERE device_id = 'meter-gone' AND purpose = 'device' AND revoked_at IS NULL")
            #expect(!serial.isEmpty && !serial.contains("\n"), "one live device certificate: \(serial)")
            // The agent reports the certificate it connected with in its state message; the API shows it.
            try await waitUntil(timeout: .seconds(30), "meter-gone reports its certificate") {
                try await fleet.api.send(.GET, "/api/v1/devices/meter-gone", token: admin).json["certificateInUse"]?.stringValue == serial
            }
            let shown = try await fleet.api.send(.GET, "/api/v1/devices/meter-gone", token: admin)
            let inUseExpiry = try #require(shown.json["certificateInUseExpiresAt"]?.stringValue.flatMap(Self.parseDate), "\(shown.text)")
            let issuedExpiry = try #require(shown.json["certificateExpiresAt"]?.stringValue.flatMap(Self.parseDate), "\(shown.text)")
            #expect(abs(inUseExpiry.timeIntervalSince(issuedExpiry)) < 1, "the certificate the centre issued: \(shown.text)")

            let asked = ContinuousClock.now
            let reply = try await fleet.api.send(.POST, "/api/v1/devices/meter-gone/decommission", token: admin)
            #expect(reply.status == 200, "\(reply.text)")
            print("decommission of a live device answered in \(ContinuousClock.now - asked)")
            #expect(reply.json["status"] == "decommissioned")
            #expect(reply.json["certificateExpiresAt"] == .null, "no unrevoked certificate is left")
            _ = try await events.first(timeout: .seconds(15), "decommissioned event") {
                $0.data["device"] == "meter-gone" && $0.data["status"] == "decommissioned"
            }

            // The CRL the broker reads lists the serial.
            let crl = try await runTool("/usr/bin/openssl", ["crl", "-in", fleet.configuration.crlFile, "-noout", "-text"])
            #expect(crl.uppercased().contains("SERIAL NUMBER: \(serial.uppercased())"), "\(crl)")
            // The agent's live session was taken over and closed.
            #expect(fleet.broker.process.log.contains("Client meter-gone already connected, closing old connection"))

            // The device's certificate can no longer connect.
            let enrolled = try ConfigLoader(environment: [:]).load(
                AgentConfiguration.self, path: fleet.broker.identity.directory.file("device-meter-gone/agent.json"))
            let retry = try WatchedClient(enrolled.mqtt, clientID: "meter-gone", logger: fleet.broker.identity.logs.logger("retry"))
            var failure: (any Error)?
            do {
                try await waitUntil(timeout: .seconds(20), "the revoked certificate refused twice") {
                    retry.recorded.filter { if case .connectionFailed = $0 { true } else { false } }.count >= 2
                }
            } catch {
                failure = error
            }
            await retry.shutdown()
            if let failure { throw failure }
            #expect(!retry.recorded.contains { if case .connected = $0 { true } else { false } })
            #expect(fleet.broker.process.log.contains("certificate revoked") || fleet.broker.process.log.contains("certificate verify failed"))

            // The audit log says who did it and what was revoked.
            let audit = try await fleet.api.send(.GET, "/api/v1/audit?action=device.decommission", token: admin)
            #expect(audit.json["items"]?[0]?["target"] == "device:meter-gone")
            #expect(audit.json["items"]?[0]?["details"]?["serials"]?.stringValue == serial)
            #expect(audit.json["items"]?[0]?["details"]?["session_ended"] == "true")
            #expect(audit.json["items"]?[0]?["details"]?["actorKind"] == "api_key")
            #expect(events.nonconforming.isEmpty, "events off the OpenAPI document: \(events.nonconforming)")
        }
    }

    @Test("/metrics of the aggregator as serve wires it exports API refusals and config endpoint requests once they happen")
    func refusalsExported() async throws {
        try await FleetFixture.with { fleet in
            func scrape() async throws -> String {
                var request = HTTPClientRequest(url: "https://127.0.0.1:\(fleet.configuration.http.port)/metrics")
                request.method = .GET
                let response = try await fleet.http.execute(request, timeout: .seconds(30))
                #expect(response.status == .ok)
                return String(buffer: try await response.body.collect(upTo: 1 << 22))
            }
            let before = try await scrape()
            #expect(metricValue(before, "outpost_api_errors_total", ["code": "unauthenticated"]) == nil)
            let viewer = try await fleet.apiKey(.viewer)
            #expect(try await fleet.api.send(.GET, "/api/v1/users").status == 401)
            #expect(try await fleet.api.send(.GET, "/api/v1/users", token: viewer).status == 403)
            #expect(try await fleet.api.send(.GET, "/api/v1/users", token: viewer).status == 403)
            #expect(try await fleet.api.send(.DELETE, "/api/v1/devices", token: viewer).status == 405)
            var ca = HTTPClientRequest(url: "https://127.0.0.1:\(fleet.configuration.http.port)/api/v1/ca")
            ca.method = .GET
            #expect(try await fleet.http.execute(ca, timeout: .seconds(30)).status == .ok)
            let after = try await scrape()
            #expect(metricValue(after, "outpost_api_errors_total", ["code": "unauthenticated"]) == 1)
            #expect(metricValue(after, "outpost_api_errors_total", ["code": "forbidden"]) == 2)
            #expect(metricValue(after, "outpost_api_errors_total", ["code": "method_not_allowed"]) == 1)
            #expect(metricValue(after, "outpost_identity_requests_total", ["operation": "ca", "outcome": "served"]) == 1)
        }
    }

    /// RFC 3339 with any number of fraction digits (PostgreSQL's JSON gives microseconds, the API milliseconds).
    static func parseDate(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        guard let dot = text.firstIndex(of: ".") else { return formatter.date(from: text) }
        let digits = text[text.index(after: dot)...].prefix { $0.isNumber }
        let zone = text[text.index(after: dot)...].dropFirst(digits.count)
        guard let whole = formatter.date(from: String(text[..<dot]) + zone), let fraction = Double("0." + digits) else { return nil }
        return whole.addingTimeInterval(fraction)
    }
}
