/// A forward-only JSON reader over bytes that extracts the few fields the decoder needs without building a tree.
///
/// Why not `JSONDecoder`: it costs tens of µs per chunk and allocates a dictionary per object; this reader walks the
/// chunk once, validates its syntax as it skips what it does not need, and allocates only the strings it returns.
struct JSONScanner {
    struct Malformed: Error {
        let offset: Int
        let reason: String
    }

    let bytes: UnsafeRawBufferPointer
    private(set) var position = 0
    /// Arrays and objects open around the current position. Bounded: a server sending `[[[[…` must get a
    /// malformed-event failure, not overflow the loop thread's stack (found by fuzzing).
    private var depth = 0
    static let maxDepth = 256

    init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    var isAtEnd: Bool {
        mutating get {
            skipWhitespace()
            return position >= bytes.count
        }
    }

    @inline(__always)
    mutating func skipWhitespace() {
        while position < bytes.count {
            let b = bytes[position]
            if b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 { position += 1 } else { break }
        }
    }

    @inline(__always)
    mutating func peek() throws -> UInt8 {
        skipWhitespace()
        guard position < bytes.count else { throw Malformed(offset: position, reason: "unexpected end") }
        return bytes[position]
    }

    mutating func expect(_ byte: UInt8) throws {
        guard try peek() == byte else {
            throw Malformed(offset: position, reason: "expected '\(Character(UnicodeScalar(byte)))'")
        }
        position += 1
    }

    /// Iterates an object's members; `body` must consume the value (read or skip it).
    mutating func forEachMember(_ body: (inout JSONScanner, UnsafeRawBufferPointer) throws -> Void) throws {
        try expect(0x7B)
        if try peek() == 0x7D { position += 1; return }
        while true {
            let key = try readRawString()
            try expect(0x3A)
            try body(&self, key)
            let next = try peek()
            position += 1
            if next == 0x7D { return }
            guard next == 0x2C else { throw Malformed(offset: position - 1, reason: "expected ',' or '}'") }
        }
    }

    /// Iterates an array's elements; `body` must consume each element.
    mutating func forEachElement(_ body: (inout JSONScanner) throws -> Void) throws {
        try expect(0x5B)
        if try peek() == 0x5D { position += 1; return }
        while true {
            try body(&self)
            let next = try peek()
            position += 1
            if next == 0x5D { return }
            guard next == 0x2C else { throw Malformed(offset: position - 1, reason: "expected ',' or ']'") }
        }
    }

    /// Returns the raw bytes between a string's quotes (escapes not decoded); used for keys.
    mutating func readRawString() throws -> UnsafeRawBufferPointer {
        try expect(0x22)
        let start = position
        while position < bytes.count {
            let b = bytes[position]
            if b == 0x22 {
                let raw = UnsafeRawBufferPointer(rebasing: bytes[start..<position])
                position += 1
                return raw
            }
            if b == 0x5C {
                try skipEscape()
                continue
            }
            if b < 0x20 { throw Malformed(offset: position, reason: "control character in string") }
            position += 1
        }
        throw Malformed(offset: position, reason: "unterminated string")
    }

    /// Moves past one escape, checking it is one JSON allows: a string read raw (text not kept, skipped values)
    /// is as strictly checked as a decoded one.
    private mutating func skipEscape() throws {
        guard position + 1 < bytes.count else { throw Malformed(offset: position, reason: "unterminated string") }
        switch bytes[position + 1] {
        case 0x22, 0x5C, 0x2F, 0x62, 0x66, 0x6E, 0x72, 0x74:
            position += 2
        case 0x75:
            guard position + 6 <= bytes.count, (position + 2..<position + 6).allSatisfy({ index in
                let c = bytes[index]
                return (c >= 0x30 && c <= 0x39) || (c | 0x20 >= 0x61 && c | 0x20 <= 0x66)
            }) else { throw Malformed(offset: position, reason: "bad \\u escape") }
            position += 6
        default:
            throw Malformed(offset: position, reason: "bad escape")
        }
    }

    /// Reads a string value with escapes decoded.
    mutating func readString() throws -> String {
        let raw = try readRawString()
        if !raw.contains(0x5C) { return String(decoding: raw, as: UTF8.self) }
        return try JSONScanner.unescape(raw, offset: position)
    }

    /// Reads a string, or `null` (false), and says whether it is `literal`: no String is built unless the value has
    /// escapes (every chunk's `"object": "chat.completion.chunk"` would otherwise be a heap string per event).
    mutating func readOptionalStringEquals(_ literal: StaticString) throws -> Bool {
        if try peek() == 0x6E { try skipValue(); return false }
        let raw = try readRawString()
        if !raw.contains(0x5C) { return raw.equals(literal) }
        return try JSONScanner.unescape(raw, offset: position) == literal.description
    }

    /// Reads a string, or returns nil for `null`.
    mutating func readOptionalString() throws -> String? {
        if try peek() == 0x6E { try skipValue(); return nil }
        return try readString()
    }

    /// Moves past a number (RFC 8259: `-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?`) without converting it:
    /// chunks carry numbers nobody reads (`created`, `index`), and a String plus strtod for each showed in the
    /// client's profile.
    private mutating func scanNumber() throws -> (start: Int, isInteger: Bool) {
        _ = try peek()
        let start = position
        func invalid() -> Malformed { Malformed(offset: start, reason: "invalid number") }
        if bytes[position] == 0x2D { position += 1 }
        guard position < bytes.count else { throw invalid() }
        if bytes[position] == 0x30 {
            position += 1
        } else if skipDigits() == 0 {
            throw invalid()
        }
        var isInteger = true
        if position < bytes.count, bytes[position] == 0x2E {
            position += 1
            isInteger = false
            guard skipDigits() > 0 else { throw invalid() }
        }
        if position < bytes.count, bytes[position] == 0x65 || bytes[position] == 0x45 {
            position += 1
            isInteger = false
            if position < bytes.count, bytes[position] == 0x2B || bytes[position] == 0x2D { position += 1 }
            guard skipDigits() > 0 else { throw invalid() }
        }
        return (start, isInteger)
    }

