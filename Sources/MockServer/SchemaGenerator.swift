import JSON
import LatencyModel
import SeededRandom

/// Writes JSON text that conforms to a JSON Schema, sized by a fill level so its token count can be steered.
///
/// Covers what structured-output workloads use: objects (properties, required), arrays (items, prefixItems,
/// minItems/maxItems), strings (enum, const, minLength/maxLength, common formats), integers and numbers with
/// bounds, booleans, null, enum/const anywhere, anyOf/oneOf/allOf (first usable branch) and local `$ref`s.
struct SchemaGenerator {
    let root: JSONValue
    var rng: SplitMix64
    /// Words per free-text string; also drives array lengths.
    var fill: Int

    /// The largest document whose token count stays within `budget` (searching fill levels with the same seed).
    static func document(schema: JSONValue, budget: Int, seed: UInt64, tokenizer: MockTokenizer) -> String {
        func render(_ fill: Int) -> String {
            var g = SchemaGenerator(root: schema, rng: SplitMix64(seed: seed), fill: fill)
            var out = ""
            g.write(schema, into: &out, depth: 0)
            return out
        }
        var best = render(0)
        if tokenizer.count(best) >= budget { return best }
        var low = 0
        var high = 1
        while high < 4096 {
            let text = render(high)
            if tokenizer.count(text) > budget { break }
            best = text
            low = high
            high *= 2
        }
        while high - low > 1 {
            let mid = (low + high) / 2
            let text = render(mid)
            if tokenizer.count(text) <= budget {
                best = text
                low = mid
            } else {
                high = mid
            }
        }
        return best
    }

    private func resolve(_ schema: JSONValue) -> JSONValue {
        guard let ref = schema["$ref"]?.stringValue, ref.hasPrefix("#/") else { return schema }
        var node = root
        for part in ref.dropFirst(2).split(separator: "/") {
            guard let next = node[String(part)] else { return .object(JSONObject()) }
            node = next
        }
        return node
    }

    private mutating func pick<T>(_ items: [T]) -> T {
        items[Int(rng.next() % UInt64(items.count))]
    }

    private mutating func write(_ raw: JSONValue, into out: inout String, depth: Int) {
        let schema = resolve(raw)
        if let constant = schema["const"] {
            out += constant.serialized()
            return
        }
        if let choices = schema["enum"]?.arrayValue, !choices.isEmpty {
            out += pick(choices).serialized()
            return
        }
        for combinator in ["anyOf", "oneOf", "allOf"] {
            if let branches = schema[combinator]?.arrayValue, !branches.isEmpty {
                let usable = branches.first { resolve($0)["type"]?.stringValue != "null" } ?? branches[0]
                write(usable, into: &out, depth: depth)
                return
            }
        }
        switch schemaType(schema) {
        case "object": writeObject(schema, into: &out, depth: depth)
        case "array": writeArray(schema, into: &out, depth: depth)
        case "integer": out += String(integer(schema))
        case "number": out += number(schema)
        case "boolean": out += rng.nextUnit() < 0.5 ? "true" : "false"
        case "null": out += "null"
        default: JSONValue.writeString(string(schema), into: &out)
        }
    }

    private func schemaType(_ schema: JSONValue) -> String {
        if let t = schema["type"]?.stringValue { return t }
        if let types = schema["type"]?.arrayValue {
            return types.compactMap(\.stringValue).first { $0 != "null" } ?? "null"
        }
        if schema["properties"] != nil { return "object" }
        if schema["items"] != nil || schema["prefixItems"] != nil { return "array" }
        return "string"
    }

    private mutating func writeObject(_ schema: JSONValue, into out: inout String, depth: Int) {
        var members = schema["properties"]?.objectValue?.entries.map { ($0.key, $0.value) } ?? []
        for name in schema["required"]?.arrayValue?.compactMap(\.stringValue) ?? []
        where !members.contains(where: { $0.0 == name }) {
            members.append((name, .object(JSONObject([("type", .string("string"))]))))
        }
        out += "{"
        for (i, (name, property)) in members.enumerated() {
            if i > 0 { out += ", " }
            JSONValue.writeString(name, into: &out)
            out += ": "
            write(property, into: &out, depth: depth + 1)
        }
        out += "}"
    }

