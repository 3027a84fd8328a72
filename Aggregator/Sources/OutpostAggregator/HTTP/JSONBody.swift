import Foundation
import OutpostSupport
import OutpostWire

/// A response body written as JSON directly, byte for byte as ``APIJSON/encoder`` writes it
/// (sorted keys, slashes unescaped, RFC 3339 dates with milliseconds), without
/// `JSONEncoder`'s generic containers: the hot list responses (a device page, a readings
/// page) spent most of the aggregator's time per request in them. `JSONBodyTests` compares
/// the bytes with `APIJSON.encoder`'s over random and hostile values.
///
/// A conforming type writes its members in the sorted order of their keys.
protocol JSONBodyEncodable: Encodable {
    func write(to body: inout JSONBody) throws
}

/// The bytes of a JSON document being written. Members are written with ``key(_:)`` before
/// their value; commas are placed by ``open(_:)``, ``key(_:)``, ``element()`` and ``close(_:)``.
struct JSONBody {
    private(set) var bytes: [UInt8] = []
    /// Whether the container being written has no member yet (no comma before the next).
    private var empty = true

    init(capacity: Int) {
        bytes.reserveCapacity(capacity)
    }

    mutating func open(_ bracket: Character) {
        bytes.append(bracket == "[" ? UInt8(ascii: "[") : UInt8(ascii: "{"))
        empty = true
    }

    mutating func close(_ bracket: Character) {
        bytes.append(bracket == "]" ? UInt8(ascii: "]") : UInt8(ascii: "}"))
        empty = false
    }

    /// An object's next key, the comma before it when it is not the first.
    mutating func key(_ name: StaticString) {
        if !empty { bytes.append(UInt8(ascii: ",")) }
        bytes.append(UInt8(ascii: "\""))
        name.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: "\":".utf8)
        empty = true
    }

    /// An array's next element: the comma before it when it is not the first.
    mutating func element() {
        if !empty { bytes.append(UInt8(ascii: ",")) }
        empty = true
    }

    mutating func null() {
        bytes.append(contentsOf: "null".utf8)
        empty = false
    }

    mutating func string(_ text: String) {
        JSONString.append(text, to: &bytes)
        empty = false
    }

    /// An array of `items`, each writing itself.
    mutating func array<Item: JSONBodyEncodable>(_ items: [Item]) throws {
        open("[")
        for item in items {
            element()
            try item.write(to: &self)
        }
        close("]")
    }

    mutating func string(_ text: String?) {
        if let text { string(text) } else { null() }
    }

    mutating func integer(_ value: Int64) {
        bytes.append(contentsOf: String(value).utf8)
        empty = false
    }

    mutating func integer(_ value: Int64?) {
        if let value { integer(value) } else { null() }
    }

    /// The shortest form that reads back as `value`, without a trailing `.0` (`JSONEncoder`'s
    /// spelling). A non-finite value throws as `JSONEncoder` does.
    mutating func number(_ value: Double) throws {
        guard value.isFinite else {
            throw EncodingError.invalidValue(value, .init(codingPath: [], debugDescription: "\(value) is not a JSON number"))
        }
        let text = value.description.utf8
        if text.count > 2, text.last == UInt8(ascii: "0"), text[text.index(text.endIndex, offsetBy: -2)] == UInt8(ascii: ".") {
            bytes.append(contentsOf: text.dropLast(2))
        } else {
            bytes.append(contentsOf: text)
        }
        empty = false
    }

    mutating func bool(_ value: Bool) {
        bytes.append(contentsOf: value ? "true".utf8 : "false".utf8)
        empty = false
    }

    mutating func date(_ date: Date) {
        bytes.append(UInt8(ascii: "\""))
        RFC3339.append(date, to: &bytes)
        bytes.append(UInt8(ascii: "\""))
        empty = false
    }

    mutating func date(_ date: Date?) {
        if let date { self.date(date) } else { null() }
    }

    mutating func strings(_ items: [String]) {
        open("[")
        for item in items {
            element()
            string(item)
        }
        close("]")
    }

    /// Free-form JSON, object members in the order of their keys' UTF-8 bytes (as `JSONEncoder` sorts them).
    mutating func value(_ value: JSONValue) throws {
        switch value {
        case .null: null()
        case .bool(let flag): bool(flag)
        case .number(let number): try self.number(number)
        case .string(let text): string(text)
        case .array(let items):
            open("[")
            for item in items {
                element()
                try self.value(item)
            }
            close("]")
        case .object(let members):
            open("{")
            for (name, member) in members.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }) {
                if !empty { bytes.append(UInt8(ascii: ",")) }
                string(name)
                bytes.append(UInt8(ascii: ":"))
                empty = true
                try self.value(member)
            }
            close("}")
        }
    }

}
