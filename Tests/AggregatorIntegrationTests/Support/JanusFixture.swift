import Foundation
import OutpostAggregator
import TestHarness

/// A real Janus (Debian's `janus`), configured by ``JanusConfigGenerator`` in a temporary
/// folder and run in the foreground; as `nobody` when the tests run as root (`setpriv`
/// execs in place, so the PID is Janus's own). Stopped by PID.
final class JanusFixture: @unchecked Sendable {
    let directory: String
    let settings: LiveSettings
    let secrets: JanusConfigGenerator.Secrets
    let process: ServerProcess

    /// `settings` gives everything but the HTTP port and config folder, which the fixture picks.
    init(directory: String, settings base: LiveSettings = LiveSettings()) async throws {
        var settings = base
        settings.httpPort = try FreePort.next()
        settings.janusConfigDir = (directory as NSString).appendingPathComponent("janus")
        settings.janusUrl = "http://127.0.0.1:\(settings.httpPort)/janus"
        let janus = try locateTool("janus", extraDirectories: ["/usr/bin"])
        secrets = try JanusConfigGenerator(settings: settings).write(to: settings.janusConfigDir)
        var executable = janus
        var arguments = ["-F", settings.janusConfigDir, "-C", settings.janusConfigDir + "/janus.jcfg", "-o"]
        if geteuid() == 0 {
            guard let account = getpwnam("nobody") else { throw HarnessError("running as root needs the `nobody` user") }
            chmod(directory, 0o755)
            for name in (try FileManager.default.contentsOfDirectory(atPath: settings.janusConfigDir)) + [""] {
                chown((settings.janusConfigDir as NSString).appendingPathComponent(name), account.pointee.pw_uid, account.pointee.pw_gid)
            }
            executable = try locateTool("setpriv")
            arguments = ["--reuid=\(account.pointee.pw_uid)", "--regid=\(account.pointee.pw_gid)", "--clear-groups", "--", janus] + arguments
        }
        process = try ServerProcess(name: "janus", executable: executable, arguments: arguments,
                                    logPath: (directory as NSString).appendingPathComponent("janus.log"))
        self.directory = directory
        self.settings = settings
        try await waitUntil(timeout: .seconds(30), "janus on port \(settings.httpPort)") { [process] in
            guard process.isRunning else { throw HarnessError("janus exited: \(process.log)") }
            return FreePort.isAccepting(settings.httpPort)
        }
    }

    func stop() async { _ = await process.stop() }
}
