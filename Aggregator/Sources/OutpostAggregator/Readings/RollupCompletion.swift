import Synchronization

/// Whether the hourly rollup `reading_hours` (migration 0170) holds every stored reading. It
/// only ever becomes true: once the backfill's list is empty nothing adds to it again, so a
/// process asks the database until it sees the list empty and never after.
final class RollupCompletion: Sendable {
    private let complete = Atomic<Bool>(false)

    var isComplete: Bool { complete.load(ordering: .acquiring) }

    func markComplete() { complete.store(true, ordering: .releasing) }
}
