import Foundation
import HTTPTypes
import Hummingbird
import OutpostWire

struct ReadingsPage<Item: Encodable & Sendable>: Encodable, Sendable {
    let device: String
    let metric: String
    let bucket: String
    let items: [Item]
    let nextCursor: String?

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: AnyKey.self)
        try container.encode(device, forKey: AnyKey(stringValue: "device"))
        try container.encode(metric, forKey: AnyKey(stringValue: "metric"))
        try container.encode(bucket, forKey: AnyKey(stringValue: "bucket"))
        try container.encode(items, forKey: AnyKey(stringValue: "items"))
        try container.encode(nextCursor, forKey: AnyKey(stringValue: "nextCursor"))
    }
}

extension AdminAPI {
    func addReadingsRoutes(_ on: (HTTPRequest.Method, String, @escaping Handler) -> Void) {
        on(.get, "/devices/{id}/readings") { request, context in
            let query = try ReadingsQuery(try request.queryParameters(allowing: ReadingsQuery.parameters))
            let device = try await existingDevice(context)
            // A page with items proves the metric exists: the lookup runs only for an empty one.
            func knownMetric() async throws {
                guard try await readings.hasMetric(device: device, metric: query.metric) else {
                    throw APIError(.notFound, .unknownMetric, "device \(device) has no readings of metric '\(query.metric)'")
                }
            }
            if query.bucket == .raw {
                let (items, next) = try await readings.raw(device: device, query)
                if items.isEmpty { try await knownMetric() }
                return try .json(ReadingsPage(device: device, metric: query.metric, bucket: "raw", items: items, nextCursor: next))
            }
            let (items, next) = try await readings.buckets(device: device, query)
            if items.isEmpty { try await knownMetric() }
            return try .json(ReadingsPage(device: device, metric: query.metric, bucket: query.bucket.rawValue, items: items, nextCursor: next))
        }
        on(.get, "/devices/{id}/readings/latest") { request, context in
            _ = try request.queryParameters(allowing: [])
            let device = try await existingDevice(context)
            return try .json(ItemsResponse(items: try await readings.latest(device: device)))
        }
        on(.get, "/devices/{id}/readings/export") { request, context in
            let query = try request.queryParameters(allowing: ["metric", "from", "to", "format"])
            if let metric = query["metric"], metric.range(of: ReadingsQuery.metricPattern, options: .regularExpression) == nil {
                throw APIError.invalidParameter("metric", "must match \(ReadingsQuery.metricPattern)")
            }
            guard let format = ReadingsStore.ExportFormat(rawValue: query["format"] ?? "ndjson") else {
                throw APIError.invalidParameter("format", "must be csv or ndjson")
            }
            guard let from = try QueryValue.date(query, "from") else { throw APIError.invalidParameter("from", "is required") }
            let to = try QueryValue.date(query, "to") ?? Date()
            let device = try await existingDevice(context)
            let metric = query["metric"]
            let readings = readings
            let headers: HTTPFields = [
                .contentType: format == .csv ? "text/csv; charset=utf-8" : "application/x-ndjson",
                .contentDisposition: "attachment; filename=\"\(device)-readings.\(format == .csv ? "csv" : "ndjson")\"",
            ]
            return Response(status: .ok, headers: headers, body: ResponseBody { writer in
                try await readings.export(device: device, metric: metric, from: from, to: to, format: format, writer: &writer)
                try await writer.finish(nil)
            })
        }
    }

    /// The `{id}` of the path, when such a device exists; 404 otherwise.
    func existingDevice(_ context: AppRequestContext) async throws -> String {
        let id = context.parameters.get("id") ?? ""
        guard DeviceID.isValid(id), try await devices.exists(id) else { throw APIError.notFound("device") }
        return id
    }
}
