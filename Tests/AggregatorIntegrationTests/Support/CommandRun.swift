import Foundation
import TestHarness

/// A finished run of one of the built executables.
struct CommandRun {
    var status: Int32
    var stdout: String
    var stderr: String

    /// Runs `executable` to completion on a Dispatch thread, so awaiting it holds no thread of
    /// the cooperative pool.
    static func run(_ executable: String, _ arguments: [String]) async throws -> CommandRun {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Result { try runBlocking(executable, arguments) }) }
        }
    }

    private static func runBlocking(_ executable: String, _ arguments: [String]) throws -> CommandRun {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return CommandRun(status: process.terminationStatus, stdout: stdout, stderr: stderr)
    }

    static func executable(_ name: String) throws -> String {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../../.build/debug/\(name)")
            .standardizedFileURL.path
        guard FileManager.default.isExecutableFile(atPath: path) else { throw HarnessError("\(path) is not built; run swift build") }
        return path
    }
}
