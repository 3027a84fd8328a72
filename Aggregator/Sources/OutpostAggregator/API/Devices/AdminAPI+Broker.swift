import Foundation
import HTTPTypes
import Hummingbird

/// `PUT /devices/{id}/broker`: `{"broker": "b"}` pins the device to a configured broker;
/// `{"broker": null}` hands it back to the hash. Nothing else is accepted.
struct BrokerOverrideRequest: Decodable, StrictKeys {
    static let allowedKeys: Set<String> = ["broker"]
    let broker: String?

    init(from decoder: any Decoder) throws {
        try Self.refuseUnknownKeys(decoder)
        let container = try decoder.container(keyedBy: AnyKey.self)
        let key = AnyKey(stringValue: "broker")
        guard container.contains(key) else { throw APIError.validation("broker is required: a configured broker's name, or null") }
        broker = try container.decodeNil(forKey: key) ? nil : try container.decode(String.self, forKey: key)
    }
}

extension AdminAPI {
    func addBrokerRoutes(_ on: (HTTPRequest.Method, String, @escaping Handler) -> Void) {
        on(.get, "/devices/{id}/broker") { request, context in
            _ = try request.queryParameters(allowing: [])
            guard let placement = try await brokers.placement(of: context.parameters.get("id") ?? "") else { throw APIError.notFound("device") }
            return try .json(placement)
        }
        on(.put, "/devices/{id}/broker") { request, context in
            let body = try await request.decodeJSON(BrokerOverrideRequest.self, limit: settings.maxBodyBytes)
            if let name = body.broker, !brokers.assignment.brokers.contains(name) {
                throw APIError.validation("broker must be one of \(brokers.assignment.brokers.joined(separator: ", ")), or null")
            }
            let device = context.parameters.get("id") ?? ""
            guard let previous = try await brokers.placement(of: device),
                  let placement = try await brokers.setOverride(body.broker, for: device)
            else { throw APIError.notFound("device") }
            try await audit.record("device.broker_override", target: "device:\(device)",
                                   detail: ["override": body.broker ?? "none", "previousBroker": previous.broker, "broker": placement.broker],
                                   origin: origin(context))
            return try .json(placement)
        }
    }
}
