@testable import MockServer

/// Parses arbitrary bytes as a chat and a completions request body, as the mock's HTTP handler does: every
/// input becomes a request or an APIError (a 4xx answer), never a crash.
private let tokenizer = MockTokenizer()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMockRequest(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
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

/// SwiftPM links executables with `main` aliased to `FuzzMockRequest_main`, so libFuzzer's own `main` is never used: this
/// entry point hands control to libFuzzer's driver instead.
@_cdecl("FuzzMockRequest_main")
public func fuzzMockRequestMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv, fuzzMockRequest)
}

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt
