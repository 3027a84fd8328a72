import CCurl
import OutpostSupport

#if canImport(Glibc)
import Glibc
#endif

/// One HTTPS request with libcurl, for the config endpoint. Blocking; callers run it off
/// the cooperative pool (``perform()``).
struct HTTPSRequest: Sendable {
    enum Trust: Sendable {
        /// Trust only this CA (PEM bytes, passed in memory).
        case certificateAuthority([UInt8])
        /// No verification: only for fetching the CA certificate, whose fingerprint is checked afterwards.
        case fingerprintCheckedLater
    }

    struct Response: Sendable {
        var status: Int
        var body: [UInt8]
    }

    /// Largest accepted response: certificates and errors are a few KiB.
    static let maxResponseBytes = 256 * 1024

    var method: String
    var url: String
    var body: [UInt8]?
    var trust: Trust
    /// PEM client certificate and key files (mutual TLS), for renewal.
    var clientCertificate: (certificate: String, key: String)?
    var timeoutSeconds: Int = 30

    func perform() async throws(EnrollmentError) -> Response {
        let result: Result<Response, EnrollmentError> = await withCheckedContinuation { continuation in
            NetworkThread.spawn(name: "outpost-https") {
                do throws(EnrollmentError) {
                    continuation.resume(returning: .success(try performBlocking()))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
        }
        return try result.get()
    }

    private final class Sink {
        var bytes: [UInt8] = []
        var overflow = false
    }

    func performBlocking() throws(EnrollmentError) -> Response {
        let curl = try Libcurl.shared.get().functions
        guard let handle = outpost_curl_easy_init(curl) else { throw EnrollmentError(.unreachable, "libcurl could not start") }
        defer { outpost_curl_easy_cleanup(curl, handle) }
        let sink = Sink()
        let unmanaged = Unmanaged.passRetained(sink)
        defer { unmanaged.release() }
        var headers: UnsafeMutablePointer<curl_slist>? = outpost_curl_slist_append(curl, nil, "Content-Type: application/json")
        headers = outpost_curl_slist_append(curl, headers, "Accept: application/json")
        defer { outpost_curl_slist_free_all(curl, headers) }

        var codes: [CURLcode] = []
        codes.append(outpost_curl_setopt_string(curl, handle, CURLOPT_URL, url))
        codes.append(outpost_curl_setopt_long(curl, handle, CURLOPT_NOSIGNAL, 1))
        codes.append(outpost_curl_setopt_long(curl, handle, CURLOPT_TIMEOUT, timeoutSeconds))
        codes.append(outpost_curl_setopt_long(curl, handle, CURLOPT_CONNECTTIMEOUT, 10))
        codes.append(outpost_curl_setopt_long(curl, handle, CURLOPT_FOLLOWLOCATION, 0))
        codes.append(outpost_curl_setopt_string(curl, handle, CURLOPT_PROTOCOLS_STR, "https"))
        codes.append(outpost_curl_setopt_slist(curl, handle, CURLOPT_HTTPHEADER, headers))
        codes.append(outpost_curl_setopt_string(curl, handle, CURLOPT_CUSTOMREQUEST, method))
        codes.append(outpost_curl_setopt_pointer(curl, handle, CURLOPT_WRITEDATA, unmanaged.toOpaque()))
        codes.append(outpost_curl_setopt_write_function(curl, handle) { data, size, count, userdata in
            let sink = Unmanaged<Sink>.fromOpaque(userdata!).takeUnretainedValue()
            let length = size * count
            guard sink.bytes.count + length <= HTTPSRequest.maxResponseBytes else {
                sink.overflow = true
                return 0
            }
            if let data { sink.bytes.append(contentsOf: UnsafeRawBufferPointer(start: data, count: length)) }
            return length
        })
        switch trust {
        case .certificateAuthority(let pem):
            codes.append(pem.withUnsafeBytes { outpost_curl_setopt_blob(curl, handle, CURLOPT_CAINFO_BLOB, $0.baseAddress, $0.count) })
            codes.append(outpost_curl_setopt_string(curl, handle, CURLOPT_CAPATH, nil))
            codes.append(outpost_curl_setopt_long(curl, handle, CURLOPT_SSL_VERIFYPEER, 1))
            codes.append(outpost_curl_setopt_long(curl, handle, CURLOPT_SSL_VERIFYHOST, 2))
        case .fingerprintCheckedLater:
            codes.append(outpost_curl_setopt_long(curl, handle, CURLOPT_SSL_VERIFYPEER, 0))
            codes.append(outpost_curl_setopt_long(curl, handle, CURLOPT_SSL_VERIFYHOST, 0))
        }
        if let clientCertificate, !clientCertificate.certificate.isEmpty {
            codes.append(outpost_curl_setopt_string(curl, handle, CURLOPT_SSLCERT, clientCertificate.certificate))
            codes.append(outpost_curl_setopt_string(curl, handle, CURLOPT_SSLKEY, clientCertificate.key))
        }
        var payload = body ?? []
        let rc: CURLcode = payload.withUnsafeMutableBytes { buffer in
            if body != nil {
                _ = outpost_curl_setopt_long(curl, handle, CURLOPT_POSTFIELDSIZE, buffer.count)
                _ = outpost_curl_setopt_pointer(curl, handle, CURLOPT_POSTFIELDS, buffer.baseAddress ?? UnsafeMutableRawPointer(bitPattern: 1))
            }
            if let failed = codes.first(where: { $0 != CURLE_OK }) { return failed }
            return outpost_curl_easy_perform(curl, handle)
        }
        guard rc == CURLE_OK else {
            let reason = String(cString: outpost_curl_easy_strerror(curl, rc))
            switch rc {
            case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_OPERATION_TIMEDOUT, CURLE_SEND_ERROR, CURLE_RECV_ERROR,
                 CURLE_GOT_NOTHING:
                throw EnrollmentError(.unreachable, "\(url): \(reason)")
            case CURLE_WRITE_ERROR where sink.overflow:
                throw EnrollmentError(.badResponse, "\(url): the answer is larger than \(Self.maxResponseBytes) bytes")
            case CURLE_UNSUPPORTED_PROTOCOL, CURLE_URL_MALFORMAT:
                throw EnrollmentError(.invalidArgument, "\(url) is not an https URL")
            default:
                throw EnrollmentError(.tls, "\(url): \(reason)")
            }
        }
        var status = 0
        _ = outpost_curl_getinfo_long(curl, handle, CURLINFO_RESPONSE_CODE, &status)
        return Response(status: status, body: sink.bytes)
    }
}

/// libcurl's functions, opened on the first request (`Common/CCurl/shim.h` says why it is not linked).
private struct Libcurl: @unchecked Sendable {
    /// Filled by `outpost_curl_open` before `shared` publishes it and never written after.
    let functions: UnsafePointer<outpost_curl>

    /// Opened with the first request; after a failure, again with the next one.
    static let shared = RetryingLazy<Libcurl, EnrollmentError> {
        var missing: UnsafePointer<CChar>?
        guard let functions = outpost_curl_open(&missing) else {
            let reason = missing.map { "\(String(cString: $0)) is missing" } ?? "out of memory"
            return .failure(EnrollmentError(.unreachable, "libcurl could not start: \(reason)"))
        }
        return .success(Libcurl(functions: functions))
    }
}
