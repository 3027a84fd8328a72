import Logging

/// How a process logs: a format, a default level, and a level per component.
///
/// Components are logger labels such as `agent.publisher` or `aggregator.ingest`. A
/// component level applies to that label and every label below it
/// (`agent` covers `agent.publisher`); the longest match wins.
public struct LoggingConfiguration: Codable, Sendable, Equatable {
    public enum Format: String, Codable, Sendable {
        /// One JSON object per line, for journald and log shippers.
        case json
        /// swift-log's human-readable stream format, for a terminal.
        case text
    }

    /// Defaults to `json`.
    public var format: Format
    /// Defaults to `info`.
    public var level: Logger.Level
    /// Defaults to none.
    public var components: [String: Logger.Level]

    public init(format: Format = .json, level: Logger.Level = .info, components: [String: Logger.Level] = [:]) {
        self.format = format
        self.level = level
        self.components = components
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        format = try container.value(.format, default: .json)
        level = try container.value(.level, default: .info)
        components = try container.value(.components, default: [:])
    }

    /// The level for a logger label.
    public func level(for label: String) -> Logger.Level {
        let match = components.keys
            .filter { label == $0 || label.hasPrefix($0 + ".") }
            .max { $0.count < $1.count }
        return match.flatMap { components[$0] } ?? level
    }

    /// Installs this configuration as the process's logging backend. Call once, from `main`.
    public func bootstrap() {
        let configuration = self
        LoggingSystem.bootstrap { label in
            switch configuration.format {
            case .json:
                return JSONLineLogHandler(label: label, level: configuration.level(for: label))
            case .text:
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = configuration.level(for: label)
                return handler
            }
        }
    }
}
