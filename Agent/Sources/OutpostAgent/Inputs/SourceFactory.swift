/// Builds the configured sources.
enum SourceFactory {
    static func make(_ configuration: SourceConfiguration, stateDir: String) -> any ReadingSource {
        switch configuration.type {
        case .meter:
            return MeterSource(
                name: configuration.name, kind: configuration.kind == "dc" ? .dc : .ac, seed: configuration.seed ?? 1,
                samplesPerCollect: configuration.samplesPerCollect ?? 1, prefix: configuration.prefix)
        case .exec:
            return ExecSource(
                name: configuration.name, command: configuration.command ?? [],
                timeout: .milliseconds(Int64((configuration.timeoutS ?? 10) * 1000)),
                maxOutputBytes: configuration.maxOutputBytes ?? 65_536, prefix: configuration.prefix)
        case .file:
            return FileSource(
                name: configuration.name, path: configuration.path ?? "",
                metric: configuration.metricName(configuration.metric ?? configuration.name), scale: configuration.scale ?? 1)
        case .system:
            return SystemSource(name: configuration.name, diskPath: stateDir, prefix: configuration.prefix)
        }
    }
}
