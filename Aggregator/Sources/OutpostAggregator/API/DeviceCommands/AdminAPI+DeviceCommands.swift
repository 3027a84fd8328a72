import Foundation
import HTTPTypes
import Hummingbird
import OutpostSupport

/// `POST /devices/{id}/commands`: `name` (a built-in command), optional `args` (an object)
/// and `ttlSeconds` (10–86400, default 300), after which an undelivered command expires.
struct SendCommandRequest: Decodable, StrictKeys {
    static let allowedKeys: Set<String> = ["name", "args", "ttlSeconds"]
    let name: String
    let args: JSONValue
    let ttlSeconds: Int

    init(from decoder: any Decoder) throws {
        try Self.refuseUnknownKeys(decoder)
        let container = try decoder.container(keyedBy: AnyKey.self)
        name = try container.decode(String.self, forKey: AnyKey(stringValue: "name"))
        guard CommandsStore.names.contains(name) else {
            throw APIError.validation("name must be one of \(CommandsStore.names.sorted().joined(separator: ", "))")
        }
        args = try container.decodeOptional(JSONValue.self, "args") ?? .object([:])
        guard case .object = args else { throw APIError.validation("args must be a JSON object") }
        guard (try JSONEncoder().encode(args)).count <= 4096 else { throw APIError.validation("args must be at most 4 KiB") }
        ttlSeconds = try container.decodeOptional(Int.self, "ttlSeconds") ?? 300
        guard (10...86_400).contains(ttlSeconds) else { throw APIError.validation("ttlSeconds must be 10-86400") }
    }
}

extension AdminAPI {
    func addCommandRoutes(_ on: (HTTPRequest.Method, String, @escaping Handler) -> Void) {
        on(.post, "/devices/{id}/commands") { request, context in
            let body = try await request.decodeJSON(SendCommandRequest.self, limit: settings.maxBodyBytes)
            let device = try await existingDevice(context)
            let command = try await commands.send(device: device, name: body.name, args: body.args, ttl: body.ttlSeconds,
                                                  origin: origin(context), audit: audit)
            return try .json(command, status: .created)
        }
        on(.get, "/devices/{id}/commands") { request, context in
            let query = try request.queryParameters(allowing: ["status", "cursor", "limit"])
            let limit = try QueryValue.limit(query, maximum: Self.maximumPageSize)
            if let status = query["status"], !CommandsStore.statuses.contains(status) {
                throw APIError.invalidParameter("status", "must be one of \(CommandsStore.statuses.sorted().joined(separator: ", "))")
            }
            let after = try query["cursor"].map { cursor throws(APIError) in try Cursor.decode(cursor, as: CommandsStore.Position.self) }
            let device = try await existingDevice(context)
            let found = try await commands.list(device: device, status: query["status"], after: after, limit: limit + 1)
            let page = Array(found.prefix(limit))
            let next = found.count > limit ? page.last.map { Cursor.encode($0.1) } : nil
            return try .json(Page(items: page.map(\.0), nextCursor: next))
        }
        on(.get, "/commands/{id}") { request, context in
            _ = try request.queryParameters(allowing: [])
            guard let command = try await commands.get(context.parameters.get("id") ?? "") else { throw APIError.notFound("command") }
            return try .json(command)
        }
    }
}
