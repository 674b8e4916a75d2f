@testable import MockServer
import Testing

/// Inputs the fuzzers (scripts/fuzz.sh) found crashing, kept as tests so they stay fixed in every CI run.
struct FuzzRegressionTests {
    /// FuzzMockRequest: a high surrogate escape followed by another non-low-surrogate escape overflowed the
    /// surrogate-pair arithmetic of the mock's JSON parser and trapped (one request body could kill the mock).
    @Test(arguments: [#""\uD888\uD888""#, #"{"model":"m","prompt":"a\uD888\uD888b\uD83D\uDE00\uDC00"}"#, #""\uDBFF\u0041""#])
    func loneSurrogatesDoNotTrapTheMocksParser(body: String) throws {
        let parse = { () throws(APIError) -> CompletionRequest in
            try CompletionRequest.parse(Array(body.utf8), kind: .completion, servedModels: ["m"], maxModelLength: 4096,
                                        tokenizer: MockTokenizer())
        }
        // The mock now parses with the shared strict parser (Sources/JSON), which rejects a lone surrogate: a 400
        // that says so, never a trap. A bare string is not a request object either way.
        do {
            _ = try parse()
            Issue.record("\(body) was accepted")
        } catch {
            #expect(error.status == 400)
            if body.hasPrefix("{") { #expect(error.message.contains("surrogate"), "\(error.message)") }
        }
    }
}
