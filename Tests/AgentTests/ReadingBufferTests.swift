import Foundation
import Logging
import Testing
import TestHarness
@testable import OutpostAgent
@testable import OutpostWire

/// The buffer against real SQLite files in a temporary directory.
@Suite("Reading buffer on a real SQLite file", .serialized, .timeLimit(.minutes(2)))
struct ReadingBufferTests {
    static func samples(_ count: Int, metric: String = "power_w", from start: Int = 0) -> [Sample] {
        (0..<count).map { Sample(ts: 1_700_000_000_000 + Int64(start + $0), metric: metric, value: Double(start + $0)) }
    }

    static func withDirectory(_ body: (TemporaryDirectory) throws -> Void) throws {
        let directory = try TemporaryDirectory(prefix: "outpost-buffer")
        defer { directory.remove() }
        try body(directory)
    }

    @Test("seq starts at 1, survives reopening with the same buffer id, and is never reused after deletes")
    func seqNeverReused() throws {
        try Self.withDirectory { directory in
            let path = directory.file("buffer.db")
            let capacity = BufferCapacity(maxRows: 1_000, maxBytes: 1 << 30)
            let first = try ReadingStore.open(path: path, capacity: capacity).store
            let id = first.bufferID
            try first.append(Self.samples(10))
            #expect(try first.readings(after: 0, limit: 100).map(\.seq) == Array(1...10))
            #expect(try first.delete([SeqRange(6, 10)]) == 5)
            let reopened = try ReadingStore.open(path: path, capacity: capacity).store
            #expect(reopened.bufferID == id)
            #expect(reopened.rows == 5 && reopened.lastSeq == 10)
            try reopened.append(Self.samples(3))
            #expect(try reopened.readings(after: 0, limit: 100).map(\.seq) == [1, 2, 3, 4, 5, 11, 12, 13])
            let values = try reopened.readings(in: SeqRange(11, 13), limit: 10)
            #expect(values.map(\.value) == [0, 1, 2] && values.allSatisfy { $0.metric == "power_w" })
        }
    }

    @Test("acks delete exactly the named ranges, in any order, and repeated acks delete nothing")
    func ackRanges() throws {
        try Self.withDirectory { directory in
            let store = try ReadingStore.open(path: directory.file("b.db"), capacity: BufferCapacity(maxRows: 1_000, maxBytes: 1 << 30)).store
            try store.append(Self.samples(100))
            #expect(try store.delete([SeqRange(90, 100), SeqRange(1, 10)]) == 21)
            #expect(try store.delete([SeqRange(1, 10)]) == 0)
            #expect(try store.delete([SeqRange(50, 50), SeqRange(200, 300)]) == 1)
            let stats = try store.stats()
            #expect(stats.depth == 78)
            #expect(stats.bytes == 78 * BufferCapacity.estimatedBytes(metric: "power_w"))
            #expect(stats.oldestTs == 1_700_000_000_010)
        }
    }

    @Test("over the row cap the oldest go, the drop count is exact, and it persists")
    func rowCapDropsOldest() throws {
        try Self.withDirectory { directory in
            let path = directory.file("cap.db")
            let capacity = BufferCapacity(maxRows: 1_000, maxBytes: 1 << 30)
            let store = try ReadingStore.open(path: path, capacity: capacity).store
            var dropped: Int64 = 0
            for chunk in 0..<25 { dropped += try store.append(Self.samples(400, from: chunk * 400)) }
            #expect(dropped == 9_000)
            #expect(store.dropped == 9_000)
            let remaining = try store.readings(after: 0, limit: 2_000)
            #expect(remaining.map(\.seq) == Array(9_001...10_000))
            let reopened = try ReadingStore.open(path: path, capacity: capacity).store
            #expect(try reopened.stats().dropped == 9_000)
            #expect(try reopened.stats().depth == 1_000)
        }
    }

    @Test("over the byte cap the oldest go until the estimate fits")
    func byteCapDropsOldest() throws {
        try Self.withDirectory { directory in
            let perRow = BufferCapacity.estimatedBytes(metric: "energy_wh")
            let capacity = BufferCapacity(maxRows: 1_000_000, maxBytes: perRow * 300)
            let store = try ReadingStore.open(path: directory.file("bytes.db"), capacity: capacity).store
            try store.append(Self.samples(1_000, metric: "energy_wh"))
            let stats = try store.stats()
            #expect(stats.bytes <= capacity.maxBytes)
            #expect(stats.depth == 300)
            #expect(stats.dropped == 700)
            #expect(try store.readings(after: 0, limit: 1).first?.seq == 701)
        }
    }

