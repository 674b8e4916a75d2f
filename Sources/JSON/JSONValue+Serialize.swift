extension JSONValue {
    /// Compact JSON text with object keys in document order (request bodies, schemas in reports).
    package func serialized() -> String {
        var out = ""
        write(into: &out)
        return out
    }

    private func write(into out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .number(let n): out += JSONValue.format(n)
        case .string(let s): JSONValue.writeString(s, into: &out)
        case .array(let items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                item.write(into: &out)
            }
            out += "]"
        case .object(let object):
            out += "{"
            for (i, entry) in object.entries.enumerated() {
                if i > 0 { out += "," }
                JSONValue.writeString(entry.key, into: &out)
                out += ":"
                entry.value.write(into: &out)
            }
            out += "}"
        }
    }

    /// A number as JSON text: integral values without a fraction, non-finite ones (which JSON lacks) as null.
    package static func format(_ n: Double) -> String {
        if !n.isFinite { return "null" }
        if n == n.rounded(), abs(n) < 1e15 { return String(Int(n)) }
        return "\(n)"
    }

    /// `s` as a quoted JSON string. Runs of bytes that need no escape are appended whole: a request body holds its
    /// whole prompt, and appending a 4k-token prompt one scalar at a time took ~1 ms, longer than the gap between
    /// two arrivals of a replayed trace. Only `"`, `\` and control characters are escaped; every other byte,
    /// multi-byte UTF-8 included, is copied as it is.
    package static func writeString(_ s: String, into out: inout String) {
        out += "\""
        let utf8 = s.utf8
        var runStart = utf8.startIndex
        var i = runStart
        while i != utf8.endIndex {
            let byte = utf8[i]
            guard byte == 0x22 || byte == 0x5C || byte < 0x20 else {
                i = utf8.index(after: i)
                continue
            }
            // An ASCII byte starts a scalar, so both ends of the run are valid string indices.
            out += s[runStart..<i]
            switch byte {
            case 0x22: out += "\\\""
            case 0x5C: out += "\\\\"
            case 0x0A: out += "\\n"
            case 0x0D: out += "\\r"
            case 0x09: out += "\\t"
            default:
                let hex = String(byte, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            }
            i = utf8.index(after: i)
            runStart = i
        }
        out += s[runStart..<utf8.endIndex]
        out += "\""
    }
}
