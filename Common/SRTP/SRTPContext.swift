import CSRTP
import OutpostStreaming
import OutpostSupport

#if canImport(Glibc)
import Glibc
#endif

/// One libsrtp2 session (AES_CM_128_HMAC_SHA1_80), the only place the agent calls libsrtp.
/// An outbound context protects RTP and RTCP; an inbound one checks and decrypts SRTCP.
/// Not thread-safe: a stream engine owns its contexts on its own thread.
package final class SRTPContext {
    package enum Direction { case outbound, inbound }

    /// Bytes that protection may add to a packet (auth tag, SRTCP index).
    package static let maximumTrailer = Int(outpost_srtp_max_trailer_length())

    /// Opened with the first context; after a failure, again with the next one.
    private static let library = RetryingLazy<Libsrtp, StreamError> {
        var missing: UnsafePointer<CChar>?
        guard let functions = outpost_srtp_open(&missing) else {
            let reason = missing.map { "\(String(cString: $0)) is missing" } ?? "out of memory"
            return .failure(StreamError(.srtpFailed, "libsrtp2 could not be opened: \(reason)"))
        }
        let status = outpost_srtp_init(functions)
        guard status == srtp_err_status_ok else {
            // The next stream opens the library again; this table and its reference would leak.
            outpost_srtp_close(functions)
            return .failure(StreamError(.srtpFailed, "srtp_init failed with status \(status.rawValue)"))
        }
        return .success(Libsrtp(functions: functions))
    }

    private let srtp: UnsafePointer<outpost_srtp>
    private var session: srtp_t?

    package init(key: SRTPKey, direction: Direction) throws(StreamError) {
        let srtp = try Self.library.get().functions
        self.srtp = srtp
        var policy = srtp_policy_t()
        outpost_srtp_crypto_policy_set_rtp_default(srtp, &policy.rtp)
        outpost_srtp_crypto_policy_set_rtcp_default(srtp, &policy.rtcp)
        policy.ssrc.type = direction == .outbound ? ssrc_any_outbound : ssrc_any_inbound
        policy.window_size = 1024
        // NACK retransmissions repeat a sequence number with the same payload (RFC 3711 §3.3.2).
        policy.allow_repeat_tx = direction == .outbound ? 1 : 0
        var keyBytes = key.bytes
        let status = keyBytes.withUnsafeMutableBufferPointer { buffer -> srtp_err_status_t in
            policy.key = buffer.baseAddress
            return outpost_srtp_create(srtp, &session, &policy)
        }
        guard status == srtp_err_status_ok else {
            throw StreamError(.srtpFailed, "srtp_create failed with status \(status.rawValue)")
        }
    }

    deinit {
        if let session { _ = outpost_srtp_dealloc(srtp, session) }
    }

    /// The SRTP form of an RTP packet.
    package func protectRTP(_ packet: [UInt8]) throws(StreamError) -> [UInt8] {
        try transform(packet, grow: true) { outpost_srtp_protect(srtp, $0, $1, $2) }
    }

    /// The SRTCP form of a compound RTCP packet.
    package func protectRTCP(_ packet: [UInt8]) throws(StreamError) -> [UInt8] {
        try transform(packet, grow: true) { outpost_srtp_protect_rtcp(srtp, $0, $1, $2) }
    }

    /// The plain RTCP inside an SRTCP packet; throws when authentication or replay checks fail.
    package func unprotectRTCP(_ packet: [UInt8]) throws(StreamError) -> [UInt8] {
        try transform(packet, grow: false) { outpost_srtp_unprotect_rtcp(srtp, $0, $1, $2) }
    }

    /// The plain RTP inside an SRTP packet (for receivers and tests).
    package func unprotectRTP(_ packet: [UInt8]) throws(StreamError) -> [UInt8] {
        try transform(packet, grow: false) { outpost_srtp_unprotect(srtp, $0, $1, $2) }
    }

    private func transform(_ packet: [UInt8], grow: Bool,
                           _ operation: (srtp_t?, UnsafeMutableRawPointer?, UnsafeMutablePointer<Int32>) -> srtp_err_status_t) throws(StreamError) -> [UInt8]
    {
        var buffer = packet
        if grow { buffer.append(contentsOf: repeatElement(0, count: Self.maximumTrailer)) }
        var length = Int32(packet.count)
        let status = buffer.withUnsafeMutableBytes { operation(session, $0.baseAddress, &length) }
        guard status == srtp_err_status_ok else {
            let code: StreamError.Code = status == srtp_err_status_auth_fail || status == srtp_err_status_replay_fail
                || status == srtp_err_status_replay_old ? .srtpRejected : .srtpFailed
            throw StreamError(code, "libsrtp status \(status.rawValue)")
        }
        buffer.removeSubrange(Int(length)...)
        return buffer
    }
}

/// libsrtp2's functions, opened with the first context (`Common/CSRTP/shim.h` says why it is not linked).
private struct Libsrtp: @unchecked Sendable {
    /// Filled by `outpost_srtp_open` before `SRTPContext.library` publishes it and never written after.
    let functions: UnsafePointer<outpost_srtp>
}
