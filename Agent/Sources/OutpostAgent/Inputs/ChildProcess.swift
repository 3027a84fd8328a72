import OutpostProcess

/// Runs a command to completion with a deadline and an output cap, off the async pool.
///
/// The child gets its own process group, so a timeout or an over-long output kills the
/// command and everything it started (`kill(-pgid, SIGKILL)`). stdin and stderr are
/// /dev/null; signal dispositions are reset so the child is not born ignoring SIGTERM.
enum ChildProcess {
    typealias Outcome = ProcessRun.Outcome

    static func run(_ argv: [String], timeout: Duration, maxOutputBytes: Int) async throws(SourceError) -> Outcome {
        let launch = ProcessLaunch(argv: argv, errorOutput: .devNull, ownProcessGroup: true)
        do {
            return try await ProcessRun.run(launch, timeout: timeout, maxOutputBytes: maxOutputBytes)
        } catch where error.code == .pipeFailed {
            throw SourceError(.spawnFailed, "pipe: \(error.reason)")
        } catch {
            throw SourceError(.spawnFailed, "\(argv[0]): \(error.reason)")
        }
    }
}
