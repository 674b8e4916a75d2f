import Foundation
import LatencyModel
import MockServer

/// Starts a mock on an ephemeral loopback port for the duration of `body`.
func withMock<T>(_ configure: (inout MockConfiguration) -> Void = { _ in }, _ body: (MockServer) async throws -> T)
    async throws -> T
{
    var config = MockConfiguration()
    configure(&config)
    let server = try await MockServer.start(config)
    do {
        let result = try await body(server)
        try await server.shutdown()
        return result
    } catch {
        try? await server.shutdown()
        throw error
    }
}

func chatBody(
    content: String = "hello there", maxTokens: Int = 5, stream: Bool = true, extra: String = ""
) -> String {
    let streamPart = stream ? ",\"stream\":true,\"stream_options\":{\"include_usage\":true}" : ""
    return "{\"model\":\"qwen3-30b-a3b\",\"messages\":[{\"role\":\"user\",\"content\":\"\(content)\"}],"
        + "\"max_tokens\":\(maxTokens)\(streamPart)\(extra)}"
}

/// The content text carried by the streamed chunks (chat `delta.content` or completion `text`).
func streamedText(_ response: MiniResponse) -> String {
    var text = ""
    for event in response.dataEvents where event != "[DONE]" {
        for key in ["\"content\":\"", "\"text\":\""] {
            guard let start = event.range(of: key)?.upperBound else { continue }
            var out = ""
            var escaped = false
            for ch in event[start...] {
                if escaped {
                    out.append(ch == "n" ? "\n" : ch)
                    escaped = false
                } else if ch == "\\" {
                    escaped = true
                } else if ch == "\"" {
                    break
                } else {
                    out.append(ch)
                }
            }
            text += out
        }
    }
    return text
}
