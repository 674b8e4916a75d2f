import Foundation
import Testing

@testable import OpenAI

/// The targeted scanner (`StreamChunk.decode`) against a full decoder (Foundation's `JSONSerialization`) on
/// generated chunks: random text with every escape form, astral-plane unicode, usage, finish reasons, errors and
/// random whitespace.
struct ScannerPropertyTests {
    struct Expected: Equatable, CustomStringConvertible {
        var content = ""
        var reasoning = ""
        var finishReason: String?
        var promptTokens: Int?
        var completionTokens: Int?
        var errorMessage: String?
        var description: String {
            "content=\(content.debugDescription) reasoning=\(reasoning.debugDescription) finish=\(finishReason ?? "nil") "
                + "usage=\(promptTokens.map(String.init) ?? "nil")/\(completionTokens.map(String.init) ?? "nil") "
                + "error=\(errorMessage ?? "nil")"
        }
    }

    /// The reference: a whole-document decode, then the same field rules the scanner documents.
    static func reference(_ json: [UInt8]) throws -> Expected {
        let object = try JSONSerialization.jsonObject(with: Data(json), options: [.fragmentsAllowed])
        guard let root = object as? [String: Any] else { return Expected() }
        var expected = Expected()
        for choice in root["choices"] as? [Any] ?? [] {
            guard let choice = choice as? [String: Any] else { continue }
            for key in ["delta", "message"] {
                guard let delta = choice[key] as? [String: Any] else { continue }
                if let text = delta["content"] as? String { expected.content += text }
                if let text = delta["reasoning_content"] as? String { expected.reasoning += text }
                if let text = delta["reasoning"] as? String { expected.reasoning += text }
            }
            if let text = choice["text"] as? String { expected.content += text }
            if let reason = choice["finish_reason"] as? String { expected.finishReason = reason }
        }
        if let usage = root["usage"] as? [String: Any] {
            expected.promptTokens = (usage["prompt_tokens"] as? NSNumber)?.intValue
            expected.completionTokens = (usage["completion_tokens"] as? NSNumber)?.intValue
        }
        if let error = root["error"] {
            if let text = error as? String {
                expected.errorMessage = text
            } else if let error = error as? [String: Any] {
                var message = error["message"] as? String ?? ""
                if message.isEmpty { message = "error event" }
                if let code = error["code"] as? String {
                    message += " (code \(code))"
                } else if let code = error["code"] as? NSNumber {
                    message += " (code \(code.intValue))"
                }
                expected.errorMessage = message
            } else {
                expected.errorMessage = "error event"
            }
        } else if root["object"] as? String == "error" {
            expected.errorMessage = root["message"] as? String ?? "error object"
        }
        return expected
    }

    @Test(arguments: 0..<8)
    func scannerAgreesWithFullDecoder(seed: UInt64) throws {
        var generator = ChunkGenerator(seed: seed &* 0x9E37_79B9_7F4A_7C15 &+ 1)
        for _ in 0..<250 {
            let json = generator.chunk()
            let expected = try Self.reference(json)
            let chunk = try json.withUnsafeBytes { try StreamChunk.decode($0) }
            let got = Expected(content: chunk.content, reasoning: chunk.reasoning, finishReason: chunk.finishReason,
                               promptTokens: chunk.promptTokens, completionTokens: chunk.completionTokens,
                               errorMessage: chunk.errorMessage)
            #expect(got == expected, "\(String(decoding: json, as: UTF8.self))")
            // Without text, the same events carry tokens and every other field is the same.
            let counted = try json.withUnsafeBytes { try StreamChunk.decode($0, keepText: false) }
            #expect(counted.carriesTokens == chunk.carriesTokens, "\(String(decoding: json, as: UTF8.self))")
            #expect(counted.finishReason == chunk.finishReason && counted.errorMessage == chunk.errorMessage)
            #expect(counted.promptTokens == chunk.promptTokens && counted.completionTokens == chunk.completionTokens)
            #expect(counted.content.isEmpty && counted.reasoning.isEmpty)
        }
    }
}

