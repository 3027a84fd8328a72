import Foundation
import HTTPTypes
import Hummingbird
import OutpostSupport
import OutpostWire

/// `PATCH /devices/{id}`: only `name`, `tags` and `metadata`. Any other field (status,
/// revokedAt, id, …) is refused with 422 `read_only_field`, never applied.
struct DevicePatchRequest: Decodable, StrictKeys {
    static let allowedKeys: Set<String> = ["name", "tags", "metadata"]
    static let tagPattern = "^[a-z0-9][a-z0-9:._-]{0,62}$"
    let patch: DevicesStore.Patch

    init(from decoder: any Decoder) throws {
        try Self.refuseUnknownKeys(decoder)
        let container = try decoder.container(keyedBy: AnyKey.self)
        var patch = DevicesStore.Patch()
        let nameKey = AnyKey(stringValue: "name")
        if container.contains(nameKey) {
            let name = try container.decodeIfPresent(String.self, forKey: nameKey)
            if let name, !(1...100).contains(name.unicodeScalars.count) || name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
                throw APIError.validation("name must be 1-100 characters without control characters, or null")
            }
            patch.name = .some(name)
        }
        if let tags = try container.decodeOptional([String].self, "tags") {
            guard tags.count <= 32, tags.allSatisfy({ $0.range(of: Self.tagPattern, options: .regularExpression) != nil }) else {
                throw APIError.validation("tags: at most 32, each matching \(Self.tagPattern)")
            }
            patch.tags = Array(Set(tags)).sorted()
        }
        if let metadata = try container.decodeOptional(JSONValue.self, "metadata") {
            guard case .object = metadata else { throw APIError.validation("metadata must be a JSON object") }
            guard (try JSONEncoder().encode(metadata)).count <= 8192 else { throw APIError.validation("metadata must be at most 8 KiB") }
            patch.metadata = metadata
        }
        guard !patch.changedFields.isEmpty else { throw APIError.validation("nothing to change: send name, tags or metadata") }
        self.patch = patch
    }
}

extension AdminAPI {
    static let maximumPageSize = 500

    func addDeviceRoutes(_ on: (HTTPRequest.Method, String, @escaping Handler) -> Void) {
        on(.get, "/devices") { request, _ in
            let query = try request.queryParameters(allowing: ["kind", "status", "tag", "q", "cursor", "limit"])
            let filter = try Self.deviceFilter(query)
            let devices = try await devices.list(filter)
            let page = Array(devices.prefix(filter.limit - 1))
            let next = devices.count == filter.limit ? page.last.map(\.id) : nil
            return try .json(Page(items: page, nextCursor: next))
        }
        on(.get, "/device-counts") { request, _ in
            _ = try request.queryParameters(allowing: [])
            return try .json(try await devices.statusCounts())
        }
        on(.get, "/devices/{id}") { request, context in
            _ = try request.queryParameters(allowing: [])
            guard let device = try await devices.get(context.parameters.get("id") ?? "") else { throw APIError.notFound("device") }
            return try .json(device)
        }
        on(.patch, "/devices/{id}") { request, context in
            let body = try await request.decodeJSON(DevicePatchRequest.self, limit: settings.maxBodyBytes)
            guard let device = try await devices.apply(body.patch, to: context.parameters.get("id") ?? "", origin: origin(context), audit: audit)
            else { throw APIError.notFound("device") }
            return try .json(device)
        }
        on(.post, "/devices/{id}/decommission") { _, context in
            guard let device = DeviceID(context.parameters.get("id") ?? ""), try await devices.get(device.rawValue) != nil else {
                throw APIError.notFound("device")
            }
            guard let identity else { throw APIError.caUnavailable }
            guard try await devices.markDecommissioned(device) else { throw APIError.notFound("device") }
            let outcome: Revocation.Outcome
            do {
                outcome = try await identity.revocation.revoke(device: device)
            } catch {
                // Decommissioned but not fully revoked (the CRL may be written, the broker not
                // reloaded): recorded as such; repeating the call finishes the revocation.
                let code = (error as? IdentityError)?.code.rawValue ?? "internal_error"
                var detail = ["revocation": "failed: \(code)"]
                if let brokers = (error as? IdentityError)?.brokers, !brokers.isEmpty { detail["failed_brokers"] = brokers.joined(separator: ",") }
                try await audit.record("device.decommission", target: "device:\(device)", detail: detail, origin: origin(context))
                if let error = error as? IdentityError { throw APIError(error) }
                throw error
            }
            try await audit.record("device.decommission", target: "device:\(device)",
                                   detail: ["certificatesRevoked": "\(outcome.revokedSerials.count)",
                                            "serials": outcome.revokedSerials.joined(separator: ","),
                                            "session_ended": "\(outcome.sessionEnded)"],
                                   origin: origin(context))
            guard let decommissioned = try await devices.get(device.rawValue) else { throw APIError.notFound("device") }
            return try .json(decommissioned)
        }
    }

    /// Parses the list filters; the returned `limit` is one more than the page size, to see whether more follow.
    static func deviceFilter(_ query: [String: String]) throws(APIError) -> DevicesStore.Filter {
        let limit = try QueryValue.limit(query, maximum: maximumPageSize)
        if let kind = query["kind"], !DevicesStore.kinds.contains(kind) {
            throw APIError.invalidParameter("kind", "must be one of \(DevicesStore.kinds.sorted().joined(separator: ", "))")
        }
        if let status = query["status"], !DevicesStore.statuses.contains(status) {
            throw APIError.invalidParameter("status", "must be one of \(DevicesStore.statuses.sorted().joined(separator: ", "))")
        }
        if let tag = query["tag"], tag.range(of: DevicePatchRequest.tagPattern, options: .regularExpression) == nil {
            throw APIError.invalidParameter("tag", "must match \(DevicePatchRequest.tagPattern)")
        }
        if let search = query["q"], !(1...100).contains(search.unicodeScalars.count) || search.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            throw APIError.invalidParameter("q", "must be 1-100 characters without control characters")
        }
        let after = try query["cursor"].map { cursor throws(APIError) in try Cursor.decode(cursor, as: DeviceID.self).rawValue }
        return DevicesStore.Filter(kind: query["kind"], status: query["status"], tag: query["tag"], search: query["q"], after: after,
                                  limit: limit + 1)
    }
}
