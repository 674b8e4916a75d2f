/// What the loop needs to send one HTTP request and stream its response.
package struct TransferRequest: Sendable {
    package enum HTTPVersion: String, Sendable, CaseIterable {
        case http1 = "1.1"
        case http2 = "2"
    }

    package var url: String
    package var method: String
    /// Request body. `Transfer` moves it into a buffer of its own, which libcurl reads in place, and drops it from
    /// its copy of the request (so the caller's array need not outlive the transfer).
    package var body: [UInt8]?
    /// Extra header lines, e.g. "Content-Type: application/json". Never logged: may carry the API key.
    package var headers: [String]
    package var timeouts: Timeouts
    package var httpVersion: HTTPVersion
    /// Skips TLS certificate verification (`--insecure`).
    package var insecure: Bool
    /// Opens a new connection for this request and closes it afterwards instead of reusing the pool.
    package var freshConnection: Bool

    package init(
        url: String,
        method: String = "POST",
        body: [UInt8]? = nil,
        headers: [String] = [],
        timeouts: Timeouts = Timeouts(),
        httpVersion: HTTPVersion = .http1,
        insecure: Bool = false,
        freshConnection: Bool = false
    ) {
        self.url = url
        self.method = method
        self.body = body
        self.headers = headers
        self.timeouts = timeouts
        self.httpVersion = httpVersion
        self.insecure = insecure
        self.freshConnection = freshConnection
    }
}

/// The four separate time limits of a request, in milliseconds; `nil` means no limit.
package struct Timeouts: Sendable, Equatable, Codable {
    /// TCP (and TLS) connection establishment.
    package var connectMs: Double?
    /// From hand-off to libcurl until the first generated token.
    package var firstTokenMs: Double?
    /// Longest silence between two received buffers once the response started.
    package var idleMs: Double?
    /// Whole request, hand-off to end of stream.
    package var totalMs: Double?

    package init(connectMs: Double? = 10_000, firstTokenMs: Double? = 300_000, idleMs: Double? = 60_000,
                totalMs: Double? = 1_800_000) {
        self.connectMs = connectMs
        self.firstTokenMs = firstTokenMs
        self.idleMs = idleMs
        self.totalMs = totalMs
    }
}
