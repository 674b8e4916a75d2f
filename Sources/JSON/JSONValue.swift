/// A parsed JSON document: the one JSON value of tpbench, shared by the schema validator, workloads, reports and the
/// mock server (the client's hot path reads stream chunks with OpenAI's forward-only `JSONScanner` instead).
///
/// Numbers are kept as `Double`: JSON Schema compares numbers by mathematical value (`1` and `1.0` are equal, and
/// `1.0` is an `integer`), so remembering how a literal was spelled would only make `enum`/`const` wrong.
package enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    /// Parses strict RFC 8259 JSON; see ``JSONParseError`` for what is reported.
    package static func parse(_ text: String) throws(JSONParseError) -> JSONValue {
        var text = text
        // withUTF8 gives contiguous storage without copying for native strings; it is `rethrows`, which would
        // erase the error type, so the outcome travels out as a Result.
        let outcome = text.withUTF8 { bytes in
            var parser = JSONParser(bytes: bytes)
            return Result { () throws(JSONParseError) in try parser.parseDocument() }
        }
        return try outcome.get()
    }

    /// Parses strict RFC 8259 JSON from UTF-8 bytes; invalid UTF-8 inside strings is rejected.
    package static func parse(bytes: [UInt8]) throws(JSONParseError) -> JSONValue {
        let outcome = bytes.withUnsafeBufferPointer { buffer in
            var parser = JSONParser(bytes: buffer)
            return Result { () throws(JSONParseError) in try parser.parseDocument() }
        }
        return try outcome.get()
    }

    /// Structural equality as JSON Schema defines it for `enum`, `const` and `uniqueItems`: numbers by value,
    /// objects ignoring key order, and strings by code points. Swift's `String ==` uses canonical equivalence
    /// ("\u{E4}" equals "a\u{308}"), which the spec does not; object keys still hash that way, a known limit.
    package static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): true
        case (.bool(let left), .bool(let right)): left == right
        case (.number(let left), .number(let right)): left == right
        case (.string(let left), .string(let right)): left.utf8.elementsEqual(right.utf8)
        case (.array(let left), .array(let right)): left == right
        case (.object(let left), .object(let right)): left == right
        default: false
        }
    }

    /// The member `key` of an object; nil for other values and missing keys.
    package subscript(key: String) -> JSONValue? {
        if case .object(let object) = self { return object[key] }
        return nil
    }

    package var stringValue: String? { if case .string(let s) = self { s } else { nil } }
    package var doubleValue: Double? { if case .number(let n) = self { n } else { nil } }
    package var boolValue: Bool? { if case .bool(let b) = self { b } else { nil } }
    package var arrayValue: [JSONValue]? { if case .array(let a) = self { a } else { nil } }
    package var objectValue: JSONObject? { if case .object(let o) = self { o } else { nil } }
    package var isNull: Bool { if case .null = self { true } else { false } }

    /// An integral number, or nil for fractions and values beyond what an `Int` holds exactly.
    package var intValue: Int? {
        guard case .number(let n) = self, n.rounded() == n, abs(n) < 9e15 else { return nil }
        return Int(n)
    }

    /// True for numbers with no fractional part, as JSON Schema's `integer` type defines it.
    package var isInteger: Bool {
        if case .number(let value) = self { return value.isFinite && value.rounded(.towardZero) == value }
        return false
    }
}

/// A JSON object that remembers its keys' document order (for stable error messages and re-encoding) while
/// comparing as an unordered map, as JSON and JSON Schema's `const`/`enum` do.
package struct JSONObject: Sendable, Equatable {
    /// Keys in document order.
    package private(set) var keys: [String] = []
    private var storage: [String: JSONValue] = [:]

    package init() {}

    /// Builds an object from ordered pairs; a later duplicate key replaces the earlier value.
    package init(_ pairs: [(String, JSONValue)]) {
        for (key, value) in pairs { self[key] = value }
    }

    package var count: Int { keys.count }

    package subscript(key: String) -> JSONValue? {
        get { storage[key] }
        set {
            if let newValue {
                if storage.updateValue(newValue, forKey: key) == nil { keys.append(key) }
            } else if storage.removeValue(forKey: key) != nil {
                keys.removeAll { $0 == key }
            }
        }
    }

    /// Key/value pairs in document order.
    package var entries: [(key: String, value: JSONValue)] { keys.map { ($0, storage[$0]!) } }

    package static func == (lhs: JSONObject, rhs: JSONObject) -> Bool { lhs.storage == rhs.storage }
}

extension JSONValue: Codable {
    package init(from decoder: any Decoder) throws {
        if var array = try? decoder.unkeyedContainer() {
            var elements: [JSONValue] = []
            while !array.isAtEnd { elements.append(try array.decode(JSONValue.self)) }
            self = .array(elements)
            return
        }
        if let keyed = try? decoder.container(keyedBy: AnyKey.self) {
            // Decoders do not promise key order, so it is lost on this path; use `parse` to keep it.
            var object = JSONObject()
            for key in keyed.allKeys { object[key.stringValue] = try keyed.decode(JSONValue.self, forKey: key) }
            self = .object(object)
            return
        }
        let single = try decoder.singleValueContainer()
        if single.decodeNil() {
            self = .null
        } else if let value = try? single.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? single.decode(Double.self) {
            self = .number(value)
        } else {
            self = .string(try single.decode(String.self))
        }
    }

    package func encode(to encoder: any Encoder) throws {
        switch self {
        case .null:
            var single = encoder.singleValueContainer()
            try single.encodeNil()
        case .bool(let value):
            var single = encoder.singleValueContainer()
            try single.encode(value)
        case .number(let value):
            var single = encoder.singleValueContainer()
            try single.encode(value)
        case .string(let value):
            var single = encoder.singleValueContainer()
            try single.encode(value)
        case .array(let elements):
            var unkeyed = encoder.unkeyedContainer()
            for element in elements { try unkeyed.encode(element) }
        case .object(let object):
            var keyed = encoder.container(keyedBy: AnyKey.self)
            for (key, value) in object.entries { try keyed.encode(value, forKey: AnyKey(key)) }
        }
    }
}

private struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ string: String) { stringValue = string }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}
