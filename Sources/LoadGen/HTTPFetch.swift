import Curl
import Foundation
import JSON

/// Probes a server through the same loop as the load, before a run.
package enum HTTPFetch {
    /// The ids listed by `GET {base}/v1/models`.
    package static func modelIDs(base: String, loop: MultiLoop, headers: [String], insecure: Bool,
                                timeouts: Timeouts) async throws -> [String] {
        let request = TransferRequest(url: base + "/v1/models", method: "GET", headers: headers,
                                      timeouts: timeouts, insecure: insecure)
        let response = try await loop.fetch(request)
        guard response.status == 200 else {
            let text = String(decoding: response.body.prefix(200), as: UTF8.self)
            throw ProbeError(url: base + "/v1/models",
                             problem: "answered HTTP \(response.status) (\(text)); is this an OpenAI-compatible server?")
        }
        guard let list = try? JSONValue.parse(bytes: response.body), let data = list["data"]?.arrayValue else {
            // Say what was found (an HTML page, a proxy's text), not only what was missing.
            let sample = String(decoding: response.body.prefix(160), as: UTF8.self)
                .replacingOccurrences(of: "\n", with: " ")
            throw ProbeError(url: base + "/v1/models",
                             problem: "did not return an OpenAI model list ({\"data\": [{\"id\": ...}]}); got "
                                 + "Content-Type \(response.contentType ?? "none"): \(sample); "
                                 + "is this an OpenAI-compatible server?")
        }
        return data.compactMap { $0["id"]?.stringValue }
    }
}

/// A target that does not behave like an OpenAI-compatible server.
package struct ProbeError: Error, Sendable, CustomStringConvertible {
    package let url: String
    package let problem: String
    package var description: String { "\(url) \(problem)" }
}
