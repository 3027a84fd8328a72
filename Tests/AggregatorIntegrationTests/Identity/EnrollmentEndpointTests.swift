import Crypto
import Foundation
import OutpostAgent
import OutpostAggregator
import OutpostSupport
import OutpostWire
import Testing
import TestHarness
import X509

@Suite("Enrollment and renewal over HTTPS with PostgreSQL", .serialized, .timeLimit(.minutes(4)))
struct EnrollmentEndpointTests {
    @Test("outpost-agent enroll writes key 0600, certificate, CA and config; the certificate verifies")
    func enrollWritesEverything() async throws {
        let fixture = try await IdentityFixture()
        do {
            try await fixture.startHTTP()
            let token = try await fixture.makeToken(device: "meter-0001")
            let configDirectory = fixture.directory.file("device")
            let enrollment = Enrollment(server: fixture.serverURL, token: token.printed, configDirectory: configDirectory)
            let response = try await enrollment.run()
            #expect(response.deviceId == "meter-0001")
            #expect(response.broker == .init(host: "127.0.0.1", port: 8883))
            #expect(try fileMode(configDirectory + "/device.key") == 0o600)
            #expect(try fileMode(configDirectory + "/ca.pem") == 0o644)
            #expect(try fileMode(configDirectory + "/device.pem") == 0o644)
            let verified = try await runTool(locateTool("openssl"), ["verify", "-CAfile", configDirectory + "/ca.pem", configDirectory + "/device.pem"])
            #expect(verified.contains(": OK"))
            let loaded = try ConfigLoader(environment: [:]).load(AgentConfiguration.self, path: configDirectory + "/agent.json")
            #expect(loaded.deviceID.rawValue == "meter-0001")
            #expect(loaded.mqtt.certFile == configDirectory + "/device.pem")
            #expect(loaded.enrollment?.serverUrl == fixture.serverURL)
            let issued = try Certificate(pemEncoded: String(contentsOfFile: configDirectory + "/device.pem", encoding: .utf8))
            #expect(abs(issued.notValidAfter.timeIntervalSinceNow - 30 * 86_400) < 60)
            #expect(try issued.extensions.extendedKeyUsage == ExtendedKeyUsage([.clientAuth]))
            #expect(try await fixture.postgres.psql("SELECT serial FROM certificates WHERE device_id = 'meter-0001'") == response.serial)
            #expect(try await fixture.postgres.psql("SELECT used_serial FROM enrollment_tokens") == response.serial)

            // Running it again with the used token fails cleanly and leaves the enrollment intact.
            let keyBefore = try String(contentsOfFile: configDirectory + "/device.key", encoding: .utf8)
            let again = await #expect(throws: EnrollmentError.self) { try await enrollment.run() }
            #expect(again?.serverCode == "token_used")
            #expect(try String(contentsOfFile: configDirectory + "/device.key", encoding: .utf8) == keyBefore)
            #expect(fixture.logs.leaks([token.printed, Base64URL.encode(token.secret.value), keyBefore]).isEmpty)
        } catch {
            await fixture.stop()
            throw error
        }
        await fixture.stop()
    }

    @Test("two concurrent enrollments with one token: exactly one succeeds")
    func concurrentEnrollments() async throws {
        let fixture = try await IdentityFixture()
        do {
            try await fixture.startHTTP()
            for round in 0..<3 {
                let device = "race-\(round)"
                let token = try await fixture.makeToken(device: device)
                let results = await withTaskGroup(of: Result<CertificateResponse, EnrollmentError>.self) { group in
                    for attempt in 0..<2 {
                        group.addTask {
                            do throws(EnrollmentError) {
                                return .success(try await Enrollment(server: fixture.serverURL, token: token.printed,
                                                                     configDirectory: fixture.directory.file("race-\(round)-\(attempt)")).run())
                            } catch {
                                return .failure(error)
                            }
                        }
                    }
                    return await group.reduce(into: []) { $0.append($1) }
                }
                let successes = results.compactMap { try? $0.get() }
                let failures = results.compactMap { if case .failure(let error) = $0 { error } else { nil } }
                #expect(successes.count == 1)
                #expect(failures.map { $0.serverCode } == ["token_used"])
                #expect(try await fixture.certificateCount(device: device) == 1)
            }
        } catch {
            await fixture.stop()
            throw error
        }
        await fixture.stop()
    }

