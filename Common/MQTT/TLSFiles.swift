#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Checks the TLS files before libmosquitto sees them: its own refusal ("Invalid function
/// arguments provided") names neither the file nor the reason.
enum TLSFiles {
    /// Throws `.invalidConfiguration` naming the first file that is missing, unreadable or not PEM.
    static func check(_ tls: MQTTConfiguration.TLS) throws(MQTTError) {
        let files = [("CA", tls.caFile), ("certificate", tls.certificateFile), ("key", tls.keyFile)]
        for case let (role, path?) in files {
            if let reason = problem(path) {
                throw MQTTError(.invalidConfiguration, "TLS \(role) file \(path): \(reason)")
            }
        }
    }

    /// Why `path` cannot serve as a PEM file for this process, or nil when it can.
    static func problem(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let error = errno
            switch error {
            case ENOENT: return "missing"
            case EACCES: return "permission denied for uid \(geteuid()) gid \(getegid())\(ownership(path))"
            default: return String(cString: strerror(error))
            }
        }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 65_536)
        let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard count >= 0 else { return String(cString: strerror(errno)) }
        guard count > 0 else { return "empty" }
        let text = String(decoding: buffer[..<count], as: UTF8.self)
        return text.contains("-----BEGIN ") ? nil : "not PEM (no -----BEGIN line)"
    }

    /// "; the file is 0600 owned by 0:0", or nothing when it cannot be seen.
    private static func ownership(_ path: String) -> String {
        var info = stat()
        guard stat(path, &info) == 0 else { return "" }
        return "; the file is 0\(String(info.st_mode & 0o777, radix: 8)) owned by \(info.st_uid):\(info.st_gid)"
    }
}

/// OpenSSL's report of a TLS alert in which the broker refuses our certificate, as
/// libmosquitto logs it (`OpenSSL Error[0]: error:0A000414:SSL routines::sslv3 alert certificate revoked`).
enum TLSAlert {
    private static let refusals = [
        "certificate revoked", "certificate expired", "bad certificate", "unknown ca", "certificate unknown",
        "certificate required", "unsupported certificate", "access denied",
    ]

    /// The alert ("alert certificate revoked"), or nil when the line is not such a refusal.
    static func certificateRefusal(in line: String) -> String? {
        guard let start = line.firstRange(of: "alert ") else { return nil }
        let alert = String(line[start.lowerBound...])
        return refusals.contains { alert.hasSuffix($0) } ? alert : nil
    }
}
