import Foundation
import OutpostSupport
import PostgresNIO
import Synchronization
import TestHarness
import Testing
@testable import OutpostAggregator

@Suite("Admin API readings and commands", .serialized, .timeLimit(.minutes(8)))
struct ReadingsAPITests {
    static let devices = 100
    static let minutes = 30 * 24 * 60
    /// 2026-01-01T00:00:00Z, a whole hour, so the 30 days are exactly 720 hourly buckets.
    static let start = Date(timeIntervalSince1970: 1_767_225_600)

    @Test("1h buckets over 30 days × 100 devices of per-minute data equal a direct SQL computation")
    func hourlyAggregatesAtScale() async throws {
        try await APITestEnvironment.with { env in
            let loadStarted = ContinuousClock.now
            try await env.psql("""
                INSERT INTO devices (id) SELECT 'meter-' || lpad(d::text, 3, '0') FROM generate_series(1, \(Self.devices)) d;
                INSERT INTO readings (device, buffer, seq, ts, metric, value)
                SELECT 'meter-' || lpad(d::text, 3, '0'), 7, m, '2026-01-01T00:00:00Z'::timestamptz + m * interval '1 minute', 'power_w',
                       round((sin(m / 97.0 + d) * 1000 + d * 3)::numeric, 3)::float8
                FROM generate_series(1, \(Self.devices)) d, generate_series(0, \(Self.minutes - 1)) m;
                ANALYZE readings
                """)
            let loadTime = ContinuousClock.now - loadStarted
            #expect(try await env.psql("SELECT count(*) FROM readings") == "\(Self.devices * Self.minutes)")

            var expected: [String: [(Double, Double, Double, Double, Int64)]] = [:]
            let rows = try await env.client.query(
                """
                SELECT device, extract(epoch FROM date_trunc('hour', ts))::float8, avg(value), min(value), max(value), count(*)
                FROM readings WHERE metric = 'power_w' GROUP BY device, 2 ORDER BY device, 2
                """)
            for try await (device, hour, avg, min, max, count) in rows.decode((String, Double, Double, Double, Double, Int64).self) {
                expected[device, default: []].append((hour, avg, min, max, count))
            }
            #expect(expected.count == Self.devices)

            let viewer = try await env.createAPIKey(role: .viewer)
            var serverTime: Duration = .zero
            var compared = 0
            var mismatches: [String] = []
            for device in expected.keys.sorted() {
                let sent = ContinuousClock.now
                let reply = try await env.send(
                    .GET, "/api/v1/devices/\(device)/readings?metric=power_w&bucket=1h&from=2026-01-01T00:00:00Z&to=2026-01-31T00:00:00Z",
                    token: viewer)
                serverTime += ContinuousClock.now - sent
                guard case .array(let items)? = reply.json["items"], reply.json["nextCursor"] == .null else {
                    Issue.record("\(device): \(reply.status) \(reply.text.prefix(300))")
                    continue
                }
                let want = expected[device]!
                if items.count != 720 || want.count != 720 { mismatches.append("\(device): \(items.count) buckets, SQL \(want.count)") }
                for (item, row) in zip(items, want) {
                    let avg = item["avg"]?.doubleValue ?? .nan
                    if item["start"]?.stringValue != APIJSON.timestamp(Date(timeIntervalSince1970: row.0)) || !(abs(avg - row.1) <= 1e-9 * max(1, abs(row.1))) || item["min"]?.doubleValue != row.2
                        || item["max"]?.doubleValue != row.3 || item["count"]?.intValue != Int(row.4)
                    {
                        mismatches.append("\(device) \(item) vs \(row)")
                    }
                    compared += 1
                }
            }
            #expect(mismatches.isEmpty, "\(mismatches.prefix(5))")
            #expect(compared == Self.devices * 720)
            let store = ReadingsStore(primary: env.client, logger: env.logger)
            let query = try ReadingsQuery(["metric": "power_w", "bucket": "1h", "from": "2026-01-01T00:00:00Z", "to": "2026-01-31T00:00:00Z"])
            let storeStarted = ContinuousClock.now
            for device in expected.keys.sorted() { #expect(try await store.buckets(device: device, query).0.count == 720) }
            let storeTime = ContinuousClock.now - storeStarted
            print("readings scale: the store's 100 hourly queries alone took \(storeTime)")
            print("readings scale: loaded \(Self.devices * Self.minutes) rows in \(loadTime); 100 hourly queries (720 buckets each) took \(serverTime) in all, round trips included")

            let export = try await env.send(
                .GET, "/api/v1/devices/meter-001/readings/export?metric=power_w&from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z&format=csv",
                token: viewer)
            let lines = export.text.split(separator: "\n")
            #expect(export.headers.first(name: "Content-Type")?.hasPrefix("text/csv") == true)
            #expect(lines.count == Self.minutes + 1)
            #expect(lines.first == "ts,device,metric,value,buffer,seq")
            #expect(lines.dropFirst().first?.hasPrefix("2026-01-01T00:00:00.000Z,meter-001,power_w,") == true)
            let ndjson = try await env.send(
                .GET, "/api/v1/devices/meter-002/readings/export?from=2026-01-30T23:00:00Z&to=2026-01-31T00:00:00Z", token: viewer)
            let records = ndjson.text.split(separator: "\n").map { try? JSONDecoder().decode([String: JSONValue].self, from: Data($0.utf8)) }
            #expect(records.count == 60)
            #expect(records.allSatisfy { $0?["device"] == "meter-002" && $0?["value"]?.doubleValue != nil })
        }
    }

    @Test("a year of one device's per-minute data (525,600 rows) exports as a stream over HTTP/1.1 and HTTP/2: the server's memory stays flat")
    func exportOfAYearStreams() async throws {
        try await APITestEnvironment.with { env in
            try await env.psql("""
                INSERT INTO devices (id) VALUES ('meter-year');
                INSERT INTO readings (device, buffer, seq, ts, metric, value)
                SELECT 'meter-year', 11, m + 1, '2025-01-01T00:00:00Z'::timestamptz + m * interval '1 minute', 'power_w', m / 8.0
                FROM generate_series(0, 525599) m;
                ANALYZE readings
                """)
            let viewer = try await env.createAPIKey(role: .viewer)
            // The client is curl in a process of its own, so this process's memory is the
            // server's alone; over HTTP/1.1 and over HTTP/2 (flow-controlled per stream).
            let scratch = try TemporaryDirectory()
            defer { scratch.remove() }
            let output = scratch.file("export.csv")
            for (option, version) in [("--http1.1", "1.1"), ("--http2", "2")] {
                let before = Self.residentBytes()
                let finished = Mutex(false)
                let export = Task {
                    defer { finished.withLock { $0 = true } }
                    return try await runTool(try locateTool("curl"), [
                        "-sS", "--max-time", "120", option, "--cacert", env.caFile, "-H", "authorization: Bearer \(viewer)",
                        "-o", output, "-w", "%{http_code} %{http_version}",
                        env.apiClient.baseURL + "/api/v1/devices/meter-year/readings/export?from=2025-01-01T00:00:00Z&to=2026-01-01T00:00:00Z&format=csv",
                    ])
                }
                var peak = before
                for _ in 0..<1_200 where !finished.withLock({ $0 }) {
                    peak = max(peak, Self.residentBytes())
                    try await Task.sleep(for: .milliseconds(100))
                }
                let answer = try await export.value
                peak = max(peak, Self.residentBytes())
                #expect(answer == "200 \(version)", "\(option)")
                let bytes = try Data(contentsOf: URL(fileURLWithPath: output))
                let lines = bytes.reduce(0) { $0 + ($1 == UInt8(ascii: "\n") ? 1 : 0) }
                #expect(lines == 1 + 525_600, "\(option)")
                #expect(bytes.count > 20 << 20, "\(option): only \(bytes.count) bytes exported")
                // Buffering the export anywhere in the server would grow it by at least the
                // body's size (about 30 MiB of text, more as rows).
                #expect(peak - before < 16 << 20,
                        "\(option): resident memory grew by \((peak - before) >> 20) MiB while exporting \(bytes.count >> 20) MiB")
                print("export over HTTP/\(version): \(lines - 1) rows, \(bytes.count >> 20) MiB; server memory \(before >> 20) → peak \(peak >> 20) MiB")
            }
        }
    }

