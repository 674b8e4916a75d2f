import Curl
import Testing

/// Setting up a transfer libcurl refuses is an error the caller can record, never a crash.
struct TransferSetupTests {
    final class Discard: TransferDelegate {
        func transferDidReceiveResponse(status: Int, headers: ResponseHeaders) {}
        func transferDidReceive(_ bytes: UnsafeRawBufferPointer, receivedAt: UInt64) -> ReceiveVerdict { .proceed }
        var hasFirstToken: Bool { false }
        func transferDidComplete(_ outcome: TransferOutcome) {}
    }

    /// A string over libcurl's 8 MB input limit makes an option fail inside Transfer's init, after its handle and
    /// buffers exist: they are freed once, by deinit (init used to free them as well: a double free). The URL fails
    /// first of all options; a custom method fails after the body buffer was made.
    @Test(arguments: [false, true])
    func anOptionLibcurlRefusesIsAnError(afterTheBody: Bool) {
        let huge = String(repeating: "A", count: 8_000_001)
        let request = afterTheBody
            ? TransferRequest(url: "http://127.0.0.1:9/v1/completions", method: huge, body: Array(#"{"a":1}"#.utf8))
            : TransferRequest(url: "http://127.0.0.1:9/" + huge)
        #expect(throws: MultiLoopError.self) { _ = try Transfer(request: request, delegate: Discard()) }
    }

    /// The transfer keeps the body itself (libcurl reads it in place) and drops the request's copy.
    @Test func theTransferHoldsTheOnlyCopyOfTheBody() throws {
        let request = TransferRequest(url: "http://127.0.0.1:9/v1/completions", body: Array(repeating: 0x61, count: 5000))
        let transfer = try Transfer(request: request, delegate: Discard())
        #expect(transfer.request.body == nil)
        #expect(transfer.request.url == request.url)
    }
}
