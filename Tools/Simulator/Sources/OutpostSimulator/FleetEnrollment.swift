#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import OutpostWire
import OutpostAgent
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Enrolls the simulated devices through the real config endpoint (``Enrollment``), a few
/// at a time. A device whose directory already holds `agent.json` and `device.pem` is
/// enrolled already: its token is not used again, so a killed simulator restarts with
/// the same command line.
public struct FleetEnrollment: Sendable {
    public var server: String
    public var stateDirectory: String
    /// Enrollments in flight at once. Defaults to 8.
    public var concurrency: Int
    let logger: Logger

    public init(server: String, stateDirectory: String, concurrency: Int = 8, logger: Logger) {
        self.server = server
        self.stateDirectory = stateDirectory
        self.concurrency = max(1, concurrency)
        self.logger = logger
    }

    /// What ``enroll(_:)`` did.
    public struct Outcome: Sendable, Equatable {
        public var enrolled: [DeviceID] = []
        public var alreadyEnrolled: [DeviceID] = []
    }

    public func directory(of device: DeviceID) -> String { stateDirectory + "/" + device.rawValue }

    public func isEnrolled(_ device: DeviceID) -> Bool {
        let directory = directory(of: device)
        return FileManager.default.fileExists(atPath: directory + "/agent.json")
            && FileManager.default.fileExists(atPath: directory + "/device.pem")
    }

    /// Enrolls every device not enrolled yet. The first failure stops new enrollments and is thrown
    /// (with the device named); devices enrolled before it stay enrolled.
    public func enroll(_ entries: [TokenFile.Entry]) async throws(SimulationError) -> Outcome {
        do {
            try FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        } catch {
            throw SimulationError(.invalidArgument, "cannot create --state-dir \(stateDirectory)")
        }
        var outcome = Outcome()
        let pending = entries.filter { entry in
            if isEnrolled(entry.device) { outcome.alreadyEnrolled.append(entry.device); return false }
            return true
        }
        guard !pending.isEmpty else { return outcome }
        logger.info("enrolling devices", metadata: ["count": "\(pending.count)", "already_enrolled": "\(outcome.alreadyEnrolled.count)"])
        let result: Result<[DeviceID], SimulationError> = await withTaskGroup(of: Result<DeviceID, SimulationError>.self) { group in
            var iterator = pending.makeIterator()
            var enrolled: [DeviceID] = []
            var failure: SimulationError?
            func addNext() -> Bool {
                guard failure == nil, let entry = iterator.next() else { return false }
                group.addTask { await self.enrollOne(entry) }
                return true
            }
            for _ in 0..<concurrency {
                if !addNext() { break }
            }
            while let finished = await group.next() {
                switch finished {
                case .success(let device): enrolled.append(device)
                case .failure(let error): failure = failure ?? error
                }
                _ = addNext()
            }
            if let failure { return .failure(failure) }
            return .success(enrolled)
        }
        switch result {
        case .success(let enrolled): outcome.enrolled = enrolled
        case .failure(let error): throw error
        }
        return outcome
    }

    private func enrollOne(_ entry: TokenFile.Entry) async -> Result<DeviceID, SimulationError> {
        let enrollment = Enrollment(server: server, token: entry.token.value, configDirectory: directory(of: entry.device))
        do {
            _ = try await enrollment.run()
            logger.debug("device enrolled", metadata: ["device": "\(entry.device)"])
            return .success(entry.device)
        } catch {
            return .failure(SimulationError(.enrollmentFailed, "\(entry.device): \(error)"))
        }
    }
}
