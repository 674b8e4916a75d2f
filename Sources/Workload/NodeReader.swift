import Foundation
import JSON
import Yams

/// Reads a Yams node tree with field paths and line numbers, collecting every problem instead of stopping.
struct NodeReader {
    var issues: [WorkloadIssue] = []

    mutating func fail(_ path: String, _ node: Node?, _ message: String) {
        issues.append(WorkloadIssue(path: path, line: node?.mark?.line, message: message))
    }

    static func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// A mapping's entries by key; keys not in `allowed` are reported with a did-you-mean (nil: any key is fine).
    mutating func mapping(_ node: Node, _ path: String, allowed: [String]?) -> [String: Node]? {
        guard case .mapping(let mapping) = node else {
            fail(path, node, "must be a mapping (key: value pairs), got \(describe(node))")
            return nil
        }
        var result: [String: Node] = [:]
        for (keyNode, value) in mapping {
            guard let key = keyNode.string else {
                fail(path, keyNode, "keys must be strings")
                continue
            }
            let keyPath = NodeReader.join(path, key)
            if result[key] != nil { fail(keyPath, keyNode, "appears twice") }
            if let allowed, !allowed.contains(key) {
                var message = "unknown key '\(key)'"
                if let guess = suggestion(for: key, among: allowed) { message += "; did you mean '\(guess)'?" }
                message += " (allowed: \(allowed.joined(separator: ", ")))"
                fail(keyPath, keyNode, message)
                continue
            }
            result[key] = value
        }
        return result
    }

    func describe(_ node: Node) -> String {
        switch node {
        case .scalar(let s): return s.string.isEmpty ? "an empty value" : "'\(s.string)'"
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        }
    }

    mutating func string(_ node: Node?, _ path: String) -> String? {
        guard let node else { return nil }
        guard case .scalar(let s) = node, node.null == nil else {
            fail(path, node, "must be a string, got \(describe(node))")
            return nil
        }
        return s.string
    }

    mutating func int(_ node: Node?, _ path: String, min: Int? = nil, in range: ClosedRange<Int>? = nil) -> Int? {
        guard let node else { return nil }
        guard let value = node.int, case .scalar(let s) = node, s.style == .plain else {
            fail(path, node, "must be a whole number, got \(describe(node))")
            return nil
        }
        if let min, value < min {
            fail(path, node, "must be ≥ \(min), got \(value)")
            return nil
        }
        if let range, !range.contains(value) {
            fail(path, node, "must be in \(range.lowerBound)...\(range.upperBound), got \(value)")
            return nil
        }
        return value
    }

    mutating func double(_ node: Node?, _ path: String, positive: Bool = false, nonNegative: Bool = false,
                         in range: ClosedRange<Double>? = nil) -> Double? {
        guard let node else { return nil }
        guard let value = node.float ?? node.int.map(Double.init), case .scalar(let s) = node, s.style == .plain,
              value.isFinite else {
            fail(path, node, "must be a number, got \(describe(node))")
            return nil
        }
        if positive && !(value > 0) {
            fail(path, node, "must be > 0, got \(formatNumber(value))")
            return nil
        }
        if nonNegative && value < 0 {
            fail(path, node, "must be ≥ 0, got \(formatNumber(value))")
            return nil
        }
        if let range, !range.contains(value) {
            fail(path, node, "must be in \(Limits.describe(range.lowerBound))...\(Limits.describe(range.upperBound)), "
                 + "got \(formatNumber(value))")
            return nil
        }
        return value
    }

    mutating func bool(_ node: Node?, _ path: String) -> Bool? {
        guard let node else { return nil }
        guard let value = node.bool, case .scalar(let s) = node, s.style == .plain else {
            fail(path, node, "must be true or false, got \(describe(node))")
            return nil
        }
        return value
    }

    /// Seconds, from a number or a string like "500ms", "30s", "5m", "1h".
    mutating func duration(_ node: Node?, _ path: String, in range: ClosedRange<Double> = Limits.durationS) -> Double? {
        guard let node, let seconds = unboundedDuration(node, path) else { return nil }
        guard range.contains(seconds) else {
            fail(path, node, "must be in \(Limits.describe(range.lowerBound))...\(Limits.describe(range.upperBound)) s, "
                 + "got \(formatNumber(seconds)) s")
            return nil
        }
        return seconds
    }

    private mutating func unboundedDuration(_ node: Node?, _ path: String) -> Double? {
        guard let node else { return nil }
        if let number = node.float ?? node.int.map(Double.init), case .scalar(let s) = node, s.style == .plain {
            // Zero passes here; the caller's range decides whether it is allowed (trace.start is, most are not).
            guard number >= 0, number.isFinite else {
                fail(path, node, "must be a positive duration, got \(formatNumber(number))")
                return nil
            }
            return number
        }
        guard let text = node.string?.trimmingCharacters(in: .whitespaces).lowercased() else {
            fail(path, node, "must be a duration like 30s or 5m, got \(describe(node))")
            return nil
        }
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            if let value = Double(text.dropLast(suffix.count)), value >= 0, value.isFinite { return value * scale }
        }
        fail(path, node, "must be a duration like 30s, 5m or 500ms, got '\(text)'")
        return nil
    }

    func formatNumber(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }

    /// Converts a node to a JSON value (for inline schemas and extra body fields).
    mutating func json(_ node: Node, _ path: String) -> JSONValue? {
        switch node {
        case .scalar(let s):
            if node.null != nil { return .null }
            if s.style == .plain {
                if let b = node.bool { return .bool(b) }
                if let i = node.int { return .number(Double(i)) }
                if let d = node.float { return .number(d) }
            }
            return .string(s.string)
        case .sequence(let seq):
            var items: [JSONValue] = []
            for (i, item) in seq.enumerated() {
                guard let value = json(item, "\(path)[\(i)]") else { return nil }
                items.append(value)
            }
            return .array(items)
        case .mapping(let mapping):
            var pairs: [(String, JSONValue)] = []
            for (k, v) in mapping {
                guard let key = k.string, let value = json(v, NodeReader.join(path, key)) else { return nil }
                pairs.append((key, value))
            }
            return .object(JSONObject(pairs))
        case .alias:
            fail(path, node, "aliases are not supported here")
            return nil
        }
    }
}
