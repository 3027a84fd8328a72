import Testing
@testable import OutpostAgent

@Suite("Exec output parsing and certificate expiry (pure)")
struct ExecParsingTests {
    @Test("metric value lines: good lines kept, bad lines counted, comments skipped")
    func lines() {
        let output = Array("# header\npower_w 12.5\n\nbogus\nTemp 3\nfan_rpm nan\nvoltage_v\t230.1\nextra 1 2\n".utf8)
        let parsed = ExecSource.parse(output, nowMs: 1_700_000_000_000, prefix: "ups")
        #expect(parsed.samples.map(\.metric) == ["ups.power_w", "ups.voltage_v"])
        #expect(parsed.samples.map(\.value) == [12.5, 230.1])
        #expect(parsed.rejected == 4)
    }

    @Test("a JSON object: numeric members kept, the rest counted; broken JSON is one rejection")
    func json() {
        let parsed = ExecSource.parse(Array(#"{"b_w": 2, "a_v": 1.5, "name": "x", "Bad": 1}"#.utf8), nowMs: 1)
        #expect(parsed.samples.map(\.metric) == ["a_v", "b_w"])
        #expect(parsed.rejected == 2)
        #expect(ExecSource.parse(Array("{ not json".utf8), nowMs: 1) == SourceOutput(samples: [], rejected: 1))
        #expect(ExecSource.parse([0xff, 0xfe, 0x00, 0x0a], nowMs: 1).rejected == 1)
    }

    @Test("UTCTime and GeneralizedTime decode to epoch ms")
    func certificateTimes() {
        #expect(CertificateExpiry.parseTime(tag: 0x17, Array("261122153000Z".utf8)) == 1_795_361_400_000)
        #expect(CertificateExpiry.parseTime(tag: 0x18, Array("20500101000000Z".utf8)) == 2_524_608_000_000)
        #expect(CertificateExpiry.parseTime(tag: 0x17, Array("2611221530Z".utf8)) == nil)
        #expect(CertificateExpiry.notAfterMs(pem: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----") == nil)
    }
}
