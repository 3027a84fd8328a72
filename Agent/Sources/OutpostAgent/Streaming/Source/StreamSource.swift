import OutpostSupport
import OutpostStreaming

/// Where the H.264 Annex-B byte stream comes from.
public enum StreamSource: Sendable, Hashable {
    /// A file, sent at `framesPerSecond` (the file has no timing), optionally looped.
    case file(path: String, framesPerSecond: Double, loop: Bool)
    /// A named pipe a local encoder writes to; access units go out as they complete. When the
    /// writer goes away the pipe is re-opened and the stream waits for the next writer.
    case fifo(path: String)
    /// A command whose stdout is the stream, e.g. `libcamera-vid -t 0 --inline -o -`. Run
    /// without a shell. `{bitrate}` and `{bitrate_kbps}` in an argument are replaced by the
    /// target bitrate, and the command is restarted with a new one when REMB asks for it.
    case command(arguments: [String])

    /// True when the source can apply a new bitrate (a command with a bitrate placeholder).
    public var adaptsBitrate: Bool {
        guard case .command(let arguments) = self else { return false }
        return arguments.contains { $0.contains("{bitrate}") || $0.contains("{bitrate_kbps}") }
    }

    /// Parses `file:PATH`, `fifo:PATH`, `cmd:PROGRAM ARG…` (split on spaces) or a bare path (a file).
    public static func parse(_ text: String, framesPerSecond: Double, loop: Bool) throws(StreamError) -> StreamSource {
        if text.hasPrefix("fifo:") { return .fifo(path: String(text.dropFirst(5))) }
        if text.hasPrefix("cmd:") {
            let arguments = text.dropFirst(4).split(separator: " ").map(String.init)
            guard !arguments.isEmpty else { throw StreamError(.invalidRequest, "cmd: needs a program") }
            return .command(arguments: arguments)
        }
        let path = text.hasPrefix("file:") ? String(text.dropFirst(5)) : text
        guard !path.isEmpty else { throw StreamError(.invalidRequest, "empty source path") }
        guard framesPerSecond > 0, framesPerSecond <= 240 else { throw StreamError(.invalidRequest, "fps must be in (0, 240]") }
        return .file(path: path, framesPerSecond: framesPerSecond, loop: loop)
    }

    /// Reads a source from JSON: `{"kind":"file","path":…,"fps":30,"loop":true}`,
    /// `{"kind":"fifo","path":…}` or `{"kind":"command","argv":[…]}`.
    public init(json: JSONValue) throws(StreamError) {
        guard let kind = json["kind"]?.stringValue else { throw StreamError(.invalidRequest, "source.kind is required") }
        switch kind {
        case "file":
            guard let path = json["path"]?.stringValue, !path.isEmpty else { throw StreamError(.invalidRequest, "source.path is required") }
            let fps = json["fps"]?.doubleValue ?? 30
            guard fps > 0, fps <= 240 else { throw StreamError(.invalidRequest, "source.fps must be in (0, 240]") }
            self = .file(path: path, framesPerSecond: fps, loop: json["loop"]?.boolValue ?? false)
        case "fifo":
            guard let path = json["path"]?.stringValue, !path.isEmpty else { throw StreamError(.invalidRequest, "source.path is required") }
            self = .fifo(path: path)
        case "command":
            guard case .array(let items) = json["argv"] ?? .null else { throw StreamError(.invalidRequest, "source.argv must be an array") }
            let arguments = items.compactMap(\.stringValue)
            guard !arguments.isEmpty, arguments.count == items.count else {
                throw StreamError(.invalidRequest, "source.argv must be a non-empty array of strings")
            }
            self = .command(arguments: arguments)
        default:
            throw StreamError(.invalidRequest, "source.kind must be file, fifo or command")
        }
    }
}
