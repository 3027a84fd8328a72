#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import OutpostSupport

/// Encodes and strictly decodes every ``WireMessage``.
///
/// Decoding checks, in order: payload size, JSON syntax, UTF-8, duplicate keys, nesting
/// and storable text (``JSONScanner``, one linear pass before any value is built), shape and types, schema version,
/// the device named in the topic, then each message's own semantic rules. Every
/// refusal is a ``WireError`` with a stable code.
public struct WireCodec: Sendable {
    public var limits: WireLimits

    public init(limits: WireLimits = .standard) {
        self.limits = limits
    }

    /// Encodes a message; a ``TelemetryBatch`` is written directly (`JSONEncoder`'s tokens).
    public func encode<M: WireMessage>(_ message: M) throws -> [UInt8] {
        if let batch = message as? TelemetryBatch { return try batch.encodedDirectly() }
        return try encodeThroughFoundation(message)
    }

    /// `JSONEncoder`'s bytes: the other messages, and the reference for the direct encoder.
    func encodeThroughFoundation<M: WireMessage>(_ message: M) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return Array(try encoder.encode(message))
    }

    /// Decodes and validates a payload.
    ///
    /// ``TelemetryBatch`` is read straight from the bytes (``JSONReader``); the other
    /// messages go through Foundation's `JSONDecoder`. Both give the same codes.
    ///
    /// - Parameters:
    ///   - payload: the raw MQTT payload.
    ///   - topicDevice: the device named by the topic the payload arrived on; the payload must name the same one.
    ///   - nowMs: the current time, for timestamp sanity checks. Defaults to the system clock.
    public func decode<M: WireMessage>(
        _ type: M.Type, from payload: some Collection<UInt8>, topicDevice: DeviceID? = nil, nowMs: Int64 = WireClock.nowMs()
    ) throws(WireError) -> M {
        try decode(type, from: payload, topicDevice: topicDevice, nowMs: nowMs, directly: true)
    }

    /// `directly: false` sends every message through `JSONDecoder`: the reference the direct
    /// decoders are compared with (`DirectDecoderTests`, the wire fuzzer).
    func decode<M: WireMessage>(
        _ type: M.Type, from payload: some Collection<UInt8>, topicDevice: DeviceID?, nowMs: Int64, directly: Bool
    ) throws(WireError) -> M {
        try JSONScanner(limits: limits).scan(payload)
        let message: M
        if directly, let direct = M.self as? any DirectlyDecodedMessage.Type {
            // The cast cannot fail: `direct` is `M.self`.
            message = try Self.withReader(payload) { reader throws(WireError) in try direct.decodeDirectly(from: reader) } as! M
        } else {
            message = try decodeThroughFoundation(M.self, Data(payload))
        }
        guard message.v == M.schemaVersion else {
            throw WireError(.unsupportedVersion, "version \(message.v) is not \(M.schemaVersion)")
        }
        if let topicDevice, let named = message.deviceField, named != topicDevice {
            throw WireError(.deviceMismatch, "payload names \(named) but the topic names \(topicDevice)")
        }
        try message.validate(limits: limits, nowMs: nowMs)
        return message
    }

    private static func withReader<R>(
        _ payload: some Collection<UInt8>, _ body: (JSONReader) throws(WireError) -> R
    ) throws(WireError) -> R {
        let result: Result<R, WireError>? = payload.withContiguousStorageIfAvailable { bytes in
            Result { () throws(WireError) in try body(JSONReader(bytes: bytes)) }
        }
        if let result { return try result.get() }
        return try Array(payload).withUnsafeBufferPointer { bytes throws(WireError) in try body(JSONReader(bytes: bytes)) }
    }

    private func decodeThroughFoundation<M: WireMessage>(_ type: M.Type, _ data: Data) throws(WireError) -> M {
        do {
            return try JSONDecoder().decode(M.self, from: data)
        } catch let error as WireError {
            try rejectUnsupportedVersion(M.self, data)
            throw error
        } catch let error as DecodingError {
            try rejectUnsupportedVersion(M.self, data)
            let mapped = WireCodec.map(error)
            // Syntactically valid JSON whose value does not fit the field (1.5 for a seq, 1e999 for a double) is a type error.
            if mapped.code == .malformedJSON, (try? JSONDecoder().decode(JSONValue.self, from: data)) != nil {
                throw WireError(.wrongType, mapped.context)
            }
            throw mapped
        } catch {
            throw WireError(.malformedJSON, "\(error)")
        }
    }

    /// When the shape is wrong, a different version explains why better than the shape error does.
    private func rejectUnsupportedVersion<M: WireMessage>(_ type: M.Type, _ data: Data) throws(WireError) {
        guard let probe = try? JSONDecoder().decode(VersionProbe.self, from: data), probe.v != M.schemaVersion else { return }
        throw WireError(.unsupportedVersion, "version \(probe.v) is not \(M.schemaVersion)")
    }

    static func map(_ error: DecodingError) -> WireError {
        func path(_ codingPath: [any CodingKey]) -> String {
            codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
        }
        switch error {
        case .keyNotFound(let key, let context):
            return WireError(.missingField, "missing \(path(context.codingPath + [key]))")
        case .typeMismatch(let type, let context):
            return WireError(.wrongType, "\(path(context.codingPath)) is not a \(type)")
        case .valueNotFound(let type, let context):
            return WireError(.wrongType, "\(path(context.codingPath)) is null, expected \(type)")
        case .dataCorrupted(let context):
            if let wire = context.underlyingError as? WireError { return wire }
            if context.codingPath.isEmpty {
                return WireError(.malformedJSON, context.debugDescription)
            }
            return WireError(.wrongType, "\(path(context.codingPath)): \(context.debugDescription)")
        @unknown default:
            return WireError(.malformedJSON, "\(error)")
        }
    }
}

private struct VersionProbe: Decodable {
    var v: Int
}

/// Wall-clock time in UTC milliseconds, the unit of every timestamp on the wire.
public enum WireClock {
    public static func nowMs() -> Int64 {
        Int64((Date().timeIntervalSince1970 * 1000).rounded())
    }
}
