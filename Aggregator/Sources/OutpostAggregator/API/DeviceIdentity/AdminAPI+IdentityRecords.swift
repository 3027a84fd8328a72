import Foundation
import HTTPTypes
import Hummingbird
import OutpostWire

extension AdminAPI {
    func addIdentityRecordRoutes(_ on: (HTTPRequest.Method, String, @escaping Handler) -> Void) {
        on(.get, "/devices/{id}/certificates") { request, context in
            _ = try request.queryParameters(allowing: [])
            let device = try await existingDevice(context)
            return try .json(ItemsResponse(items: try await certificates.list(device: device)))
        }
        on(.get, "/enrollment-tokens") { request, _ in
            let query = try request.queryParameters(allowing: ["device", "state", "limit"])
            let limit = try QueryValue.limit(query, maximum: Self.maximumPageSize)
            if let device = query["device"], !DeviceID.isValid(device) { throw APIError.invalidParameter("device", "is not a device id") }
            guard let state = query["state"] ?? "all" as String?, ["all", "pending"].contains(state) else {
                throw APIError.invalidParameter("state", "must be all or pending")
            }
            let tokens = try await enrollmentTokens.list(pending: state == "pending", device: query["device"], limit: limit)
            return try .json(ItemsResponse(items: tokens))
        }
    }
}
