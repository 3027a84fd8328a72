import Logging
import ServiceLifecycle

/// Many services run as one: each in its own child task, so a graceful shutdown reaches
/// all of them at the same moment (a ``ServiceGroup`` stops its services one after the
/// other, which for hundreds of devices would take far longer than the 10 s promise).
/// ``FleetSimulator`` puts every device's publishers in one of these, their committers in
/// another and their schedulers in a third, so the group still stops capture first,
/// then commits, then disconnects.
///
/// A child that throws ends the whole set with that error.
struct ConcurrentServices: Service, CustomStringConvertible {
    let name: String
    let services: [any Service]

    var description: String { "\(name) (\(services.count))" }

    func run() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for service in services {
                group.addTask { try await service.run() }
            }
            try await group.waitForAll()
        }
    }
}
