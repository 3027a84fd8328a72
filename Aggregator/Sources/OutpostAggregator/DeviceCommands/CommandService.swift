import Logging
import OutpostCommon
import ServiceLifecycle

/// Moves commands through their states.
///
/// - Dispatch: every `poll_interval_ms` (and at once when a result frees the way),
///   queued commands are claimed with `FOR UPDATE SKIP LOCKED`, published on
///   `outpost/v1/{device}/cmd` (QoS 1), and marked
///   `sent` in the same transaction. Several aggregators never send one command twice
///   in the normal course; a crash between publish and commit re-sends it, and the
///   agent answers by id.
/// - Results from `cmd/result` (queued by the broker consumer) set `succeeded`,
///   `failed` or `expired`.
/// - Expiry: queued commands past `expiresAt`, sent ones past it plus the grace.
public struct CommandService: Service {
    let store: CommandStore
    let client: MQTTClient
    let results: BoundedQueue<(DeviceID, CommandResult)>
    let settings: CommandSettings
    let readiness: SchemaReadiness
    let metrics: AggregatorMetrics
    let logger: Logger
    let codec = WireCodec()

    public init(store: CommandStore, client: MQTTClient, results: BoundedQueue<(DeviceID, CommandResult)>, settings: CommandSettings,
                readiness: SchemaReadiness, metrics: AggregatorMetrics, logger: Logger) {
        self.store = store
        self.client = client
        self.results = results
        self.settings = settings
        self.readiness = readiness
        self.metrics = metrics
        self.logger = logger
    }

    public func run() async throws {
        do { try await readiness.wait() } catch { return }
        let interval = Duration.milliseconds(settings.pollIntervalMs)
        var nextTick = ContinuousClock.now
        await withGracefulShutdownHandler {
            while !results.isFinished && !Task.isCancelled {
                if let (device, result) = await results.pop(until: nextTick) {
                    await apply(result, from: device)
                    continue
                }
                guard ContinuousClock.now >= nextTick else { continue }
                await tick()
                nextTick = ContinuousClock.now + interval
            }
            while let (device, result) = results.tryPop() { await apply(result, from: device) }
        } onGracefulShutdown: {
            results.finish()
        }
    }

    private func tick() async {
        do {
            let expired = try await store.expireOverdue(graceSeconds: settings.resultGraceSeconds)
            metrics.command(CommandRecord.Status.expired.rawValue, by: expired)
            if client.isConnected {
                let sent = try await store.dispatchQueued { command in await publish(command) }
                metrics.command(CommandRecord.Status.sent.rawValue, by: sent)
            }
        } catch {
            logger.warning("command dispatch failed; retrying", metadata: ["error": "\(String(reflecting: error))"])
        }
    }

    private func publish(_ command: CommandRecord) async -> Bool {
        do {
            let payload = try codec.encode(command.wireCommand)
            // Detached: libmosquitto holds the QoS 1 message (also across a reconnect), so a
            // slow broker never holds the claiming transaction open.
            try client.publishDetached(Topic(command.device, .cmd).name, payload: payload, qos: .atLeastOnce)
            logger.info("command sent", metadata: ["device": "\(command.device)", "command": "\(command.id)", "name": "\(command.name)"])
            return true
        } catch {
            logger.warning("command not published", metadata: ["command": "\(command.id)", "error": "\(error)"])
            return false
        }
    }

    private func apply(_ result: CommandResult, from device: DeviceID) async {
        var delay = Duration.milliseconds(100)
        while !Task.isCancelled {
            do {
                if let status = try await store.complete(result, from: device) {
                    metrics.command(status.rawValue)
                    logger.info("command finished", metadata: ["device": "\(device)", "command": "\(result.id)", "status": "\(status)"])
                } else {
                    metrics.rejected(kind: RejectionReason.kind(.cmdResult), reason: RejectionReason.unknownCommand)
                    logger.warning("result for no open command", metadata: ["device": "\(device)", "command": "\(result.id)"])
                }
                return
            } catch {
                logger.warning("storing a command result failed; retrying", metadata: ["error": "\(String(reflecting: error))"])
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(5))
            }
        }
    }
}
