import Foundation
import Logging
import OutpostSupport
import OutpostWire
import PostgresNIO

/// The `commands` table: queueing (with an audit entry), claiming for dispatch,
/// results, expiry. Shared by `outpost-aggregator cmd`, the dispatcher and the Admin API.
public struct CommandsStore: Sendable {
    let client: PostgresPool
    let logger: Logger
    let limits: WireLimits

    public init(client: PostgresPool, logger: Logger, limits: WireLimits = .standard) {
        self.client = client
        self.logger = logger
        self.limits = limits
    }

    static let columns = """
        id, device, name, args::text, status, created_by,
        (extract(epoch FROM created_at) * 1000)::int8, (extract(epoch FROM expires_at) * 1000)::int8,
        (extract(epoch FROM sent_at) * 1000)::int8, (extract(epoch FROM finished_at) * 1000)::int8,
        output::text, error_code, error_message
        """

    typealias Row = (String, String, String, String, String, String, Int64, Int64, Int64?, Int64?, String?, String?, String?)

    static func record(_ row: Row) -> CommandRecord? {
        guard let device = DeviceID(row.1), let status = CommandRecord.Status(rawValue: row.4) else { return nil }
        return CommandRecord(
            id: row.0, device: device, name: row.2, args: JSONText.decode(row.3) ?? [:], status: status, createdBy: row.5,
            createdAt: row.6, expiresAt: row.7, sentAt: row.8, finishedAt: row.9, output: row.10.flatMap(JSONText.decode),
            errorCode: row.11, errorMessage: row.12)
    }

    /// Validates and stores a command as `queued`, with an audit log entry, in one transaction.
    ///
    /// - Throws: ``CommandError`` for a bad name, args or TTL, or an unknown or revoked device.
    public func enqueue(device: DeviceID, name: String, args: JSONValue = [:], ttlSeconds: Int, actor: String) async throws
        -> CommandRecord
    {
        guard Command.isValidName(name) else { throw CommandError(.invalidName, "\(name.prefix(80).debugDescription) must match [a-z][a-z0-9_]{0,63}") }
        guard case .object = args else { throw CommandError(.invalidArgs, "args must be a JSON object") }
        guard args.depth <= limits.maxNestingDepth, args.isFinite else { throw CommandError(.invalidArgs, "args nest too deep or hold a non-finite number") }
        guard (1...2_592_000).contains(ttlSeconds) else { throw CommandError(.invalidTTL, "ttl must be 1-2592000 seconds") }
        let id = CommandRecord.newID()
        let argsText = JSONText.encode(args)
        let auditDetails = JSONText.encode(["name": .string(name), "args": args, "ttl_seconds": .number(Double(ttlSeconds))])
        let logger = logger
        do {
            return try await insert(id: id, device: device, name: name, argsText: argsText, ttlSeconds: ttlSeconds, actor: actor,
                                    auditDetails: auditDetails, logger: logger)
        } catch let error as PostgresTransactionError {
            if let refusal = error.closureError as? CommandError { throw refusal }
            throw error
        }
    }

    private func insert(id: String, device: DeviceID, name: String, argsText: String, ttlSeconds: Int, actor: String,
                        auditDetails: String, logger: Logger) async throws -> CommandRecord {
        try await client.withTransaction(logger: logger) { connection in
            guard let revoked = try await DevicesStore.isRevoked(device, on: connection, logger: logger) else {
                throw CommandError(.unknownDevice, "no device \(device)")
            }
            guard !revoked else { throw CommandError(.revokedDevice, "device \(device) is revoked") }
            var stored: CommandRecord? = nil
            for try await row in try await connection.query(
                """
                INSERT INTO commands (id, device, name, args, created_by, expires_at)
                VALUES (\(id), \(device.rawValue), \(name), \(argsText)::jsonb, \(actor), now() + \(ttlSeconds)::int8 * interval '1 second')
                RETURNING \(unescaped: Self.columns)
                """, logger: logger).decode(Row.self)
            {
                stored = Self.record(row)
            }
            try await AuditLog.recordCommandSend(id, actor: actor, details: auditDetails, on: connection, logger: logger)
            guard let stored else { throw CommandError(.notFound, "command \(id) vanished") }
            return stored
        }
    }

