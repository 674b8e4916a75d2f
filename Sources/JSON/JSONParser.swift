/// Why a text is not JSON, and where.
package struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
    package var message: String
    /// Byte offset into the UTF-8 input where the problem was found.
    package var offset: Int
    /// True when the input ended mid-document: the signature of output cut off at `max_tokens`.
    package var reachedEndOfInput: Bool

    package var description: String { "\(message) at byte \(offset)" }
}

/// A strict RFC 8259 recursive-descent parser over UTF-8 bytes.
///
/// Hand-written rather than `JSONSerialization` so that it rejects what RFC 8259 rejects (trailing commas, lone
/// surrogates, leading zeros, trailing garbage), reports byte offsets, tells "ended early" from "malformed", and
/// builds `JSONValue` directly instead of bridging through `Any`.
struct JSONParser {
    private let bytes: UnsafeBufferPointer<UInt8>
    private var index = 0
    private var depth = 0
    /// Deep enough for any real response, shallow enough that recursion cannot exhaust the stack.
    private static let maxDepth = 512

    init(bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    mutating func parseDocument() throws(JSONParseError) -> JSONValue {
        skipWhitespace()
        let value = try parseValue()
        skipWhitespace()
        if index < bytes.count { throw failure("unexpected \(describeCurrentByte()) after the JSON value") }
        return value
    }

    private mutating func parseValue() throws(JSONParseError) -> JSONValue {
        guard index < bytes.count else { throw failure("unexpected end of input, expected a value") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"):
            try expectLiteral("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try expectLiteral("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try expectLiteral("null")
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return .number(try parseNumber())
        default:
            throw failure("unexpected \(describeCurrentByte()), expected a value")
        }
    }

    private mutating func parseObject() throws(JSONParseError) -> JSONValue {
        try enterContainer()
        index += 1  // "{"
        var object = JSONObject()
        skipWhitespace()
        if consume(UInt8(ascii: "}")) {
            depth -= 1
            return .object(object)
        }
        while true {
            guard index < bytes.count else { throw failure("unexpected end of input, expected a key") }
            guard bytes[index] == UInt8(ascii: "\"") else {
                throw failure("unexpected \(describeCurrentByte()), expected a string key")
            }
            let keyOffset = index
            let key = try parseString()
            // Duplicate keys make the document ambiguous (RFC 8259 §4); a validator must not pick one silently.
            if object[key] != nil {
                throw JSONParseError(message: "duplicate key \"\(key)\"", offset: keyOffset, reachedEndOfInput: false)
            }
            skipWhitespace()
            try expect(UInt8(ascii: ":"), "':' after the key")
            skipWhitespace()
            object[key] = try parseValue()
            skipWhitespace()
            if consume(UInt8(ascii: "}")) { break }
            try expect(UInt8(ascii: ","), "',' or '}'")
            skipWhitespace()
        }
        depth -= 1
        return .object(object)
    }

    private mutating func parseArray() throws(JSONParseError) -> JSONValue {
        try enterContainer()
        index += 1  // "["
        var elements: [JSONValue] = []
        skipWhitespace()
        if consume(UInt8(ascii: "]")) {
            depth -= 1
            return .array(elements)
        }
        while true {
            elements.append(try parseValue())
            skipWhitespace()
            if consume(UInt8(ascii: "]")) { break }
            try expect(UInt8(ascii: ","), "',' or ']'")
            skipWhitespace()
        }
        depth -= 1
        return .array(elements)
    }

    private mutating func parseString() throws(JSONParseError) -> String {
        let start = index
        index += 1  // opening quote
        let contentStart = index
        // Fast path: most strings have no escapes and become one slice of the input.
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let text = try makeString(UnsafeBufferPointer(rebasing: bytes[contentStart..<index]), start: start)
                index += 1
                return text
            }
            if byte == UInt8(ascii: "\\") { break }
            if byte < 0x20 { throw failure("unescaped control character in string") }
            index += 1
        }
        var buffer = Array(bytes[contentStart..<index])
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                return try buffer.withUnsafeBufferPointer { unescaped throws(JSONParseError) in
                    try makeString(unescaped, start: start)
                }
            case UInt8(ascii: "\\"):
                try parseEscape(into: &buffer)
            case ..<0x20:
                throw failure("unescaped control character in string")
            default:
                buffer.append(byte)
                index += 1
            }
        }
        throw failure("unexpected end of input in string starting at byte \(start)")
    }

    private mutating func parseEscape(into buffer: inout [UInt8]) throws(JSONParseError) {
        index += 1  // backslash
        guard index < bytes.count else { throw failure("unexpected end of input in escape sequence") }
        let escaped = bytes[index]
        index += 1
        switch escaped {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): buffer.append(escaped)
        case UInt8(ascii: "b"): buffer.append(0x08)
        case UInt8(ascii: "f"): buffer.append(0x0C)
        case UInt8(ascii: "n"): buffer.append(0x0A)
        case UInt8(ascii: "r"): buffer.append(0x0D)
        case UInt8(ascii: "t"): buffer.append(0x09)
        case UInt8(ascii: "u"):
            let escapeStart = index - 2
            var scalar = try parseHex4()
            if (0xD800...0xDBFF).contains(scalar) {
                // A high surrogate must be followed by an escaped low surrogate; together they are one scalar.
                if index == bytes.count || (bytes[index] == UInt8(ascii: "\\") && index + 1 == bytes.count) {
                    throw failure("unexpected end of input after a high surrogate")
                }
                guard bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                    throw JSONParseError(
                        message: "unpaired high surrogate", offset: escapeStart, reachedEndOfInput: false)
                }
                index += 2
                let low = try parseHex4()
                guard (0xDC00...0xDFFF).contains(low) else {
                    throw JSONParseError(
                        message: "high surrogate not followed by a low surrogate", offset: escapeStart,
                        reachedEndOfInput: false)
                }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else if (0xDC00...0xDFFF).contains(scalar) {
                throw JSONParseError(message: "unpaired low surrogate", offset: escapeStart, reachedEndOfInput: false)
            }
            buffer.append(contentsOf: UTF8.encode(Unicode.Scalar(scalar)!)!)
        default:
            index -= 1
            throw failure("invalid escape \\\(describeCurrentByte())")
        }
    }

    private mutating func parseHex4() throws(JSONParseError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard index < bytes.count else { throw failure("unexpected end of input in \\u escape") }
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw failure("invalid hex digit \(describeCurrentByte()) in \\u escape")
            }
            value = value << 4 | UInt32(digit)
            index += 1
        }
        return value
    }

    private func makeString(_ utf8: UnsafeBufferPointer<UInt8>, start: Int) throws(JSONParseError) -> String {
        guard let text = String(validating: utf8, as: UTF8.self) else {
            throw JSONParseError(message: "invalid UTF-8 in string", offset: start, reachedEndOfInput: false)
        }
        return text
    }

    private mutating func parseNumber() throws(JSONParseError) -> Double {
        let start = index
        _ = consume(UInt8(ascii: "-"))
        guard index < bytes.count else { throw failure("unexpected end of input in number") }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
        } else if isDigit(bytes[index]) {
            skipDigits()
        } else {
            throw failure("unexpected \(describeCurrentByte()) in number, expected a digit")
        }
        var isPlainInteger = true
        if consume(UInt8(ascii: ".")) {
            isPlainInteger = false
            try requireDigits(after: "'.'")
        }
        if index < bytes.count, bytes[index] | 0x20 == UInt8(ascii: "e") {
            isPlainInteger = false
            index += 1
            if !consume(UInt8(ascii: "+")) { _ = consume(UInt8(ascii: "-")) }
            try requireDigits(after: "the exponent")
        }
        let literal = UnsafeBufferPointer(rebasing: bytes[start..<index])
        // Short integers (the common case) are exact in Double; skip the String round trip for them.
        if isPlainInteger && literal.count <= 16 {
            var magnitude: Int64 = 0
            for byte in literal where byte != UInt8(ascii: "-") { magnitude = magnitude * 10 + Int64(byte - 48) }
            return literal[0] == UInt8(ascii: "-") ? -Double(magnitude) : Double(magnitude)
        }
        guard let value = Double(String(decoding: literal, as: UTF8.self)), value.isFinite else {
            throw JSONParseError(
                message: "number out of the range of a double", offset: start, reachedEndOfInput: false)
        }
        return value
    }

    private mutating func requireDigits(after what: String) throws(JSONParseError) {
        guard index < bytes.count else { throw failure("unexpected end of input in number") }
        guard isDigit(bytes[index]) else {
            throw failure("unexpected \(describeCurrentByte()) in number, expected a digit after \(what)")
        }
        skipDigits()
    }

    private func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    private mutating func skipDigits() {
        while index < bytes.count, isDigit(bytes[index]) { index += 1 }
    }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    private mutating func expectLiteral(_ literal: StaticString) throws(JSONParseError) {
        let start = index
        for expected in UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount) {
            guard index < bytes.count else { throw failure("unexpected end of input in literal \(literal)") }
            guard bytes[index] == expected else {
                throw JSONParseError(
                    message: "invalid literal, expected \(literal)", offset: start, reachedEndOfInput: false)
            }
            index += 1
        }
    }

    private mutating func enterContainer() throws(JSONParseError) {
        depth += 1
        if depth > Self.maxDepth { throw failure("nesting deeper than \(Self.maxDepth) levels") }
    }

    private mutating func consume(_ byte: UInt8) -> Bool {
        guard index < bytes.count, bytes[index] == byte else { return false }
        index += 1
        return true
    }

    private mutating func expect(_ byte: UInt8, _ what: String) throws(JSONParseError) {
        guard index < bytes.count else { throw failure("unexpected end of input, expected \(what)") }
        guard bytes[index] == byte else { throw failure("unexpected \(describeCurrentByte()), expected \(what)") }
        index += 1
    }

    private func failure(_ message: String) -> JSONParseError {
        JSONParseError(message: message, offset: index, reachedEndOfInput: index >= bytes.count)
    }

    private func describeCurrentByte() -> String {
        guard index < bytes.count else { return "end of input" }
        let byte = bytes[index]
        if byte >= 0x21 && byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
        return "byte 0x\(String(byte, radix: 16, uppercase: true))"
    }
}
