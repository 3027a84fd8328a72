#if canImport(Glibc)
import Glibc
#endif

/// An IPv4 or IPv6 socket address, numeric only.
public struct SocketAddress: Sendable, Hashable, CustomStringConvertible {
    public enum Family: Sendable, Hashable {
        case ipv4
        case ipv6
    }

    /// The numeric host, e.g. `192.168.1.20` or `fe80::1`.
    public let host: String
    public let port: Int
    public let family: Family

    public init(host: String, port: Int, family: Family) {
        self.host = host
        self.port = port
        self.family = family
    }

    public var description: String { family == .ipv6 ? "[\(host)]:\(port)" : "\(host):\(port)" }

    public func withPort(_ port: Int) -> SocketAddress { SocketAddress(host: host, port: port, family: family) }

    /// True for 0.0.0.0 and ::, which must never appear in an SDP offer.
    public var isUnspecified: Bool { host == "0.0.0.0" || host == "::" }

    public var isLoopback: Bool { host.hasPrefix("127.") || host == "::1" }

    var addressFamily: Int32 { family == .ipv4 ? AF_INET : AF_INET6 }

    /// Resolves `host` (a name or a literal) to its first datagram address.
    public static func resolve(host: String, port: Int) throws(StreamError) -> SocketAddress {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_DGRAM.rawValue)
        hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG
        var result: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &result)
        guard rc == 0, let first = result else {
            throw StreamError(.resolveFailed, "cannot resolve \(host): \(String(cString: gai_strerror(rc)))")
        }
        defer { freeaddrinfo(result) }
        var storage = sockaddr_storage()
        withUnsafeMutableBytes(of: &storage) { raw in
            raw.copyMemory(from: UnsafeRawBufferPointer(start: first.pointee.ai_addr, count: Int(first.pointee.ai_addrlen)))
        }
        guard let address = SocketAddress(storage) else { throw StreamError(.resolveFailed, "\(host) has no IPv4 or IPv6 address") }
        return address
    }

    /// From a kernel address; nil for other families.
    init?(_ storage: sockaddr_storage) {
        var storage = storage
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        switch Int32(storage.ss_family) {
        case AF_INET:
            let (address, port) = withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { ($0.pointee.sin_addr, $0.pointee.sin_port) }
            }
            var raw = address
            inet_ntop(AF_INET, &raw, &text, socklen_t(text.count))
            self.init(host: Self.text(text), port: Int(UInt16(bigEndian: port)), family: .ipv4)
        case AF_INET6:
            let (address, port) = withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { ($0.pointee.sin6_addr, $0.pointee.sin6_port) }
            }
            var raw = address
            inet_ntop(AF_INET6, &raw, &text, socklen_t(text.count))
            self.init(host: Self.text(text), port: Int(UInt16(bigEndian: port)), family: .ipv6)
        default:
            return nil
        }
    }

    /// A NUL-terminated C string from `inet_ntop`.
    private static func text(_ characters: [CChar]) -> String {
        String(decoding: characters.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Calls `body` with this address as a kernel `sockaddr`.
    func withSockaddr<T>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T {
        switch family {
        case .ipv4:
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = UInt16(port).bigEndian
            inet_pton(AF_INET, host, &address.sin_addr)
            return withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        case .ipv6:
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = UInt16(port).bigEndian
            inet_pton(AF_INET6, host, &address.sin6_addr)
            return withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        }
    }
}