    @Test("the token is consumed by one UPDATE: of two enrollments racing past every check, exactly one commits")
    func consumptionRace() async throws {
        let fixture = try await IdentityFixture()
        do {
            for round in 0..<5 {
                let device = "consume-\(round)"
                let token = try await fixture.makeToken(device: device)
                let hash = EnrollmentService.tokenHash(token)
                let outcomes = await withTaskGroup(of: String.self) { group in
                    for attempt in 0..<2 {
                        group.addTask {
                            let record = CertificatesStore.CertificateRecord(
                                serial: String(format: "%02x%02x", round, attempt) + "ab", subject: device, deviceID: device, purpose: "device",
                                notAfter: Date().addingTimeInterval(3600))
                            do {
                                try await fixture.enrollmentTokens.consumeToken(hash: hash, certificate: record, notBefore: Date())
                                return "ok"
                            } catch let error as IdentityError {
                                return error.code.rawValue
                            } catch {
                                return "\(error)"
                            }
                        }
                    }
                    return await group.reduce(into: []) { $0.append($1) }.sorted()
                }
                #expect(outcomes == ["ok", "token_used"])
                #expect(try await fixture.certificateCount(device: device) == 1)
            }
        } catch {
            await fixture.stop()
            throw error
        }
        await fixture.stop()
    }

    @Test("expired token, used token, another device's CSR and a broken CSR signature are refused and nothing is issued")
    func refusals() async throws {
        let fixture = try await IdentityFixture()
        do {
            try await fixture.startHTTP()
            let client = ConfigEndpointClient(server: fixture.serverURL)
            let caPEM = try await client.fetchCertificateAuthority(expecting: fixture.authority.fingerprint)
            func enroll(_ token: EnrollmentToken, csrFor device: String, breakSignature: Bool = false) async throws -> String? {
                var csr = try DeviceCredentials.signingRequest(device: DeviceID(device)!, key: DeviceCredentials.makeKey())
                if breakSignature { csr = try brokenSignature(csr) }
                do {
                    _ = try await client.enroll(EnrollRequest(token: token.printed, csr: csr), trusting: caPEM)
                    return nil
                } catch {
                    return error.serverCode
                }
            }
            let expired = try await fixture.makeToken(device: "meter-exp", ttl: -5)
            #expect(try await enroll(expired, csrFor: "meter-exp") == "token_expired")

            let used = try await fixture.makeToken(device: "meter-used")
            #expect(try await enroll(used, csrFor: "meter-used") == nil)
            #expect(try await enroll(used, csrFor: "meter-used") == "token_used")
            #expect(try await fixture.certificateCount(device: "meter-used") == 1)

            let mismatch = try await fixture.makeToken(device: "meter-mine")
            #expect(try await enroll(mismatch, csrFor: "meter-other") == "subject_mismatch")
            #expect(try await enroll(mismatch, csrFor: "meter-mine", breakSignature: true) == "bad_csr_signature")
            let forged = EnrollmentToken(device: DeviceID("meter-mine")!, secret: Array(repeating: 7, count: 32),
                                         caFingerprint: fixture.authority.fingerprint)
            #expect(try await enroll(forged, csrFor: "meter-mine") == "invalid_token")
            #expect(try await fixture.certificateCount(device: "meter-exp") == 0)
            #expect(try await fixture.certificateCount(device: "meter-mine") == 0)
            #expect(try await fixture.certificateCount(device: "meter-other") == 0)
            #expect(try await fixture.postgres.psql("SELECT used_at IS NULL FROM enrollment_tokens t WHERE device_id = 'meter-mine'") == "t")
            // The refused token still works for the right CSR.
            #expect(try await enroll(mismatch, csrFor: "meter-mine") == nil)

            // A CA with another fingerprint is not trusted.
            let otherCA = try CertificateAuthority.initialize(directory: fixture.directory.file("other-ca"))
            let wrong = await #expect(throws: EnrollmentError.self) {
                _ = try await client.fetchCertificateAuthority(expecting: otherCA.fingerprint)
            }
            #expect(wrong?.code == .fingerprintMismatch)
            let unreachable = await #expect(throws: EnrollmentError.self) {
                _ = try await ConfigEndpointClient(server: "https://127.0.0.1:\(try FreePort.next())")
                    .fetchCertificateAuthority(expecting: otherCA.fingerprint)
            }
            #expect(unreachable?.code == .unreachable)
        } catch {
            await fixture.stop()
            throw error
        }
        await fixture.stop()
    }

    @Test("renewal over mutual TLS issues a new certificate for the same id; no certificate or a revoked device is refused")
    func renewal() async throws {
        let fixture = try await IdentityFixture()
        do {
            try await fixture.startHTTP()
            let token = try await fixture.makeToken(device: "meter-renew")
            let configDirectory = fixture.directory.file("device")
            // Enrolled with a key readable by a group (0640); renewal keeps mode and group.
            let group = getgrnam("nogroup")?.pointee.gr_gid ?? getgid()
            let enrolled = try await Enrollment(server: fixture.serverURL, token: token.printed, configDirectory: configDirectory,
                                                keyGroup: group).run()
            let configuration = try ConfigLoader(environment: [:]).load(AgentConfiguration.self, path: configDirectory + "/agent.json")
            let renewer = try #require(CertificateRenewer(configuration: configuration, logger: fixture.logs.logger("agent.renewer")))
            let credentials = renewer.credentials
            #expect(try fileMode(credentials.keyFile) == 0o640)
            let renewed = try await renewer.renewOnce()
            #expect(renewed.serial != enrolled.serial)
            #expect(try credentials.currentCertificate().serialNumber.hex == renewed.serial)
            #expect(try fileMode(credentials.keyFile) == 0o640)
            #expect(DeviceCredentials.readingGroup(of: credentials.keyFile) == group)
            #expect(try await fixture.certificateCount(device: "meter-renew") == 2)

            // The client certificate is found over both HTTP versions: over HTTP/1.1 the TLS
            // handler is on the request's own channel, over HTTP/2 on the stream's connection.
            for (option, version) in [("--http1.1", "1.1"), ("--http2", "2")] {
                let csr = try DeviceCredentials.signingRequest(device: DeviceID("meter-renew")!, key: DeviceCredentials.makeKey())
                let body = String(decoding: try JSONEncoder().encode(RenewRequest(csr: csr)), as: UTF8.self)
                let output = try await runTool(try locateTool("curl"), [
                    "-sS", "--max-time", "10", option, "--cacert", credentials.caFile, "--cert", credentials.certificateFile,
                    "--key", credentials.keyFile, "-H", "content-type: application/json", "--data-binary", body,
                    "-w", "\n%{http_code} %{http_version}", fixture.serverURL + "/api/v1/renew",
                ])
                #expect(output.split(separator: "\n").last == "200 \(version)", "\(option): \(output.suffix(400))")
            }
            #expect(try await fixture.certificateCount(device: "meter-renew") == 4)

            let client = ConfigEndpointClient(server: fixture.serverURL)
            let caPEM = Array(FileManager.default.contents(atPath: credentials.caFile)!)
            let csr = try DeviceCredentials.signingRequest(device: DeviceID("meter-renew")!, key: DeviceCredentials.makeKey())
            let anonymous = await #expect(throws: EnrollmentError.self) {
                _ = try await client.post(RenewRequest(csr: csr), caPEM: caPEM)
            }
            #expect(anonymous?.serverCode == "client_certificate_required")
            let otherCSR = try DeviceCredentials.signingRequest(device: DeviceID("meter-else")!, key: DeviceCredentials.makeKey())
            let mismatch = await #expect(throws: EnrollmentError.self) {
                _ = try await client.renew(RenewRequest(csr: otherCSR), trusting: caPEM, certificateFile: credentials.certificateFile,
                                           keyFile: credentials.keyFile)
            }
            #expect(mismatch?.serverCode == "subject_mismatch")

            _ = try await fixture.certificates.revokeDevice("meter-renew")
            let revoked = await #expect(throws: EnrollmentError.self) { _ = try await renewer.renewOnce() }
            #expect(revoked?.serverCode == "revoked")
            #expect(try await fixture.certificateCount(device: "meter-renew") == 4)
        } catch {
            await fixture.stop()
            throw error
        }
        await fixture.stop()
    }
}

