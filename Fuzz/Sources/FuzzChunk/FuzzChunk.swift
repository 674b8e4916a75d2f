import OpenAI

/// Decodes arbitrary bytes as one streamed chunk (the forward-only JSON scanner) and as an error body.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzChunk(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    for keepText in [true, false] {
        if let chunk = try? StreamChunk.decode(bytes, keepText: keepText) {
            _ = chunk.carriesTokens
            _ = chunk.errorMessage
        }
    }
    _ = errorMessage(fromBody: Array(bytes))
    var decoder = StreamDecoder(maxEventBytes: 1 << 16)
    decoder.begin(status: 200, contentType: "application/json")
    try? decoder.feed(bytes, receivedAt: 1)
    _ = decoder.finish()
    return 0
}

/// SwiftPM links executables with `main` aliased to `FuzzChunk_main`, so libFuzzer's own `main` is never used: this
/// entry point hands control to libFuzzer's driver instead.
@_cdecl("FuzzChunk_main")
public func fuzzChunkMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv, fuzzChunk)
}

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt
