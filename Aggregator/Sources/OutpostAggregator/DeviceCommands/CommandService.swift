import Logging
import OutpostWire
import ServiceLifecycle

/// What reaches the command service: a result from a device, or a wake-up because a
/// command was queued (PostgreSQL `NOTIFY outpost_commands`).
public enum CommandInbox: Sendable {
    case result(DeviceID, CommandResult)
    case queued
}

/// Moves commands through their states.
///
/// - Dispatch: at once when PostgreSQL notifies `outpost_commands` (a trigger on insert),
///   and every `poll_interval_ms` in any case, queued commands are claimed with `FOR UPDATE SKIP LOCKED`, published on
///   `outpost/v1/{device}/cmd` (QoS 1), and marked
///   `sent` in the same transaction. Several aggregators never send one command twice
///   in the normal course; a crash between publish and commit re-sends it, and the
///   agent answers by id.
/// - Results from `cmd/result` (queued by the broker consumer) set `succeeded`,
///   `failed` or `expired`. One PostgreSQL refuses for its data is dead-lettered; one a
///   transient failure kept out is held and retried at the next tick, after which dispatch
///   and expiry run as usual.
/// - Expiry: queued commands past `expiresAt`, sent ones past it plus the grace.
public struct CommandService: Service {
    let store: CommandsStore
    /// Commands go to the broker the device was heard on, or the one it is assigned to.
    let brokers: BrokerSet
    let inbox: BoundedQueue<CommandInbox>
    let settings: CommandSettings
    let readiness: SchemaReadiness
    let metrics: AggregatorMetrics
    let logger: Logger
    let codec = WireCodec()

    public init(store: CommandsStore, brokers: BrokerSet, inbox: BoundedQueue<CommandInbox>, settings: CommandSettings,
                readiness: SchemaReadiness, metrics: AggregatorMetrics, logger: Logger) {
        self.store = store
        self.brokers = brokers
        self.inbox = inbox
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
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await listenForQueued() }
                // Results a transient failure kept from being stored, retried at each tick.
                var held: [(DeviceID, CommandResult)] = []
                while !inbox.isFinished && !Task.isCancelled {
                    if held.count >= Self.maxHeldResults {
                        try? await Task.sleep(until: nextTick)
                    } else {
                        switch await inbox.pop(until: nextTick) {
                        case .result(let device, let result):
                            if await !apply(result, from: device) { held.append((device, result)) }
                        case .queued:
                            nextTick = .now
                        case nil:
                            break
                        }
                    }
                    // Checked after every result too, so a stream of results never delays dispatch and expiry.
                    guard ContinuousClock.now >= nextTick else { continue }
                    while let (device, result) = held.first, await apply(result, from: device) { held.removeFirst() }
                    await tick()
                    nextTick = ContinuousClock.now + interval
                }
                group.cancelAll()
            }
            while let item = inbox.tryPop() {
                if case .result(let device, let result) = item { _ = await apply(result, from: device) }
            }
        } onGracefulShutdown: {
            inbox.finish()
        }
    }

    /// Holds one pooled connection in `LISTEN outpost_commands`, re-listening after a
    /// lost connection; each notification wakes the dispatcher. So does each LISTEN once in
    /// place: a command queued while none was (before the first, or while reconnecting)
    /// notified nobody and would otherwise wait for the next poll.
    private func listenForQueued() async {
        while !Task.isCancelled {
            do {
                try await store.client.withConnection { connection in
                    try await connection.listen(on: "outpost_commands") { notifications in
                        await inbox.push(.queued, weight: 1)
                        for try await _ in notifications {
                            await inbox.push(.queued, weight: 1)
                        }
                    }
                }
            } catch {
                if Task.isCancelled { return }
                logger.debug("command notifications interrupted", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }

    private func tick() async {
        do {
            let expired = try await store.expireOverdue(graceSeconds: settings.resultGraceSeconds)
            metrics.command(CommandRecord.Status.expired.rawValue, by: expired)
            // Dispatch while any broker is up; a command for a device on a broker that is down
            // waits in libmosquitto's queue for that broker (or expires), as with one broker.
            if brokers.members.contains(where: { $0.client.isConnected }) {
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
            try brokers.client(for: command.device).publishDetached(Topic(command.device, .cmd).name, payload: payload, qos: .atLeastOnce)
            logger.info("command sent", metadata: ["device": "\(command.device)", "command": "\(command.id)", "name": "\(command.name)"])
            return true
        } catch {
            logger.warning("command not published", metadata: ["command": "\(command.id)", "error": "\(error)"])
            return false
        }
    }

    /// Results held back by transient failures before new ones wait in the inbox.
    static let maxHeldResults = 1_000

    /// Stores one result; false when a transient failure means trying it again later. A
    /// result PostgreSQL refuses for its data is dead-lettered, so it never blocks the loop.
    private func apply(_ result: CommandResult, from device: DeviceID) async -> Bool {
        do {
            if let status = try await store.complete(result, from: device) {
                metrics.command(status.rawValue)
                logger.info("command finished", metadata: ["device": "\(device)", "command": "\(result.id)", "status": "\(status)"])
            } else {
                metrics.rejected(kind: RejectionReason.kind(.cmdResult), reason: RejectionReason.unknownCommand)
                logger.warning("result for no open command", metadata: ["device": "\(device)", "command": "\(result.id)"])
            }
            metrics.writePath("commands", failing: false)
            return true
        } catch {
            if case .data(let sqlstate) = WriteFailure.classify(error) {
                metrics.rejected(kind: RejectionReason.kind(.cmdResult), reason: DeadLetter.databaseRefused)
                await RejectedMessagesStore(client: store.client, metrics: metrics, logger: logger)
                    .record([DeadLetter(device: device, kind: .cmdResult, sqlstate: sqlstate, message: result)])
                return true
            }
            metrics.writePath("commands", failing: true)
            logger.warning("storing a command result failed; retrying at the next tick", metadata: ["error": "\(String(reflecting: error))"])
            return false
        }
    }
}
