import Logging

extension Logger {
    /// A logger for a sub-component: the same handler configuration under its own label, keeping metadata.
    package static func child(_ parent: Logger, _ label: String) -> Logger {
        var logger = Logger(label: label)
        for (key, value) in parent.handler.metadata { logger[metadataKey: key] = value }
        return logger
    }
}