    /// This process's resident set, from /proc/self/statm.
    static func residentBytes() -> Int {
        guard let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = statm.split(separator: " ")
        return fields.count > 1 ? (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE))) : 0
    }

    @Test("raw pages, 1m and 1d buckets, latest, refusals; commands send, list and get")
    func rawLatestAndCommands() async throws {
        try await APITestEnvironment.with { env in
            try await env.psql("""
                INSERT INTO devices (id) VALUES ('m1'), ('m2');
                INSERT INTO readings (device, buffer, seq, ts, metric, value)
                SELECT 'm1', 1, s, '2026-03-01T00:00:00Z'::timestamptz + s * interval '20 seconds', 'voltage_v', s FROM generate_series(1, 25) s;
                INSERT INTO readings (device, buffer, seq, ts, metric, value) VALUES
                  ('m1', 2, 1, '2026-03-01T00:00:20Z', 'voltage_v', 100),
                  ('m1', 1, 100, '2026-03-02T00:00:00Z', 'temp_c', 21.5)
                """)
            let viewer = try await env.createAPIKey(role: .viewer)
            let range = "from=2026-03-01T00:00:00Z&to=2026-03-01T01:00:00Z"
            var values: [Double] = []
            var cursor: String?
            var pages = 0
            repeat {
                let reply = try await env.send(.GET, "/api/v1/devices/m1/readings?metric=voltage_v&\(range)&limit=10"
                                                   + (cursor.map { "&cursor=\($0)" } ?? ""), token: viewer)
                guard case .array(let items)? = reply.json["items"] else { break }
                values += items.compactMap { $0["value"]?.doubleValue }
                cursor = reply.json["nextCursor"]?.stringValue
                pages += 1
            } while cursor != nil && pages < 10
            #expect(values == [1, 100] + (2...25).map(Double.init), "ordered by ts, then buffer and seq; nothing lost or repeated")
            #expect(pages == 3)

            let minutes = try await env.send(.GET, "/api/v1/devices/m1/readings?metric=voltage_v&\(range)&bucket=1m", token: viewer)
            guard case .array(let buckets)? = minutes.json["items"] else { Issue.record("\(minutes.text)"); return }
            #expect(buckets.count == 9)
            #expect(buckets[0]["count"] == 3)
            #expect(buckets[0]["min"] == 1)
            #expect(buckets[0]["max"] == 100)
            #expect(buckets[1]["count"] == 3)
            #expect(buckets[1]["min"] == 3)
            #expect(buckets[1]["max"] == 5)
            let pagedBuckets = try await env.send(.GET, "/api/v1/devices/m1/readings?metric=voltage_v&\(range)&bucket=1m&limit=5", token: viewer)
            #expect(pagedBuckets.json["items"].map { if case .array(let a) = $0 { a.count } else { 0 } } == 5)
            #expect(pagedBuckets.json["nextCursor"]?.stringValue != nil)
            let days = try await env.send(.GET, "/api/v1/devices/m1/readings?metric=voltage_v&from=2026-02-28T12:00:00Z&to=2026-03-03T00:00:00Z&bucket=1d",
                                          token: viewer)
            #expect(days.json["items"]?[0]?["count"] == 26)
            #expect(days.json["items"]?[0]?["start"] == "2026-03-01T00:00:00.000Z")

            let latest = try await env.send(.GET, "/api/v1/devices/m1/readings/latest", token: viewer)
            #expect(latest.json["items"]?[0]?["metric"] == "temp_c")
            #expect(latest.json["items"]?[0]?["value"] == 21.5)
            #expect(latest.json["items"]?[1]?["value"] == 25)

            for (query, status, code) in [
                ("metric=power_w&\(range)", 404, "unknown_metric"),
                ("metric=Voltage'--&\(range)", 400, "invalid_parameter"),
                ("\(range)", 400, "invalid_parameter"),
                ("metric=voltage_v&\(range)&bucket=5m", 400, "invalid_parameter"),
                ("metric=voltage_v&\(range)&limit=10001", 400, "invalid_parameter"),
                ("metric=voltage_v&from=yesterday", 400, "invalid_parameter"),
                ("metric=voltage_v&from=2026-02-30T00:00:00Z", 400, "invalid_parameter"),
                ("metric=voltage_v&from=2026-03-01T00:00:00%2B0100", 400, "invalid_parameter"),
                ("metric=voltage_v&\(range)&cursor=bm90LWEtY3Vyc29y", 400, "invalid_cursor"),
                ("metric=voltage_v&\(range)&bucket=1h&cursor=eyJrIjp7InQiOjF9fQ", 400, "invalid_cursor"),
                ("metric=voltage_v&\(range)&cursor=1.00000000000000zz.1", 400, "invalid_cursor"),
            ] {
                let reply = try await env.send(.GET, "/api/v1/devices/m1/readings?\(query)", token: viewer)
                #expect(reply.status == status, "\(query): \(reply.text)")
                #expect(reply.errorCode == code, "\(query)")
            }
            // A 40-digit fraction is RFC 3339 (read to the microsecond). ICU's formatter, which
            // parsed query timestamps before, died of a division by zero on it, and the aggregator with it.
            let fraction = String(repeating: "9", count: 40)
            let precise = try await env.send(.GET, "/api/v1/devices/m1/readings?metric=voltage_v&from=2026-03-01T00:00:00.\(fraction)Z&to=2026-03-02T00:00:00Z",
                                             token: viewer)
            #expect(precise.status == 200, "\(precise.text)")
            // An empty or inverted range is an empty page, and any span is allowed: each page's work is bounded by limit.
            for query in ["from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z", "from=2026-03-01T00:00:00Z&to=2026-03-01T00:00:00Z"] {
                let empty = try await env.send(.GET, "/api/v1/devices/m1/readings?metric=voltage_v&\(query)", token: viewer)
                #expect(empty.status == 200, "\(query): \(empty.text)")
                #expect(empty.json["items"] == .array([]))
                #expect(empty.json["nextCursor"] == .null)
            }
            let long = try await env.send(.GET, "/api/v1/devices/m1/readings?metric=voltage_v&from=2020-01-01T00:00:00Z&to=2026-03-02T00:00:00Z&bucket=1d&limit=10",
                                          token: viewer)
            #expect(long.status == 200)
            #expect(long.json["nextCursor"]?.stringValue == "\(Int64(1_577_836_800 + 10 * 86_400) * 1_000_000)", "bucket pages resume at a time")
            #expect(try await env.send(.GET, "/api/v1/devices/ghost/readings?metric=voltage_v", token: viewer).status == 404)
            #expect(try await env.send(.GET, "/api/v1/devices/m1/readings/export", token: viewer).errorCode == "invalid_parameter")

            let operatorKey = try await env.createAPIKey(role: .operator)
            var sent: [String] = []
            for name in ["ping", "collect_now", "set_interval"] {
                let reply = try await env.send(.POST, "/api/v1/devices/m2/commands", token: operatorKey,
                                               json: .object(["name": .string(name), "args": name == "set_interval" ? ["seconds": 30] : [:]]))
                #expect(reply.status == 201)
                #expect(reply.json["status"] == "queued")
                sent.append(reply.json["id"]!.stringValue!)
            }
            #expect(try await env.send(.POST, "/api/v1/devices/m2/commands", token: operatorKey, json: ["name": "rm_rf"]).errorCode
                    == "validation_failed")
            #expect(try await env.send(.POST, "/api/v1/devices/m2/commands", token: operatorKey, json: ["name": "ping", "status": "succeeded"])
                    .errorCode == "read_only_field")
            #expect(try await env.send(.POST, "/api/v1/devices/m2/commands", token: operatorKey, json: ["name": "ping", "ttlSeconds": 0])
                    .errorCode == "validation_failed")
            let one = try await env.send(.GET, "/api/v1/commands/\(sent[2])", token: viewer)
            #expect(one.json["args"]?["seconds"] == 30)
            #expect(one.json["createdBy"]?.stringValue == String(operatorKey.split(separator: "_")[1]))
            var listed: [String] = []
            cursor = nil
            pages = 0
            repeat {
                let reply = try await env.send(.GET, "/api/v1/devices/m2/commands?limit=2" + (cursor.map { "&cursor=\($0)" } ?? ""), token: viewer)
                guard case .array(let items)? = reply.json["items"] else { break }
                listed += items.compactMap { $0["id"]?.stringValue }
                cursor = reply.json["nextCursor"]?.stringValue
                pages += 1
            } while cursor != nil && pages < 5
            #expect(listed == sent.reversed())
            #expect(try await env.psql("SELECT count(*) FROM audit_log WHERE action = 'command.send' AND target = 'device:m2'") == "3")
            try await env.psql("UPDATE devices SET decommissioned_at = now() WHERE id = 'm2'")
            #expect(try await env.send(.POST, "/api/v1/devices/m2/commands", token: operatorKey, json: ["name": "ping"]).status == 409)
        }
    }
}
