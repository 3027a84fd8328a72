import CSRTP
import OutpostStreaming

/// One libsrtp2 session (AES_CM_128_HMAC_SHA1_80), the only place the agent calls libsrtp.
/// An outbound context protects RTP and RTCP; an inbound one checks and decrypts SRTCP.
/// Not thread-safe: a stream engine owns its contexts on its own thread.
package final class SRTPContext {
    package enum Direction { case outbound, inbound }

    /// Bytes that protection may add to a packet (auth tag, SRTCP index).
    package static let maximumTrailer = Int(outpost_srtp_max_trailer_length())

    private static let initialized: Result<Void, StreamError> = {
        let status = srtp_init()
        return status == srtp_err_status_ok ? .success(()) : .failure(StreamError(.srtpFailed, "srtp_init failed with status \(status.rawValue)"))
    }()

    private var session: srtp_t?

    package init(key: SRTPKey, direction: Direction) throws(StreamError) {
        try Self.initialized.get()
        var policy = srtp_policy_t()
        srtp_crypto_policy_set_rtp_default(&policy.rtp)
        srtp_crypto_policy_set_rtcp_default(&policy.rtcp)
        policy.ssrc.type = direction == .outbound ? ssrc_any_outbound : ssrc_any_inbound
        policy.window_size = 1024
        // NACK retransmissions repeat a sequence number with the same payload (RFC 3711 §3.3.2).
        policy.allow_repeat_tx = direction == .outbound ? 1 : 0
        var keyBytes = key.bytes
        let status = keyBytes.withUnsafeMutableBufferPointer { buffer -> srtp_err_status_t in
            policy.key = buffer.baseAddress
            return srtp_create(&session, &policy)
        }
        guard status == srtp_err_status_ok else {
            throw StreamError(.srtpFailed, "srtp_create failed with status \(status.rawValue)")
        }
    }

    deinit {
        if let session { srtp_dealloc(session) }
    }

    /// The SRTP form of an RTP packet.
    package func protectRTP(_ packet: [UInt8]) throws(StreamError) -> [UInt8] {
        try transform(packet, grow: true) { srtp_protect($0, $1, $2) }
    }

    /// The SRTCP form of a compound RTCP packet.
    package func protectRTCP(_ packet: [UInt8]) throws(StreamError) -> [UInt8] {
        try transform(packet, grow: true) { srtp_protect_rtcp($0, $1, $2) }
    }

    /// The plain RTCP inside an SRTCP packet; throws when authentication or replay checks fail.
    package func unprotectRTCP(_ packet: [UInt8]) throws(StreamError) -> [UInt8] {
        try transform(packet, grow: false) { srtp_unprotect_rtcp($0, $1, $2) }
    }

    /// The plain RTP inside an SRTP packet (for receivers and tests).
    package func unprotectRTP(_ packet: [UInt8]) throws(StreamError) -> [UInt8] {
        try transform(packet, grow: false) { srtp_unprotect($0, $1, $2) }
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
