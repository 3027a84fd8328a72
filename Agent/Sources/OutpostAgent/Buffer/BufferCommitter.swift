import ServiceLifecycle

/// The group-commit clock: commits the buffer's pending samples every `commitInterval`,
/// and once more at graceful shutdown after the sources have stopped.
package struct BufferCommitter: Service {
    let buffer: ReadingBuffer

    package init(buffer: ReadingBuffer) {
        self.buffer = buffer
    }

    package func run() async throws {
        let interval = buffer.configuration.commitInterval
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await Task.sleep(for: interval)
                } catch {
                    break
                }
                await buffer.commit()
            }
        }
        await buffer.commit()
    }
}
