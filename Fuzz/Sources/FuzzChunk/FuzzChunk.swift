import OpenAI

/// Decodes arbitrary bytes as one streamed chunk (the forward-only JSON scanner) and as an error body.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzChunk(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
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