extension ConfigEndpointClient {
    /// A renew request without a client certificate.
    func post(_ request: RenewRequest, caPEM: [UInt8]) async throws -> CertificateResponse {
        try await renew(request, trusting: caPEM, certificateFile: "", keyFile: "")
    }
}

@Suite("Identity schema", .serialized, .timeLimit(.minutes(2)))
struct IdentitySchemaTests {
    @Test("deleting a device revokes its certificates instead of dropping them from the CRL")
    func deletingADeviceRevokes() async throws {
        let fixture = try await IdentityFixture()
        do {
            let token = try await fixture.makeToken(device: "meter-gone")
            try await fixture.enrollmentTokens.consumeToken(
                hash: EnrollmentService.tokenHash(token),
                certificate: .init(serial: "0a0b0c", subject: "meter-gone", deviceID: "meter-gone", purpose: "device",
                                   notAfter: Date().addingTimeInterval(3600)),
                notBefore: Date())
            #expect(try await fixture.certificates.revokedCertificates().isEmpty)
            try await fixture.postgres.psql("DELETE FROM devices WHERE id = 'meter-gone'")
            #expect(try await fixture.certificates.revokedCertificates().map(\.serial) == ["0a0b0c"])
            #expect(try await fixture.postgres.psql("SELECT count(*) FROM enrollment_tokens") == "0")
        } catch {
            await fixture.stop()
            throw error
        }
        await fixture.stop()
    }
}
