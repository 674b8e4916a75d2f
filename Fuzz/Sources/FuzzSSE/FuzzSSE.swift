import OpenAI

/// Feeds arbitrary bytes through the SSE parser and the stream decoder, split at an input-chosen point (framing
/// must not depend on where network buffers end), with a small event bound so `event-too-large` is reached too.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSSE(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    guard size > 0 else { return 0 }
    let split = Int(bytes[0]) % size
    let body = UnsafeRawBufferPointer(rebasing: bytes[1...])
    let cut = min(split, body.count)
    // Differential: the whole body in one buffer (most events take the no-copy path) and the same body split in
    // two (lines across the cut take the copying path) must give the same events and the same failure.
    func parse(_ pieces: [UnsafeRawBufferPointer]) -> (events: [[UInt8]], failed: Bool, pending: Bool) {
        var parser = SSEParser(maxEventBytes: 4096)
        var events: [[UInt8]] = []
        var failed = false
        do {
            for piece in pieces {
                try parser.feed(piece) { event in
                    precondition(event.count <= 4096)
                    events.append(Array(event))
                }
            }
        } catch {
            failed = true
        }
        return (events, failed, parser.finish())
    }
    let whole = parse([body])
    let halves = parse([UnsafeRawBufferPointer(rebasing: body[..<cut]), UnsafeRawBufferPointer(rebasing: body[cut...])])
    precondition(whole.events == halves.events && whole.failed == halves.failed, "framing depends on the split")
    precondition(whole.failed || whole.pending == halves.pending)
    for keepText in [true, false] {
        var decoder = StreamDecoder(maxEventBytes: 4096, keepText: keepText)
        decoder.begin(status: bytes[0] & 1 == 0 ? 200 : 500, contentType: "text/event-stream")
        try? decoder.feed(UnsafeRawBufferPointer(rebasing: body[..<cut]), receivedAt: 1)
        try? decoder.feed(UnsafeRawBufferPointer(rebasing: body[cut...]), receivedAt: 2)
        let result = decoder.finish()
        precondition(result.tokenEventTimes.count <= result.eventCount)
    }
    return 0
}

/// SwiftPM links executables with `main` aliased to `FuzzSSE_main`, so libFuzzer's own `main` is never used: this
/// entry point hands control to libFuzzer's driver instead.
@_cdecl("FuzzSSE_main")
public func fuzzSSEMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv, fuzzSSE)
}

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt
