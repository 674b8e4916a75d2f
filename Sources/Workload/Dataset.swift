import Foundation
import JSON

/// One prompt from a dataset: either plain text or chat messages, with an optional output length.
package struct DatasetEntry: Sendable, Equatable {
    package enum Content: Sendable, Equatable {
        case text(String)
        /// (role, content) pairs.
        case messages([(String, String)])

        package static func == (lhs: Content, rhs: Content) -> Bool {
            switch (lhs, rhs) {
            case (.text(let a), .text(let b)): return a == b
            case (.messages(let a), .messages(let b)): return a.elementsEqual(b) { $0 == $1 }
            default: return false
            }
        }
    }

    package var content: Content
    package var maxTokens: Int?
}

/// A dataset file that cannot be used, with the line or entry at fault.
package struct DatasetError: Error, Sendable, CustomStringConvertible {
    package var file: String
    package var location: String
    package var message: String
    package var description: String { "dataset \(file) \(location): \(message)" }
}

package enum Dataset {
    /// Loads a JSONL file (`{"prompt": ...}` or `{"messages": [...]}`, optional `max_tokens`/`output_tokens`) or a
    /// ShareGPT JSON array (`conversations` with `from`/`value`; the first human turn is the prompt and the first
    /// model turn's length, in words, is a proxy for the output length, as vLLM's benchmark does).
    package static func load(path: String) throws -> [DatasetEntry] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DatasetError(file: path, location: "", message: "cannot be read; check the path and permissions")
        }
        let firstByte = data.first(where: { ![0x20, 0x0A, 0x0D, 0x09].contains($0) })
        let entries = firstByte == UInt8(ascii: "[") ? try shareGPT(data, path: path) : try jsonl(data, path: path)
        guard !entries.isEmpty else { throw DatasetError(file: path, location: "", message: "contains no prompts") }
        return entries
    }

    /// The non-blank lines of a JSONL file with their 1-based numbers, each parsed as a JSON object (nil: not
    /// one). Datasets and traces read JSONL through this.
    static func jsonlObjects(_ data: Data) -> [(line: Int, object: JSONObject?)] {
        data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated().compactMap { index, line in
            let trimmed = line.filter { $0 != 0x0D }
            if trimmed.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return nil }
            guard case .object(let object)? = try? JSONValue.parse(bytes: Array(trimmed)) else { return (index + 1, nil) }
            return (index + 1, object)
        }
    }

    static func jsonl(_ data: Data, path: String) throws -> [DatasetEntry] {
        var entries: [DatasetEntry] = []
        for (number, parsed) in jsonlObjects(data) {
            let location = "line \(number)"
            guard let object = parsed else {
                throw DatasetError(file: path, location: location, message: "not a JSON object")
            }
            let maxTokens = intValue(object["max_tokens"] ?? object["output_tokens"])
            if case .string(let prompt)? = object["prompt"] {
                entries.append(DatasetEntry(content: .text(prompt), maxTokens: maxTokens))
            } else if case .array(let messages)? = object["messages"] {
                var pairs: [(String, String)] = []
                for message in messages {
                    guard case .object(let m) = message, case .string(let role)? = m["role"],
                          case .string(let content)? = m["content"] else {
                        throw DatasetError(file: path, location: location,
                                           message: "each message needs string role and content")
                    }
                    pairs.append((role, content))
                }
                entries.append(DatasetEntry(content: .messages(pairs), maxTokens: maxTokens))
            } else {
                throw DatasetError(file: path, location: location, message: "needs a \"prompt\" string or a \"messages\" list")
            }
        }
        return entries
    }

    static func shareGPT(_ data: Data, path: String) throws -> [DatasetEntry] {
        guard case .array(let items)? = try? JSONValue.parse(bytes: [UInt8](data)) else {
            throw DatasetError(file: path, location: "", message: "not a valid JSON array (ShareGPT format)")
        }
        var entries: [DatasetEntry] = []
        for item in items {
            guard case .object(let object) = item, case .array(let turns)? = object["conversations"] else { continue }
            var prompt: String?
            var reply: String?
            for turn in turns {
                guard case .object(let t) = turn, case .string(let from)? = t["from"],
                      case .string(let value)? = t["value"] else { continue }
                if prompt == nil, from == "human" || from == "user" {
                    prompt = value
                } else if prompt != nil, reply == nil, from == "gpt" || from == "assistant" || from == "model" {
                    reply = value
                }
            }
            guard let prompt, !prompt.isEmpty else { continue }
            let outputWords = reply.map { $0.split(whereSeparator: { $0.isWhitespace }).count }
            entries.append(DatasetEntry(content: .text(prompt), maxTokens: outputWords.map { max(1, $0) }))
        }
        return entries
    }

    private static func intValue(_ value: JSONValue?) -> Int? {
        if case .number(let n)? = value, n >= 1, n == n.rounded() { return Int(n) }
        return nil
    }
}