    private mutating func writeArray(_ schema: JSONValue, into out: inout String, depth: Int) {
        let prefix = schema["prefixItems"]?.arrayValue ?? []
        let minItems = max(schema["minItems"]?.intValue ?? 0, prefix.count)
        let maxItems = schema["maxItems"]?.intValue ?? Int.max
        // Arrays grow with the fill level but slower than strings; nested arrays stay small.
        let wanted = depth > 2 ? 1 : 1 + fill / 6
        let count = max(minItems, min(maxItems, wanted))
        let items = schema["items"] ?? .object(JSONObject([("type", .string("string"))]))
        out += "["
        for i in 0..<count {
            if i > 0 { out += ", " }
            write(i < prefix.count ? prefix[i] : items, into: &out, depth: depth + 1)
        }
        out += "]"
    }

    private mutating func integer(_ schema: JSONValue) -> Int {
        var low = schema["minimum"]?.doubleValue.map { Int($0.rounded(.up)) } ?? 0
        var high = schema["maximum"]?.doubleValue.map { Int($0.rounded(.down)) } ?? max(low, 0) + 1000
        if let x = schema["exclusiveMinimum"]?.doubleValue { low = max(low, Int(x.rounded(.down)) + 1) }
        if let x = schema["exclusiveMaximum"]?.doubleValue { high = min(high, Int(x.rounded(.up)) - 1) }
        if high < low { return low }
        return low + Int(rng.next() % UInt64(min(high - low, 1 << 40) + 1))
    }

    private mutating func number(_ schema: JSONValue) -> String {
        let low = schema["minimum"]?.doubleValue ?? schema["exclusiveMinimum"]?.doubleValue ?? 0
        let high = schema["maximum"]?.doubleValue ?? schema["exclusiveMaximum"]?.doubleValue ?? low + 1000
        guard high > low else { return JSONValue.format(low) }
        // Two decimals, nudged inside the bounds so exclusive limits hold.
        let span = high - low
        var value = low + span * (0.01 + 0.98 * rng.nextUnit())
        value = (value * 100).rounded() / 100
        if value <= low || value >= high { value = (low + high) / 2 }
        return JSONValue.format(value)
    }

    private mutating func string(_ schema: JSONValue) -> String {
        switch schema["format"]?.stringValue {
        case "date": return "2025-0\(1 + rng.next() % 9)-1\(rng.next() % 9)"
        case "date-time": return "2025-06-1\(rng.next() % 9)T12:3\(rng.next() % 9):00Z"
        case "time": return "12:3\(rng.next() % 9):00"
        case "email": return MockTokenizer.word(Int(rng.next() % 4000)) + "@example.com"
        case "uuid": return "123e4567-e89b-12d3-a456-4266141740\(10 + rng.next() % 89)"
        case "uri", "url": return "https://example.com/" + MockTokenizer.word(Int(rng.next() % 4000))
        default: break
        }
        let minLength = schema["minLength"]?.intValue ?? 0
        let maxLength = schema["maxLength"]?.intValue ?? Int.max
        var text = ""
        var generator = TextGenerator(rng: SplitMix64(seed: rng.next()))
        for piece in generator.pieces(count: max(1, fill)) where piece != "," && piece != "." {
            let next = text.isEmpty ? piece.trimmingLeadingSpace : text + piece
            if next.count > maxLength { break }
            text = next
        }
        while text.count < minLength { text += text.isEmpty ? "a" : " a" }
        if text.count > maxLength { text = String(text.prefix(maxLength)) }
        return text
    }
}

extension String {
    fileprivate var trimmingLeadingSpace: String { hasPrefix(" ") ? String(dropFirst()) : self }
}
