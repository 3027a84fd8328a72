/// The OpenAPI 3.1 document of the admin API, served byte for byte at `/api/v1/openapi.json`.
///
/// Hand-written in `openapi.json` beside this file and compiled into the binary
/// (`.embedInCode`), so no resource bundle has to be installed. The tests check every
/// response they see against it, and that its operations are exactly ``AccessPolicy/rules``.
enum OpenAPIDocument {
    static let json = String(decoding: PackageResources.openapi_json, as: UTF8.self)
}