    @Test("a damaged file is moved aside and a fresh buffer with a new id is opened")
    func corruptFileMovedAside() throws {
        try Self.withDirectory { directory in
            let path = directory.file("buffer.db")
            let capacity = BufferCapacity(maxRows: 100_000, maxBytes: 1 << 30)
            let original: BufferID
            do {
                let store = try ReadingStore.open(path: path, capacity: capacity).store
                original = store.bufferID
                try store.append(Self.samples(5_000))
                store.checkpoint()
            }
            // Overwrite a stretch of pages in the middle of the file.
            let handle = try #require(FileHandle(forWritingAtPath: path))
            try handle.seek(toOffset: 8_192)
            handle.write(Data(repeating: 0xA5, count: 16_384))
            try handle.close()
            let (store, recovery) = try ReadingStore.open(path: path, capacity: capacity)
            let moved = try #require(recovery)
            #expect(moved.movedTo.hasPrefix(path + ".corrupt-"))
            #expect(FileManager.default.fileExists(atPath: moved.movedTo))
            #expect(store.bufferID != original)
            #expect(store.rows == 0 && store.lastSeq == 0)
            try store.append(Self.samples(1))
            #expect(try store.readings(after: 0, limit: 10).map(\.seq) == [1])

            try Data("this is not a database at all, just text".utf8).write(to: URL(fileURLWithPath: directory.file("text.db")))
            #expect(try ReadingStore.open(path: directory.file("text.db"), capacity: capacity).recovery != nil)
        }
    }

    @Test("a new file is auto_vacuum=INCREMENTAL; deleting acked readings gives the pages back and the file shrinks")
    func incrementalVacuum() async throws {
        let directory = try TemporaryDirectory(prefix: "outpost-buffer")
        defer { directory.remove() }
        let path = directory.file("buffer.db")
        let store = try ReadingStore.open(path: path, capacity: BufferCapacity(maxRows: 1_000_000, maxBytes: 1 << 30)).store
        #expect(try await runTool("/usr/bin/sqlite3", [path, "PRAGMA auto_vacuum"]).trimmingCharacters(in: .whitespacesAndNewlines) == "2")
        for start in stride(from: 0, to: 60_000, by: 10_000) { try store.append(Self.samples(10_000, from: start)) }
        store.checkpoint()
        let full = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        #expect(try store.delete([SeqRange(1, 59_000)]) == 59_000)
        #expect(try store.freePageCount() <= ReadingStore.vacuumThresholdPages)
        store.checkpoint()
        let after = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        #expect(after < full / 4, "file \(full) bytes full, \(after) after deleting 59,000 of 60,000 readings")
        #expect(try store.readings(after: 0, limit: 10).first?.seq == 59_001)
        print("buffer vacuum: \(full) bytes with 60,000 readings, \(after) bytes after the ack of 59,000")
    }

    @Test("damaged files moved aside are removed once older than the retention; recent ones and other files stay")
    func corruptFilesExpire() throws {
        try Self.withDirectory { directory in
            let now: Int64 = 1_800_000_000
            let old = now - 31 * 86_400, recent = now - 2 * 86_400
            let names = ["buffer.db.corrupt-\(old)", "buffer.db.corrupt-\(old)-wal", "buffer.db.corrupt-\(recent)",
                         "other.db.corrupt-\(old)", "buffer.db.corrupt-notanumber", "buffer.db"]
            for name in names { try Data("x".utf8).write(to: URL(fileURLWithPath: directory.file(name))) }
            let removed = ReadingStore.removeCorruptFiles(of: directory.file("buffer.db"), olderThan: .seconds(30 * 86_400), now: now)
            #expect(removed == [directory.file("buffer.db.corrupt-\(old)"), directory.file("buffer.db.corrupt-\(old)-wal")])
            let left = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
            #expect(left == ["buffer.db", "buffer.db.corrupt-\(recent)", "buffer.db.corrupt-notanumber", "other.db.corrupt-\(old)"])
        }
    }

    @Test("group commit: samples become durable by size or by the commit clock, and close flushes the rest")
    func groupCommit() async throws {
        let directory = try TemporaryDirectory(prefix: "outpost-buffer")
        defer { directory.remove() }
        let buffer = try ReadingBuffer(
            configuration: .init(path: directory.file("g.db"), capacity: BufferCapacity(maxRows: 10_000, maxBytes: 1 << 30), commitRows: 100),
            logger: Logger(label: "test.buffer"))
        await buffer.add(Self.samples(99))
        #expect(await buffer.stats().depth == 0)
        #expect(await buffer.pendingCount == 99)
        await buffer.add(Self.samples(1))
        #expect(await buffer.stats().depth == 100)
        await buffer.add(Self.samples(7))
        await buffer.close()
        #expect(await buffer.stats().depth == 107)
        #expect(await buffer.pendingCount == 0)
    }
}

extension ReadingBufferTests {
    @Test("samples the wire would refuse are counted and kept out of the buffer")
    func refusesUnsendableSamples() async throws {
        let directory = try TemporaryDirectory(prefix: "outpost-buffer")
        defer { directory.remove() }
        let buffer = try ReadingBuffer(
            configuration: .init(path: directory.file("r.db"), capacity: BufferCapacity(maxRows: 100, maxBytes: 1 << 30)),
            logger: Logger(label: "test.buffer"))
        await buffer.add([
            Sample(ts: 1_700_000_000_000, metric: "power_w", value: 1),
            Sample(ts: 1_700_000_000_000, metric: "power_w", value: .nan),
            Sample(ts: 86_400_000, metric: "power_w", value: 2),
            Sample(ts: 1_700_000_000_000, metric: "Bad Name", value: 3),
        ])
        await buffer.close()
        #expect(await buffer.refused == 3)
        #expect(try await buffer.readings(after: 0, limit: 10).map(\.value) == [1])
    }
}
