/// A whole (non-streamed) HTTP response, for probes like `GET /v1/models` and `/metrics` scrapes.
package struct FetchedResponse: Sendable {
    package var status: Int
    package var body: [UInt8]
    package var contentType: String?
}

extension MultiLoop {
    /// Runs one request and collects its whole body (at most `maxBytes`, else it fails). `completion` runs once,
    /// on the loop thread, or on the caller's thread when the request cannot even be set up.
    package func fetch(_ request: TransferRequest, maxBytes: Int = 8 << 20,
                      completion: @escaping @Sendable (Result<FetchedResponse, any Error>) -> Void) {
        let collector = BodyCollector(maxBytes: maxBytes, done: completion)
        do {
            let transfer = try Transfer(request: request, delegate: collector)
            collector.transfer = transfer
            submit(transfer)
        } catch {
            completion(.failure(error))
        }
    }

    /// `fetch` for async callers.
    package func fetch(_ request: TransferRequest, maxBytes: Int = 8 << 20) async throws -> FetchedResponse {
        try await withCheckedThrowingContinuation { continuation in
            fetch(request, maxBytes: maxBytes) { continuation.resume(with: $0) }
        }
    }
}

/// Gathers a response body on the loop thread.
private final class BodyCollector: TransferDelegate, @unchecked Sendable {
    private var body: [UInt8] = []
    private var status = 0
    private var contentType: String?
    private let maxBytes: Int
    /// Keeps the transfer alive while curl holds it.
    var transfer: Transfer?
    private let done: @Sendable (Result<FetchedResponse, any Error>) -> Void

    init(maxBytes: Int, done: @escaping @Sendable (Result<FetchedResponse, any Error>) -> Void) {
        self.maxBytes = maxBytes
        self.done = done
    }

    var hasFirstToken: Bool { status != 0 }

    func transferDidReceiveResponse(status: Int, headers: ResponseHeaders) {
        self.status = status
        contentType = headers.contentType
    }

    func transferDidReceive(_ bytes: UnsafeRawBufferPointer, receivedAt: UInt64) -> ReceiveVerdict {
        guard body.count + bytes.count <= maxBytes else { return .abort("response larger than \(maxBytes) bytes") }
        body.append(contentsOf: bytes)
        return .proceed
    }

    func transferDidComplete(_ outcome: TransferOutcome) {
        transfer = nil
        if let error = outcome.error {
            done(.failure(error))
        } else {
            done(.success(FetchedResponse(status: outcome.httpStatus, body: body, contentType: contentType)))
        }
    }
}
