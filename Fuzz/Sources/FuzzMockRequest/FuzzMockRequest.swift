@testable import MockServer

/// Parses arbitrary bytes as a chat and a completions request body, as the mock's HTTP handler does: every
/// input becomes a request or an APIError (a 4xx answer), never a crash.
private let tokenizer = MockTokenizer()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMockRequest(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let body = Array(UnsafeBufferPointer(start: data, count: size))
    for kind in [CompletionRequest.Kind.chat, .completion] {
        do {
            let request = try CompletionRequest.parse(body, kind: kind, servedModels: ["m"], maxModelLength: 4096,
                                                      tokenizer: tokenizer)
            precondition(request.promptTokens >= 0)
        } catch {
            _ = error.status
        }
    }
    return 0
}
