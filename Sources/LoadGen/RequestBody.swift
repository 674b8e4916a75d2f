import JSON
import JSONSchema
import Workload

/// One request ready to send: the JSON body and what was asked for, so the report can show requested vs actual.
package struct PreparedRequest: Sendable {
    package var body: [UInt8]
    package var requestedPromptTokens: Int?
    package var requestedMaxTokens: Int?
    /// The compiled schema the response must follow, if any.
    package var schema: JSONSchema?
    /// Endpoint path, e.g. /v1/chat/completions.
    package var path: String
    /// Requests of one key go to one replica under `--routing session` (a conversation, a trace's session).
    package var routingKey: Int?

    package init(body: [UInt8], requestedPromptTokens: Int?, requestedMaxTokens: Int?, schema: JSONSchema? = nil,
                path: String = "/v1/chat/completions") {
        self.body = body
        self.path = path
        self.requestedPromptTokens = requestedPromptTokens
        self.requestedMaxTokens = requestedMaxTokens
        self.schema = schema
    }
}

/// What a prompt consists of before it is wrapped in a request.
package enum PromptContent: Sendable, Equatable {
    case text(system: String?, user: String)
    case messages([(String, String)])

    package static func == (lhs: PromptContent, rhs: PromptContent) -> Bool {
        switch (lhs, rhs) {
        case (.text(let s1, let u1), .text(let s2, let u2)): return s1 == s2 && u1 == u2
        case (.messages(let a), .messages(let b)): return a.elementsEqual(b) { $0 == $1 }
        default: return false
        }
    }

    /// Chat messages for /v1/chat/completions and /tokenize.
    var messagesJSON: JSONValue {
        switch self {
        case .text(let system, let user):
            var list: [JSONValue] = []
            if let system { list.append(.object(JSONObject([("role", .string("system")), ("content", .string(system))]))) }
            list.append(.object(JSONObject([("role", .string("user")), ("content", .string(user))])))
            return .array(list)
        case .messages(let pairs):
            return .array(pairs.map { .object(JSONObject([("role", .string($0.0)), ("content", .string($0.1))])) })
        }
    }

    /// Plain text for /v1/completions.
    var promptText: String {
        switch self {
        case .text(let system, let user): return system.map { "\($0)\n\n\(user)" } ?? user
        case .messages(let pairs): return pairs.map { "\($0.0): \($0.1)" }.joined(separator: "\n") + "\nassistant:"
        }
    }
}

/// Builds OpenAI request bodies. Runs before or beside the load, never on a loop thread's hot path.
package enum RequestBodyBuilder {
    /// Parses `--extra-body` into a JSON object whose fields are merged into every request.
    package static func parseExtraBody(_ text: String) throws -> JSONObject {
        guard let value = try? JSONValue.parse(text) else {
            throw ExtraBodyError(message: "not valid JSON: \(text.prefix(80)); quote it for the shell, e.g. "
                                 + "--extra-body '{\"ignore_eos\": true}'")
        }
        guard case .object(let object) = value else {
            throw ExtraBodyError(message: "must be a JSON object like {\"ignore_eos\": true}")
        }
        return object
    }

    /// The body of a chat or completions request. Streaming requests ask for usage (and per-chunk usage).
    package static func body(api: WorkloadSpec.API, model: String, prompt: PromptContent, maxTokens: Int?,
                            output: OutputSpec = OutputSpec(), stream: Bool = true, continuousUsage: Bool = true,
                            extra: JSONObject? = nil) -> [UInt8] {
        var object = JSONObject()
        object["model"] = .string(model)
        switch api {
        case .chat: object["messages"] = prompt.messagesJSON
        case .completions: object["prompt"] = .string(prompt.promptText)
        }
        if let maxTokens {
            object["max_tokens"] = .number(Double(maxTokens))
        }
        if let minTokens = output.minTokens { object["min_tokens"] = .number(Double(minTokens)) }
        if let ignoreEOS = output.ignoreEOS { object["ignore_eos"] = .bool(ignoreEOS) }
        if let temperature = output.temperature { object["temperature"] = .number(temperature) }
        if let schema = output.jsonSchema {
            switch api {
            case .chat:
                object["response_format"] = .object(JSONObject([
                    ("type", .string("json_schema")),
                    ("json_schema", .object(JSONObject([("name", .string("output")), ("schema", schema),
                                                        ("strict", .bool(true))]))),
                ]))
            case .completions:
                // vLLM's completions API takes structured outputs in its own field (older releases: guided_json).
                object["structured_outputs"] = .object(JSONObject([("json", schema)]))
            }
        }
        object["stream"] = .bool(stream)
        if stream {
            var options = JSONObject([("include_usage", .bool(true))])
            if continuousUsage { options["continuous_usage_stats"] = .bool(true) }
            object["stream_options"] = .object(options)
        }
        for entry in extra?.entries ?? [] { object[entry.key] = entry.value }
        if case .bool(false)? = object["stream"] { object["stream_options"] = nil }
        return Array(JSONValue.object(object).serialized().utf8)
    }
}

/// A JSON object given on the command line (`--extra-body`) that is not an object, or not JSON.
package struct ExtraBodyError: Error, Sendable, CustomStringConvertible {
    package let message: String
    package var description: String { "--extra-body: \(message)" }
}
