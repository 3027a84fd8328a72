import OutpostSupport
import OutpostWire

/// One entry of the `sources` list. `type` picks the source; the other keys depend on it
/// (see `packaging/agent.sample.json` and `docs/agent.md`).
public struct SourceConfiguration: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable {
        case meter, exec, file, system
    }

    public var type: Kind
    /// Unique among sources; `set_interval` and `collect_now` name it. Defaults to the type.
    public var name: String
    /// Seconds between collections. Defaults to 10; at least 0.01.
    public var intervalS: Double
    /// Prepended to every metric as `prefix.metric`. Defaults to none.
    public var prefix: String?

    // meter
    /// `dc` or `ac`. Defaults to `ac`.
    public var kind: String?
    /// Seed for the simulated values. Defaults to 1.
    public var seed: UInt64?
    /// Samples per collection, for load tests and backfill drills. Defaults to 1.
    public var samplesPerCollect: Int?

    // exec
    /// argv of the command; run without a shell.
    public var command: [String]?
    /// Seconds before the command is killed. Defaults to 10.
    public var timeoutS: Double?
    /// Most bytes of stdout read; the command is killed beyond. Defaults to 65,536.
    public var maxOutputBytes: Int?

    // file
    public var path: String?
    /// The metric name for a file source. Defaults to the source name.
    public var metric: String?
    /// The file's number is multiplied by this. Defaults to 1.
    public var scale: Double?

    public init(type: Kind, name: String? = nil, intervalS: Double = 10) {
        self.type = type
        self.name = name ?? type.rawValue
        self.intervalS = intervalS
    }

    enum CodingKeys: String, CodingKey {
        case type, name, intervalS, prefix, kind, seed, samplesPerCollect, command, timeoutS, maxOutputBytes, path, metric, scale
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        // The loader's unknown-key check does not look inside arrays, so a source checks its own keys.
        for key in try decoder.container(keyedBy: AnyKey.self).allKeys where CodingKeys(stringValue: key.stringValue) == nil {
            throw ConfigError(.unknownKey, key: Self.key(container, Self.snakeCase(key.stringValue)), "is not a known setting")
        }
        type = try container.decode(Kind.self, forKey: .type)
        name = try container.decodeIfPresent(String.self, forKey: .name) ?? type.rawValue
        guard Command.isValidName(name) else {
            throw ConfigError(.invalidValue, key: Self.key(container, "name"), "must match [a-z][a-z0-9_]{0,63}")
        }
        intervalS = try container.decodeIfPresent(Double.self, forKey: .intervalS) ?? 10
        guard intervalS >= 0.01 && intervalS <= 86_400 else {
            throw ConfigError(.invalidValue, key: Self.key(container, "interval_s"), "must be 0.01-86400 s")
        }
        prefix = try container.decodeIfPresent(String.self, forKey: .prefix)
        if let prefix, !Reading.isValidMetric(prefix) {
            throw ConfigError(.invalidValue, key: Self.key(container, "prefix"), "must be a valid metric name")
        }
        func only(_ key: CodingKeys, for kinds: Kind...) throws {
            if container.contains(key), !kinds.contains(type) {
                throw ConfigError(.unknownKey, key: Self.key(container, Self.snakeCase(key.stringValue)), "does not apply to a \(type.rawValue) source")
            }
        }
        try only(.kind, for: .meter)
        try only(.seed, for: .meter)
        try only(.samplesPerCollect, for: .meter)
        try only(.command, for: .exec)
        try only(.timeoutS, for: .exec)
        try only(.maxOutputBytes, for: .exec)
        try only(.path, for: .file)
        try only(.metric, for: .file)
        try only(.scale, for: .file)
        kind = try container.decodeIfPresent(String.self, forKey: .kind)
        if let kind, !["ac", "dc"].contains(kind) { throw ConfigError(.invalidValue, key: Self.key(container, "kind"), "must be ac or dc") }
        seed = try container.decodeIfPresent(UInt64.self, forKey: .seed)
        samplesPerCollect = try container.decodeIfPresent(Int.self, forKey: .samplesPerCollect)
        if let samplesPerCollect, !(1...10_000).contains(samplesPerCollect) {
            throw ConfigError(.invalidValue, key: Self.key(container, "samples_per_collect"), "must be 1-10000")
        }
        command = try container.decodeIfPresent([String].self, forKey: .command)
        timeoutS = try container.decodeIfPresent(Double.self, forKey: .timeoutS)
        if let timeoutS, !(timeoutS >= 0.1 && timeoutS <= 3_600) {
            throw ConfigError(.invalidValue, key: Self.key(container, "timeout_s"), "must be 0.1-3600 s")
        }
        maxOutputBytes = try container.decodeIfPresent(Int.self, forKey: .maxOutputBytes)
        if let maxOutputBytes, !(16...(16 << 20)).contains(maxOutputBytes) {
            throw ConfigError(.invalidValue, key: Self.key(container, "max_output_bytes"), "must be 16 B-16 MiB")
        }
        path = try container.decodeIfPresent(String.self, forKey: .path)
        metric = try container.decodeIfPresent(String.self, forKey: .metric)
        if let metric, !Reading.isValidMetric(metric) {
            throw ConfigError(.invalidValue, key: Self.key(container, "metric"), "must be a valid metric name")
        }
        scale = try container.decodeIfPresent(Double.self, forKey: .scale)
        switch type {
        case .exec:
            guard let command, let first = command.first, first.hasPrefix("/") else {
                throw ConfigError(.missingKey, key: Self.key(container, "command"), "an exec source needs a command with an absolute path")
            }
        case .file:
            guard path != nil else { throw ConfigError(.missingKey, key: Self.key(container, "path"), "a file source needs a path") }
        case .meter, .system:
            break
        }
    }

    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    private static func snakeCase(_ name: String) -> String {
        name.reduce(into: "") { result, character in
            if character.isUppercase { result += "_" + character.lowercased() } else { result.append(character) }
        }
    }

    private static func key(_ container: KeyedDecodingContainer<CodingKeys>, _ name: String) -> String {
        (container.codingPath.map { $0.intValue.map { "[\($0)]" } ?? Self.snakeCase($0.stringValue) } + [name])
            .joined(separator: ".").replacing(".[", with: "[")
    }
}
