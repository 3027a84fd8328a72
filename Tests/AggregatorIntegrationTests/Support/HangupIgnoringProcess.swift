import Foundation
import TestHarness

/// Stands in for mosquitto's pid file: a process that ignores SIGHUP, so the admin API's
/// revocation can "reload the broker" for real (the signal is delivered) without a broker.
struct HangupIgnoringProcess: Sendable {
    let process: ServerProcess
    let pidFile: String

    init(directory: String) throws {
        pidFile = directory + "/broker.pid"
        // An ignored signal stays ignored across exec, so `sleep` keeps ignoring SIGHUP.
        process = try ServerProcess(name: "hup-ignorer", executable: "/bin/sh", arguments: ["-c", "trap '' HUP; exec sleep 900"],
                                    logPath: directory + "/hup-ignorer.log")
        try "\(process.pid)\n".write(toFile: pidFile, atomically: true, encoding: .utf8)
    }

    func stop() async { _ = await process.stop() }
}
