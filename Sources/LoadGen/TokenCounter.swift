import Curl
import Foundation
import JSON
import Workload

/// How a server counts the tokens of a prompt: the request it takes and the answer it gives.
package enum TokenizeDialect: String, Sendable, CaseIterable {
    /// vLLM, SGLang and `tpbench mock`: `POST /tokenize {model, messages | prompt}` → `{count, tokens}`; for chat
    /// the server applies its chat template (generation prompt included), as `/v1/chat/completions` does.
    case vllm
    /// llama.cpp's `llama-server`: `POST /tokenize {content, add_special}` → `{tokens}`; chat messages are first
    /// rendered by `POST /apply-template {messages}` → `{prompt}`. It answers `{"tokens": []}` to a vLLM body.
    case llamaCpp = "llama.cpp"
    /// Hugging Face TGI: `POST /tokenize {inputs}` → `[{id, text, …}]`; chat via `POST /chat_tokenize`
    /// → `{tokenize_response: [...]}`.
    case tgi
}

/// Counts prompt tokens the way the server will, with its own tokenizer and chat template.
package struct TokenCounter: Sendable {
    package let dialect: TokenizeDialect
    let base: String
    let model: String
    let api: WorkloadSpec.API
    let loop: MultiLoop
    let settings: RequestSettings
    /// What every probe may take: the user's connect timeout, and a bounded total the console states.
    let timeouts: Timeouts

    /// The server's answer could not be a count (wrong dialect, no endpoint, an error status, or nonsense such as
    /// no tokens for a non-empty prompt).
    package struct Unusable: Error, Sendable, CustomStringConvertible {
        package let reason: String
        package var description: String { reason }
    }

    /// Finds the first dialect (in declaration order) the server answers sensibly, or nil with each one's reason.
    package static func detect(base: String, model: String, api: WorkloadSpec.API, loop: MultiLoop,
                              settings: RequestSettings) async -> (TokenCounter?, [String]) {
        let probe = PromptContent.text(system: nil, user: "Count the tokens of this short sentence, please.")
        var reasons: [String] = []
        for dialect in TokenizeDialect.allCases {
            let counter = TokenCounter(dialect: dialect, base: base, model: model, api: api, loop: loop,
                                       settings: settings, timeouts: .probe(settings.timeouts))
            do {
                _ = try await counter.count(probe)
                return (counter, reasons)
            } catch {
                reasons.append("\(dialect.rawValue): \(error)")
                // A server that cannot be reached at all will not answer another dialect either.
                if error is TransferError { break }
            }
        }
        return (nil, reasons)
    }

    /// The server's token count for a prompt as the workload's API would send it.
    package func count(_ prompt: PromptContent) async throws -> Int {
        let hasText: Bool
        switch prompt {
        case .text(let system, let user): hasText = !user.isEmpty || !(system ?? "").isEmpty
        case .messages(let pairs): hasText = pairs.contains { !$0.1.isEmpty }
        }
        let n: Int
        switch dialect {
        case .vllm:
            var object = JSONObject([("model", .string(model))])
            switch api {
            case .chat: object["messages"] = prompt.messagesJSON
            case .completions: object["prompt"] = .string(prompt.promptText)
            }
            let answer = try await post("/tokenize", object)
            if case .object(let o) = answer, case .number(let c)? = o["count"], c >= 0, c < 1e9, c == c.rounded() {
                n = Int(c)
            } else if case .object(let o) = answer, case .array(let tokens)? = o["tokens"] {
                n = tokens.count
            } else {
                throw Unusable(reason: "POST /tokenize answered without a count or a token list")
            }
        case .llamaCpp:
            let text: String
            switch api {
            case .chat:
                let rendered = try await post("/apply-template", JSONObject([("messages", prompt.messagesJSON)]))
                guard case .object(let o) = rendered, case .string(let p)? = o["prompt"] else {
                    throw Unusable(reason: "POST /apply-template answered without a prompt")
                }
                text = p
            case .completions: text = prompt.promptText
            }
            let answer = try await post("/tokenize", JSONObject([("content", .string(text)),
                                                                 ("add_special", .bool(true))]))
            guard case .object(let o) = answer, case .array(let tokens)? = o["tokens"] else {
                throw Unusable(reason: "POST /tokenize answered without a token list")
            }
            n = tokens.count
        case .tgi:
            switch api {
            case .chat:
                let answer = try await post("/chat_tokenize", JSONObject([("model", .string(model)),
                                                                      ("messages", prompt.messagesJSON)]))
                guard case .object(let o) = answer, case .array(let tokens)? = o["tokenize_response"] else {
                    throw Unusable(reason: "POST /chat_tokenize answered without tokenize_response")
                }
                n = tokens.count
            case .completions:
                let answer = try await post("/tokenize", JSONObject([("inputs", .string(prompt.promptText))]))
                guard case .array(let tokens) = answer else {
                    throw Unusable(reason: "POST /tokenize answered without a token array")
                }
                n = tokens.count
            }
        }
        // No tokens for a non-empty prompt is not a count: this dialect does not work here (llama.cpp answers a
        // vLLM body with an empty list and HTTP 200).
        if n == 0 && hasText { throw Unusable(reason: "0 tokens for a non-empty prompt (this dialect does not work here)") }
        return n
    }

    private func post(_ path: String, _ object: JSONObject) async throws -> JSONValue {
        let request = TransferRequest(
            url: base + path, method: "POST", body: Array(JSONValue.object(object).serialized().utf8),
            headers: ["Content-Type: application/json"] + settings.headers, timeouts: timeouts,
            insecure: settings.insecure)
        let response = try await loop.fetch(request)
        guard response.status == 200 else { throw Unusable(reason: "POST \(path): HTTP \(response.status)") }
        guard let value = try? JSONValue.parse(bytes: response.body) else {
            throw Unusable(reason: "POST \(path): the answer is not JSON")
        }
        return value
    }
}
