import LatencyModel
import JSON

/// The parts of a /v1/chat/completions or /v1/completions body the mock acts on.
struct CompletionRequest: Sendable {
    enum Kind: Sendable { case chat, completion }

    var kind: Kind
    var model: String
    var stream: Bool
    var includeUsage: Bool
    var continuousUsage: Bool
    var promptTokens: Int
    /// Chained hashes of the prompt's full KV blocks (filled only when the mock caches prefixes).
    var blockHashes: [UInt64] = []
    /// The prompt's token ids after its last full block: the answer's tokens continue them into the blocks a
    /// finished request leaves in the prefix cache.
    var blockTail: [Int] = []
    /// nil: until the context is full, as vLLM does.
    var maxTokens: Int?
    var minTokens: Int
    var ignoreEOS: Bool
    var stop: [String]
    var seed: UInt64?
    /// A JSON schema from response_format, structured_outputs.json or guided_json.
    var schema: JSONValue?
    /// response_format json_object: any JSON object.
    var jsonObject: Bool

    /// Parses and validates a body; errors carry vLLM's status, type and parameter name.
    static func parse(
        _ body: [UInt8], kind: Kind, servedModels: [String], maxModelLength: Int, tokenizer: MockTokenizer,
        prefixBlockSize: Int? = nil
    ) throws(APIError) -> CompletionRequest {
        let json: JSONValue
        do {
            json = try JSONValue.parse(bytes: body)
        } catch {
            throw .badRequest("Request body is not valid JSON: \(error)")
        }
        guard case .object = json else { throw .badRequest("Request body must be a JSON object") }

        let model = json["model"]?.stringValue ?? servedModels[0]
        guard servedModels.contains(model) else {
            throw .notFound("The model `\(model)` does not exist.", param: "model")
        }

        let promptTokens: Int
        var promptIDs: [Int]? = nil
        switch kind {
        case .chat:
            guard let messages = json["messages"]?.arrayValue else {
                throw .badRequest("Field required: messages must be a list of messages", param: "messages")
            }
            guard !messages.isEmpty else { throw .badRequest("messages must not be empty", param: "messages") }
            var parsed: [MockTokenizer.ChatMessage] = []
            for (i, message) in messages.enumerated() {
                guard let role = message["role"]?.stringValue else {
                    throw .badRequest("messages[\(i)].role is required", param: "messages")
                }
                parsed.append(.init(role: role, content: Self.text(of: message["content"])))
            }
            if prefixBlockSize != nil {
                promptIDs = tokenizer.chatTemplateIDs(parsed)
                promptTokens = promptIDs!.count
            } else {
                promptTokens = tokenizer.chatPromptTokens(parsed)
            }
        case .completion:
            switch json["prompt"] {
            case .string(let s)?:
                if prefixBlockSize != nil { promptIDs = tokenizer.ids(s) }
                promptTokens = max(1, promptIDs?.count ?? tokenizer.count(s))
            case .array(let items)? where items.count == 1 && items[0].stringValue != nil:
                if prefixBlockSize != nil { promptIDs = tokenizer.ids(items[0].stringValue!) }
                promptTokens = max(1, promptIDs?.count ?? tokenizer.count(items[0].stringValue!))
            case .array(let items)? where !items.isEmpty && items.allSatisfy({ $0.intValue != nil }):
                promptIDs = items.map { $0.intValue! }
                promptTokens = items.count
            case .array?: throw .badRequest("the mock accepts one prompt per request", param: "prompt")
            default: throw .badRequest("Field required: prompt must be a string", param: "prompt")
            }
        }
        if promptTokens >= maxModelLength {
            throw .badRequest(
                "This model's maximum context length is \(maxModelLength) tokens. However, your request has "
                    + "\(promptTokens) input tokens. Please reduce the length of the input messages.",
                param: "messages")
        }

        var maxTokens: Int? = nil
        for field in ["max_completion_tokens", "max_tokens"] {
            guard let value = json[field], !value.isNull else { continue }
            guard let n = value.intValue else { throw .badRequest("\(field) must be an integer", param: field) }
            guard n >= 1 else { throw .badRequest("\(field) must be at least 1, got \(n).", param: field) }
            if promptTokens + n > maxModelLength {
                throw .badRequest(
                    "This model's maximum context length is \(maxModelLength) tokens. However, you requested "
                        + "\(n) output tokens and your prompt contains \(promptTokens) input tokens, for a total "
                        + "of \(promptTokens + n) tokens. Please reduce the length of the input prompt or the "
                        + "number of requested output tokens.", param: field)
            }
            maxTokens = n
            break
        }
        let minTokens = json["min_tokens"]?.intValue ?? 0
        if minTokens < 0 || (maxTokens.map { minTokens > $0 } ?? false) {
            throw .badRequest("min_tokens must be between 0 and max_tokens", param: "min_tokens")
        }
        if let n = json["n"]?.intValue, n != 1 {
            throw .badRequest("the mock generates one choice per request (n=1)", param: "n")
        }

        let stop: [String]
        switch json["stop"] {
        case .string(let s)?: stop = [s]
        case .array(let items)?: stop = items.compactMap(\.stringValue)
        default: stop = []
        }

        var schema: JSONValue? = nil
        var jsonObject = false
        if let format = json["response_format"], !format.isNull {
            switch format["type"]?.stringValue {
            case "json_schema"?:
                guard let s = format["json_schema"]?["schema"] ?? format["json_schema"] else {
                    throw .badRequest("response_format.json_schema.schema is required", param: "response_format")
                }
                schema = s
            case "json_object"?:
                jsonObject = true
                schema = format["schema"]
            case "text"?, nil: break
            case let other?:
                throw .badRequest("response_format.type `\(other)` is not supported", param: "response_format")
            }
        }
        if let s = json["structured_outputs"]?["json"] ?? json["guided_json"], !s.isNull {
            schema = s.stringValue.flatMap { try? JSONValue.parse($0) } ?? s
        }

        let streamOptions = json["stream_options"]
        let stream = json["stream"]?.boolValue ?? false
        var request = CompletionRequest(
            kind: kind, model: model, stream: stream,
            includeUsage: streamOptions?["include_usage"]?.boolValue ?? false,
            continuousUsage: streamOptions?["continuous_usage_stats"]?.boolValue ?? false,
            promptTokens: promptTokens, maxTokens: maxTokens, minTokens: minTokens,
            ignoreEOS: json["ignore_eos"]?.boolValue ?? false, stop: stop,
            seed: json["seed"]?.intValue.map { UInt64(bitPattern: Int64($0)) }, schema: schema,
            jsonObject: jsonObject)
        if let size = prefixBlockSize, let ids = promptIDs {
            request.blockHashes = PrefixCache.blockHashes(ids[...], blockSize: size)
            request.blockTail = Array(ids[(ids.count / size * size)...])
        }
        return request
    }

    /// Message content: a string or a list of parts, of which the text parts count.
    static func text(of content: JSONValue?) -> String {
        switch content {
        case .string(let s)?: return s
        case .array(let parts)?: return parts.compactMap { $0["text"]?.stringValue }.joined(separator: "\n")
        default: return ""
        }
    }
}
