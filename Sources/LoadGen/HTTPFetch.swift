import Curl
import Foundation
import Synchronization

/// A whole (non-streamed) HTTP response, for probes like `GET /v1/models`.
public struct FetchedResponse: Sendable {
    public var status: Int
    public var body: [UInt8]
    public var contentType: String?
}

/// One-off requests through the same engine as the load, for probing a server before a run.
public enum HTTPFetch {
    public static func fetch(_ request: TransferRequest, on engine: Engine,
                             maxBytes: Int = 8 << 20) async throws -> FetchedResponse {
        try await withCheckedThrowingContinuation { continuation in
            let collector = Collector(maxBytes: maxBytes) { result in continuation.resume(with: result) }
            do {
                let transfer = try Transfer(request: request, delegate: collector)
                collector.transfer = transfer
                engine.submit(transfer)
            } catch {
                continuation.resume(throwing: error)
            }
        }
    }

    /// The ids listed by `GET {base}/v1/models`.
    public static func modelIDs(base: String, engine: Engine, headers: [String], insecure: Bool,
                                timeouts: Timeouts) async throws -> [String] {
        let request = TransferRequest(url: base + "/v1/models", method: "GET", headers: headers,
                                      timeouts: timeouts, insecure: insecure)
        let response = try await fetch(request, on: engine)
        guard response.status == 200 else {
            let text = String(decoding: response.body.prefix(200), as: UTF8.self)
            throw ProbeError(url: base + "/v1/models",
                             problem: "answered HTTP \(response.status) (\(text)); is this an OpenAI-compatible server?")
        }
        guard let object = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any],
              let data = object["data"] as? [[String: Any]] else {
            // Say what was found (an HTML page, a proxy's text), not only what was missing.
            let sample = String(decoding: response.body.prefix(160), as: UTF8.self)
                .replacingOccurrences(of: "\n", with: " ")
            throw ProbeError(url: base + "/v1/models",
                             problem: "did not return an OpenAI model list ({\"data\": [{\"id\": ...}]}); got "
                                 + "Content-Type \(response.contentType ?? "none"): \(sample); "
                                 + "is this an OpenAI-compatible server?")
        }
        return data.compactMap { $0["id"] as? String }
    }

    private final class Collector: TransferDelegate, @unchecked Sendable {
        var body: [UInt8] = []
        var status = 0
        var contentType: String?
        let maxBytes: Int
        var transfer: Transfer?
        let done: (Result<FetchedResponse, Error>) -> Void

        init(maxBytes: Int, done: @escaping (Result<FetchedResponse, Error>) -> Void) {
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
}

/// A target that does not behave like an OpenAI-compatible server.
public struct ProbeError: Error, Sendable, CustomStringConvertible {
    public let url: String
    public let problem: String
    public var description: String { "\(url) \(problem)" }
}