    public func find(id: String) async throws -> CommandRecord? {
        var found: CommandRecord? = nil
        for try await row in try await client.query(
            "SELECT \(unescaped: Self.columns) FROM commands WHERE id = \(id)", logger: logger).decode(Row.self)
        {
            found = Self.record(row)
        }
        return found
    }

    /// Claims up to `limit` queued, unexpired commands of non-revoked devices (skipping
    /// rows another aggregator holds), hands them to `publish`, and marks those it
    /// published as `sent`, all in one transaction. A command whose publish failed stays queued.
    public func dispatchQueued(limit: Int = 100, publish: @escaping @Sendable (CommandRecord) async -> Bool) async throws -> Int {
        let logger = logger
        return try await client.withTransaction(logger: logger) { connection in
            var claimed: [CommandRecord] = []
            for try await row in try await connection.query(
                """
                SELECT \(unescaped: Self.columns) FROM commands c
                WHERE status = 'queued' AND expires_at > now()
                  AND EXISTS (SELECT 1 FROM devices d WHERE d.id = c.device AND d.revoked_at IS NULL)
                ORDER BY created_at LIMIT \(limit) FOR UPDATE OF c SKIP LOCKED
                """, logger: logger).decode(Row.self)
            {
                if let record = Self.record(row) { claimed.append(record) }
            }
            var sent: [String] = []
            for command in claimed where await publish(command) { sent.append(command.id) }
            if !sent.isEmpty {
                try await connection.query(
                    "UPDATE commands SET status = 'sent', sent_at = now() WHERE id = ANY(\(sent)::text[])", logger: logger)
            }
            return sent.count
        }
    }

    /// Applies a result from `device`; returns the new status, or nil when no open
    /// command of that id belongs to that device.
    public func complete(_ result: CommandResult, from device: DeviceID) async throws -> CommandRecord.Status? {
        let status = CommandRecord.status(after: result)
        let output = result.output.map(JSONText.encode)
        var applied: CommandRecord.Status? = nil
        for try await _ in try await client.query(
            """
            UPDATE commands SET status = \(status.rawValue), finished_at = now(), output = \(output)::jsonb,
                error_code = \(result.error?.code), error_message = \(result.error?.message)
            WHERE id = \(result.id) AND device = \(device.rawValue) AND status IN ('queued', 'sent')
            RETURNING id
            """, logger: logger).decode(String.self)
        {
            applied = status
        }
        return applied
    }

    /// Expires queued commands past `expires_at`, and sent ones past it plus `graceSeconds`; returns how many.
    public func expireOverdue(graceSeconds: Int) async throws -> Int {
        var count = 0
        for try await expired in try await client.query(
            """
            WITH gone AS (
                UPDATE commands SET status = 'expired', finished_at = now(), error_code = 'expired',
                    error_message = 'no result before the command expired'
                WHERE (status = 'queued' AND expires_at <= now())
                   OR (status = 'sent' AND expires_at + \(graceSeconds)::int8 * interval '1 second' <= now())
                RETURNING 1
            )
            SELECT count(*) FROM gone
            """, logger: logger).decode(Int64.self)
        {
            count = Int(expired)
        }
        return count
    }

    /// Retention: deletes up to `limit` finished commands created before `cutoff`, answering how many.
    static func retentionBatch(before cutoff: Date, limit: Int64) -> PostgresQuery {
        """
        WITH gone AS (DELETE FROM commands WHERE id IN (
            SELECT id FROM commands WHERE status IN ('succeeded', 'failed', 'expired')
                AND created_at < \(cutoff) LIMIT \(limit)) RETURNING 1)
        SELECT count(*) FROM gone
        """
    }
}
