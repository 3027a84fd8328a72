import Logging
import OutpostWire
import Testing
@testable import OutpostAggregator

/// The live-event relay's pieces without a server: each notification's SSE frame, and the
/// batch that lets one write carry the events of a moment.
@Suite("Live-event frames and batches (pure)")
struct LiveEventRelayTests {
    let logger = Logger(label: "test.events")

    @Test("a frame names the payload's type and carries the payload as it came; the device filter reads its device")
    func frames() {
        let status = #"{"type" : "device.status", "id" : 7, "device" : "meter-1", "status" : "online", "at" : "2026-12-07T08:00:00.1+00:00"}"#
        #expect(AdminAPI.frame(status, filter: nil, logger: logger) == "event: device.status\ndata: \(status)\n\n")
        #expect(AdminAPI.frame(status, filter: "meter-1", logger: logger) == "event: device.status\ndata: \(status)\n\n")
        #expect(AdminAPI.frame(status, filter: "meter-2", logger: logger) == nil)
        let command = #"{"type":"command.status","device":"meter-2","command":"c1","status":"succeeded"}"#
        #expect(AdminAPI.frame(command, filter: nil, logger: logger) == "event: command.status\ndata: \(command)\n\n")
        #expect(AdminAPI.frame(command, filter: "meter-1", logger: logger) == nil)
        #expect(AdminAPI.frame(EventFeed.heartbeat, filter: "meter-1", logger: logger) == ": keep-alive\n\n")
        // A device event's `data` may nest as deep as the wire allows it (16), one level down.
        let deep = String(repeating: #"{"a":"#, count: WireLimits.standard.maxNestingDepth - 1) + "1" + String(repeating: "}", count: WireLimits.standard.maxNestingDepth - 1)
        let event = #"{"type":"device.event","device":"meter-1","id":3,"kind":"alarm","data":{"x":"# + deep + #"},"truncated":false}"#
        #expect(AdminAPI.frame(event, filter: "meter-1", logger: logger) == "event: device.event\ndata: \(event)\n\n")
    }

    @Test("dropped: not JSON, not an object, no type, a line break that would forge SSE fields")
    func dropped() {
        for payload in ["not json", #"["device.status"]"#, #"{"device":"meter-1"}"#, #"{"type":7}"#, #"{"type":""}"#,
                        "{\"type\":\"device.status\"}\ndata: forged", "{\"type\":\"device.status\",\n\"device\":\"meter-1\"}",
                        "{\"type\":\"device.status\",\r\"device\":\"meter-1\"}", #"{"type":"a\nid: 9"}"#, #"{"type":"a\u0000"}"#,
                        #"{"type":"device.status","device":"meter-1""#] {
            #expect(AdminAPI.frame(payload, filter: nil, logger: logger) == nil, "\(payload)")
        }
    }

    @Test("a batch hands over everything added since the last take, oldest first, and keeps only the newest past its capacity")
    func batch() async {
        let batch = LiveEventBatch(capacity: 3)
        batch.add("a")
        batch.add("b")
        var rings = batch.ready.makeAsyncIterator()
        #expect(await rings.next() != nil)
        #expect(batch.take() == ["a", "b"])
        #expect(batch.take() == [])
        for payload in ["c", "d", "e", "f", "g"] { batch.add(payload) }
        #expect(batch.take() == ["e", "f", "g"])
        for payload in (0..<20).map(String.init) { batch.add(payload) }
        #expect(batch.take() == ["17", "18", "19"])
        batch.finish()
        // The ring left by the adds after the first take, then the end.
        #expect(await rings.next() != nil)
        #expect(await rings.next() == nil)
    }
}