    private mutating func skipDigits() -> Int {
        let start = position
        while position < bytes.count, bytes[position] >= 0x30, bytes[position] <= 0x39 { position += 1 }
        return position - start
    }

    /// Reads an integer, or nil for `null` and for numbers that are not whole and below 1e15.
    mutating func readOptionalInt() throws -> Int? {
        if try peek() == 0x6E { try skipValue(); return nil }
        let (start, isInteger) = try scanNumber()
        // Plain integers (token counts) convert here, without a String and strtod.
        if isInteger && position - start <= 18 {
            var value = 0
            var index = start
            let negative = bytes[index] == 0x2D
            if negative { index += 1 }
            while index < position {
                value = value &* 10 &+ Int(bytes[index] &- 0x30)
                index += 1
            }
            return abs(value) < 1_000_000_000_000_000 ? (negative ? -value : value) : nil
        }
        guard let value = Double(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<position]),
                                        as: UTF8.self))
        else { throw Malformed(offset: start, reason: "invalid number") }
        guard value.isFinite, value.rounded() == value, abs(value) < 1e15 else { return nil }
        return Int(value)
    }

    /// Reads a count (a token count, an index): nil for `null`; a whole number of magnitude below 1e15, else a
    /// `Malformed` naming `field`, so a fraction or an absurd number from the wire is an error, never a value.
    mutating func readCount(_ field: StaticString) throws -> Int? {
        let first = try peek()
        if first == 0x6E { try skipValue(); return nil }
        let start = position
        let isNumber = first == 0x2D || (first >= 0x30 && first <= 0x39)
        let value = isNumber ? try readOptionalInt() : nil
        if !isNumber { try skipValue() }
        if let value { return value }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<min(position, start + 40)]),
                          as: UTF8.self)
        throw Malformed(offset: start, reason: "\(field) is \(text), " + (isNumber ? "not a whole number below 1e15" : "not a number"))
    }

    /// Skips any value, checking its syntax.
    mutating func skipValue() throws {
        let b = try peek()
        switch b {
        case 0x7B, 0x5B:
            depth += 1
            defer { depth -= 1 }
            guard depth <= Self.maxDepth else {
                throw Malformed(offset: position, reason: "nesting deeper than \(Self.maxDepth)")
            }
            if b == 0x7B {
                try forEachMember { scanner, _ in try scanner.skipValue() }
            } else {
                try forEachElement { try $0.skipValue() }
            }
        case 0x22: _ = try readRawString()
        case 0x74: try literal("true")
        case 0x66: try literal("false")
        case 0x6E: try literal("null")
        default: _ = try scanNumber()
        }
    }

    private mutating func literal(_ word: StaticString) throws {
        let count = word.utf8CodeUnitCount
        guard position + count <= bytes.count else { throw Malformed(offset: position, reason: "unexpected end") }
        for i in 0..<count where bytes[position + i] != word.utf8Start[i] {
            throw Malformed(offset: position, reason: "invalid literal")
        }
        position += count
    }

    static func unescape(_ raw: UnsafeRawBufferPointer, offset: Int) throws -> String {
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        var i = 0
        func hex4(_ at: Int) throws -> UInt32 {
            guard at + 4 <= raw.count else { throw Malformed(offset: offset, reason: "bad \\u escape") }
            var v: UInt32 = 0
            for k in at..<(at + 4) {
                let c = raw[k]
                v <<= 4
                switch c {
                case 0x30...0x39: v |= UInt32(c - 0x30)
                case 0x41...0x46: v |= UInt32(c - 0x41 + 10)
                case 0x61...0x66: v |= UInt32(c - 0x61 + 10)
                default: throw Malformed(offset: offset, reason: "bad \\u escape")
                }
            }
            return v
        }
        while i < raw.count {
            let b = raw[i]
            guard b == 0x5C else { out.append(b); i += 1; continue }
            guard i + 1 < raw.count else { throw Malformed(offset: offset, reason: "bad escape") }
            let e = raw[i + 1]
            i += 2
            switch e {
            case 0x22: out.append(0x22)
            case 0x5C: out.append(0x5C)
            case 0x2F: out.append(0x2F)
            case 0x62: out.append(0x08)
            case 0x66: out.append(0x0C)
            case 0x6E: out.append(0x0A)
            case 0x72: out.append(0x0D)
            case 0x74: out.append(0x09)
            case 0x75:
                var scalar = try hex4(i)
                i += 4
                if scalar >= 0xD800 && scalar < 0xDC00, i + 6 <= raw.count, raw[i] == 0x5C, raw[i + 1] == 0x75 {
                    let low = try hex4(i + 2)
                    if low >= 0xDC00 && low < 0xE000 {
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        i += 6
                    }
                }
                let unicode = Unicode.Scalar(scalar) ?? "\u{FFFD}"
                out.append(contentsOf: Array(String(unicode).utf8))
            default:
                throw Malformed(offset: offset, reason: "bad escape")
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension UnsafeRawBufferPointer {
    /// Byte-wise equality with an ASCII literal.
    @inline(__always)
    func equals(_ literal: StaticString) -> Bool {
        guard count == literal.utf8CodeUnitCount else { return false }
        let p = literal.utf8Start
        for i in 0..<count where self[i] != p[i] { return false }
        return true
    }
}