/// Writes OpenAI/vLLM-shaped chunks by hand, choosing escapes at random so the scanner's unescaping is exercised.
struct ChunkGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    mutating func chance(_ p: Double) -> Bool { Double(next() % 1_000_000) / 1_000_000 < p }

    mutating func space() -> String { ["", "", " ", "\n", "\t ", "\r\n"][below(6)] }

    /// A JSON string literal of random text, with random escape spellings.
    mutating func string() -> String {
        let alphabet: [Unicode.Scalar] = ["a", "Z", " ", "\"", "\\", "/", "\n", "\t", "\r", "\u{08}", "\u{0C}",
                                          "\u{01}", "\u{1F}", "é", "中", "\u{1F600}", "\u{10FFFF}", "\u{2028}", "0"]
        var out = "\""
        for _ in 0..<below(12) {
            let scalar = alphabet[below(alphabet.count)]
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "/": out += chance(0.5) ? "\\/" : "/"
            case "\n": out += chance(0.5) ? "\\n" : "\\u000a"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if scalar.value < 0x20 || chance(0.3) {
                    out += Self.unicodeEscape(scalar, upper: chance(0.5))
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    static func unicodeEscape(_ scalar: Unicode.Scalar, upper: Bool) -> String {
        func hex(_ v: UInt32) -> String {
            let s = String(v, radix: 16, uppercase: upper)
            return "\\u" + String(repeating: "0", count: 4 - s.count) + s
        }
        if scalar.value < 0x10000 { return hex(scalar.value) }
        let v = scalar.value - 0x10000
        return hex(0xD800 + (v >> 10)) + hex(0xDC00 + (v & 0x3FF))
    }

    mutating func member(_ key: String, _ value: String) -> String {
        "\"\(key)\"" + space() + ":" + space() + value
    }

    mutating func object(_ members: [String]) -> String {
        "{" + space() + members.joined(separator: space() + "," + space()) + space() + "}"
    }

    mutating func optionalString() -> String { chance(0.3) ? "null" : string() }

    mutating func choice(chat: Bool) -> String {
        var members = [member("index", "0")]
        if chat {
            var delta: [String] = []
            if chance(0.3) { delta.append(member("role", "\"assistant\"")) }
            if chance(0.8) { delta.append(member("content", optionalString())) }
            if chance(0.2) { delta.append(member(chance(0.5) ? "reasoning_content" : "reasoning", string())) }
            if chance(0.1) { delta.append(member("tool_calls", "[" + object([member("id", string())]) + "]")) }
            members.append(member(chance(0.9) ? "delta" : "message", object(delta)))
        } else {
            members.append(member("text", optionalString()))
        }
        members.append(member("logprobs", "null"))
        let reason = ["null", "null", "\"stop\"", "\"length\"", string()][below(5)]
        members.append(member("finish_reason", reason))
        if chance(0.3) { members.append(member("stop_reason", chance(0.5) ? "null" : "151645")) }
        return object(members)
    }

    mutating func usage() -> String {
        let prompt = below(5000)
        let completion = below(5000)
        return object([member("prompt_tokens", "\(prompt)"), member("total_tokens", "\(prompt + completion)"),
                       member("completion_tokens", chance(0.1) ? "null" : "\(completion)")])
    }

    mutating func chunk() -> [UInt8] {
        var members: [String] = []
        switch below(10) {
        case 0:
            // vLLM/OpenAI error event.
            var error = [member("message", string()), member("type", "\"BadRequestError\"")]
            switch below(3) {
            case 0: error.append(member("code", "\(400 + below(100))"))
            case 1: error.append(member("code", string()))
            default: break
            }
            members.append(member("error", chance(0.2) ? string() : object(error)))
        case 1:
            members += [member("object", "\"error\""), member("message", string()), member("code", "500")]
        default:
            let chat = chance(0.7)
            members.append(member("id", "\"chatcmpl-\(below(1_000_000))\""))
            members.append(member("object", chat ? "\"chat.completion.chunk\"" : "\"text_completion\""))
            members.append(member("created", "\(1_700_000_000 + below(1000))"))
            members.append(member("model", string()))
            let choices = chance(0.15) ? [] : (0..<(1 + below(2))).map { _ in choice(chat: chat) }
            members.append(member("choices", "[" + choices.joined(separator: ",") + "]"))
            if chance(0.4) { members.append(member("usage", chance(0.1) ? "null" : usage())) }
            if chance(0.1) { members.append(member("system_fingerprint", "null")) }
        }
        for _ in 0..<below(2) { members.insert(member("x_extra", "[1, 2.5e3, true, false, null, {}]"), at: 0) }
        return Array((space() + object(members) + space()).utf8)
    }
}
