#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Loads a configuration: a JSON file, then environment overrides, decoded into a
/// `Codable` type whose defaults live in its own `init(from:)`.
///
/// - Keys in the file are `snake_case`; nested objects are sections (`mqtt.port`).
/// - An environment variable `PREFIX` + path joined by `__` overrides a key, e.g.
///   `OUTPOST_MQTT__PORT=8883` sets `mqtt.port`. Its value is taken as JSON when it
///   parses as JSON and the key is not a string in the file; otherwise as a string.
/// - Unknown keys are refused, so a typo is an error rather than a silent default.
public struct ConfigLoader: Sendable {
    public var environmentPrefix: String
    public var environment: [String: String]

    public init(environmentPrefix: String = "OUTPOST_", environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.environmentPrefix = environmentPrefix
        self.environment = environment
    }

    /// Reads `path` (or starts from `{}` when `path` is nil) and decodes `T`.
    public func load<T: Codable>(_ type: T.Type, path: String?) throws(ConfigError) -> T {
        var tree: JSONValue = [:]
        if let path {
            let data: Data
            do {
                data = try Data(contentsOf: URL(fileURLWithPath: path))
            } catch {
                throw ConfigError(.unreadableFile, key: "", "cannot read \(path): \(error)")
            }
            do {
                tree = try JSONDecoder().decode(JSONValue.self, from: data)
            } catch {
                throw ConfigError(.malformedFile, key: "", "\(path) is not valid JSON")
            }
            guard case .object = tree else { throw ConfigError(.malformedFile, key: "", "\(path) must hold a JSON object") }
        }
        return try decode(type, from: applyingEnvironment(to: tree))
    }

    /// Decodes `T` from an in-memory tree; also used by tests.
    public func decode<T: Codable>(_ type: T.Type, from tree: JSONValue) throws(ConfigError) -> T {
        let value: T
        do {
            let data = try JSONEncoder().encode(tree)
            let decoder = JSONDecoder()
            decoder.keyDecodingStrategy = .convertFromSnakeCase
            value = try decoder.decode(T.self, from: data)
        } catch let error as ConfigError {
            throw error
        } catch let error as DecodingError {
            throw Self.map(error)
        } catch {
            throw ConfigError(.malformedFile, key: "", "\(error)")
        }
        try rejectUnknownKeys(tree, known: value)
        return value
    }

    func applyingEnvironment(to tree: JSONValue) -> JSONValue {
        var result = tree
        for (name, raw) in environment.sorted(by: { $0.key < $1.key }) where name.hasPrefix(environmentPrefix) {
            let path = name.dropFirst(environmentPrefix.count).lowercased()
                .split(separator: "__", omittingEmptySubsequences: false).map(String.init)
            guard !path.contains(where: \.isEmpty) else { continue }
            let existing = Self.value(at: path, in: tree)
            let parsed: JSONValue
            if case .string = existing {
                parsed = .string(raw)
            } else {
                parsed = (try? JSONDecoder().decode(JSONValue.self, from: Data(raw.utf8))) ?? .string(raw)
            }
            Self.set(parsed, at: path[...], in: &result)
        }
        return result
    }

    private static func value(at path: [String], in tree: JSONValue) -> JSONValue? {
        path.reduce(Optional(tree)) { node, key in node?[key] }
    }

    private static func set(_ value: JSONValue, at path: ArraySlice<String>, in tree: inout JSONValue) {
        guard let key = path.first else {
            tree = value
            return
        }
        var members: [String: JSONValue] = if case .object(let existing) = tree { existing } else { [:] }
        var child = members[key] ?? .object([:])
        set(value, at: path.dropFirst(), in: &child)
        members[key] = child
        tree = .object(members)
    }

    /// Any key in the input that does not survive a decode/encode round trip is unknown to `T`.
    private func rejectUnknownKeys<T: Codable>(_ input: JSONValue, known value: T) throws(ConfigError) {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        guard let data = try? encoder.encode(value), let known = try? JSONDecoder().decode(JSONValue.self, from: data) else {
            return
        }
        if let unknown = Self.firstUnknownKey(input, known, path: []) {
            throw ConfigError(.unknownKey, key: unknown, "is not a known setting")
        }
    }

    private static func firstUnknownKey(_ input: JSONValue, _ known: JSONValue, path: [String]) -> String? {
        guard case .object(let inputMembers) = input, case .object(let knownMembers) = known else { return nil }
        for key in inputMembers.keys.sorted() {
            guard let knownChild = knownMembers[key] else {
                // An explicit null for an optional setting encodes as absent; it is not unknown.
                if inputMembers[key] == .null { continue }
                return (path + [key]).joined(separator: ".")
            }
            if let unknown = firstUnknownKey(inputMembers[key]!, knownChild, path: path + [key]) { return unknown }
        }
        return nil
    }

    static func map(_ error: DecodingError) -> ConfigError {
        func key(_ codingPath: [any CodingKey]) -> String {
            codingPath.map { $0.intValue.map { "[\($0)]" } ?? snakeCase($0.stringValue) }.joined(separator: ".")
                .replacing(".[", with: "[")
        }
        switch error {
        case .keyNotFound(let missing, let context):
            return ConfigError(.missingKey, key: key(context.codingPath + [missing]), "is required")
        case .typeMismatch(let type, let context):
            return ConfigError(.wrongType, key: key(context.codingPath), "expected \(describe(type))")
        case .valueNotFound(let type, let context):
            return ConfigError(.wrongType, key: key(context.codingPath), "is null, expected \(describe(type))")
        case .dataCorrupted(let context):
            return ConfigError(.invalidValue, key: key(context.codingPath), context.debugDescription)
        @unknown default:
            return ConfigError(.malformedFile, key: "", "\(error)")
        }
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Bool.Type: "true or false"
        case is Int.Type, is Int64.Type, is Int32.Type, is UInt16.Type, is UInt32.Type: "an integer"
        case is Double.Type: "a number"
        default: "\(type)"
        }
    }

    static func snakeCase(_ name: String) -> String {
        var result = ""
        for character in name {
            if character.isUppercase {
                result += "_" + character.lowercased()
            } else {
                result.append(character)
            }
        }
        return result
    }
}

extension KeyedDecodingContainer {
    /// Decodes an optional setting, falling back to its documented default.
    public func value<V: Decodable>(_ key: Key, default fallback: @autoclosure () -> V) throws -> V {
        try decodeIfPresent(V.self, forKey: key) ?? fallback()
    }

    /// Decodes a setting and checks it, naming the key in the error when the check fails.
    public func value<V: Decodable>(_ key: Key, default fallback: @autoclosure () -> V, where valid: (V) -> Bool, _ problem: String)
        throws -> V
    {
        let value = try decodeIfPresent(V.self, forKey: key) ?? fallback()
        guard valid(value) else {
            let path = (codingPath + [key]).map { ConfigLoader.snakeCase($0.stringValue) }.joined(separator: ".")
            throw ConfigError(.invalidValue, key: path, problem)
        }
        return value
    }
}
