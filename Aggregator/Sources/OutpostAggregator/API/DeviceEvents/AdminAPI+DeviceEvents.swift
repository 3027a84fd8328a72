import HTTPTypes
import Hummingbird

extension AdminAPI {
    /// `GET /devices/{id}/events`: the device's stored events, newest first, with a time
    /// range, a kind filter and cursor paging. New ones arrive live as `device.event` on `GET /events`.
    func addDeviceEventRoutes(_ on: (HTTPRequest.Method, String, @escaping Handler) -> Void) {
        on(.get, "/devices/{id}/events") { request, context in
            let query = try DeviceEventsQuery(try request.queryParameters(allowing: DeviceEventsQuery.parameters))
            let device = try await existingDevice(context)
            let (items, next) = try await deviceEvents.page(device: device, query)
            return try .json(Page(items: items, nextCursor: next))
        }
    }
}
