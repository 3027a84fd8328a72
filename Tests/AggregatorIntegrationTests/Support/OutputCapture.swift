import Foundation
import Glibc

/// Sends this process's stdout and stderr (where the in-process aggregator logs) to a file
/// until `finish()`, which restores them, writes the text back out, and returns it.
final class OutputCapture {
    private let path: String
    private let savedOut: Int32
    private let savedErr: Int32

    init(path: String) {
        self.path = path
        fflush(nil)
        savedOut = dup(1)
        savedErr = dup(2)
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0o600)
        dup2(fd, 1)
        dup2(fd, 2)
        close(fd)
    }

    func finish() -> String {
        fflush(nil)
        dup2(savedOut, 1)
        dup2(savedErr, 2)
        close(savedOut)
        close(savedErr)
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        FileHandle.standardOutput.write(Data(text.utf8))
        return text
    }
}
