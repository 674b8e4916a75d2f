import Foundation

/// One request ready to send: the JSON body and what was asked for, so the report can show requested vs actual.
public struct PreparedRequest: Sendable {
    public var body: [UInt8]
    public var requestedPromptTokens: Int?
    public var requestedMaxTokens: Int?

    public init(body: [UInt8], requestedPromptTokens: Int?, requestedMaxTokens: Int?) {
        self.body = body
        self.requestedPromptTokens = requestedPromptTokens
        self.requestedMaxTokens = requestedMaxTokens
    }
}

/// A JSON object given on the command line (`--extra-body`) that is not an object, or not JSON.
public struct ExtraBodyError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public var description: String { "--extra-body: \(message)" }
}

/// Builds OpenAI request bodies. Runs before the load starts, never on the measurement path.
public enum RequestBodyBuilder {
    /// Parses `--extra-body` into a JSON object whose fields are merged into every request.
    public static func parseExtraBody(_ text: String) throws -> [String: any Sendable] {
        guard let data = text.data(using: .utf8),
              let object = try? JSONSerialization.jsonObject(with: data) else {
            throw ExtraBodyError(message: "not valid JSON: \(text.prefix(80)); quote it for the shell, e.g. "
                                 + "--extra-body '{\"ignore_eos\": true}'")
        }
        guard let dictionary = object as? [String: Any] else {
            throw ExtraBodyError(message: "must be a JSON object like {\"ignore_eos\": true}")
        }
        return dictionary.mapValues { SendableJSON($0) }
    }

    /// The body of a streaming chat or completions request with usage reporting turned on.
    public static func body(api: APIKind, model: String, prompt: String, maxTokens: Int?,
                            stream: Bool = true, continuousUsage: Bool = true,
                            extra: [String: any Sendable] = [:]) -> [UInt8] {
        var object: [String: Any] = ["model": model, "stream": stream]
        switch api {
        case .chat: object["messages"] = [["role": "user", "content": prompt]]
        case .completions: object["prompt"] = prompt
        }
        if let maxTokens {
            object["max_tokens"] = maxTokens
            if api == .chat { object["max_completion_tokens"] = maxTokens }
        }
        if stream {
            object["stream_options"] = continuousUsage
                ? ["include_usage": true, "continuous_usage_stats": true] : ["include_usage": true]
        }
        for (key, value) in extra { object[key] = (value as? SendableJSON)?.value ?? value }
        if object["stream"] as? Bool == false { object["stream_options"] = nil }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return [UInt8](data)
    }
}

/// Wraps a JSONSerialization value so it can cross concurrency domains; it is immutable once parsed.
struct SendableJSON: @unchecked Sendable {
    let value: Any
    init(_ value: Any) { self.value = value }
}
