/// Why a transfer did not complete normally, as seen by the loop.
package enum TransferError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Could not resolve or connect (refused, unreachable).
    case connect(String)
    case timeoutConnect
    case timeoutFirstToken
    case timeoutIdle
    case timeoutTotal
    /// Cancelled by the caller (Ctrl-C, end of run).
    case cancelled
    /// The delegate stopped the transfer (e.g. an event larger than the buffer bound).
    case aborted(String)
    /// Any other transport failure after the connection was made (reset, cut stream, protocol error).
    case transport(code: Int, message: String)

    package var description: String {
        switch self {
        case .connect(let m): return "connection failed: \(m)"
        case .timeoutConnect: return "connect timeout"
        case .timeoutFirstToken: return "no first token before the first-token timeout"
        case .timeoutIdle: return "stream idle longer than the idle timeout"
        case .timeoutTotal: return "request exceeded the total timeout"
        case .cancelled: return "cancelled"
        case .aborted(let m): return m
        case .transport(let code, let m): return "transport error \(code): \(m)"
        }
    }
}

/// libcurl's phase timings of one transfer, in microseconds from the start of the transfer.
package struct TransferTimings: Sendable, Equatable, Codable {
    package var nameLookupUs: Int64 = 0
    package var connectUs: Int64 = 0
    package var tlsUs: Int64 = 0
    package var firstByteUs: Int64 = 0
    package var totalUs: Int64 = 0
    /// True when the request went over a connection that was already open.
    package var reusedConnection: Bool = false
    /// The HTTP version the response came over ("1.1", "2"); nil when no response started.
    package var httpVersion: String?
    package init() {}
}

/// How a transfer ended.
package struct TransferOutcome: Sendable {
    package var error: TransferError?
    package var httpStatus: Int
    package var timings: TransferTimings
    /// Monotonic time (ns) at which the loop saw the transfer finish.
    package var finishedAt: UInt64
    /// Times the request was re-sent because a reused connection died before any byte of the answer.
    package var retries: Int = 0
}

/// The few response headers the load generator needs.
package struct ResponseHeaders: Sendable, Equatable {
    package var contentType: String?
    package var retryAfter: String?
    /// Content-Length as sent (libcurl itself rejects one that is not a number); nil without one.
    package var contentLength: String?
    package init(contentType: String? = nil, retryAfter: String? = nil, contentLength: String? = nil) {
        self.contentType = contentType
        self.retryAfter = retryAfter
        self.contentLength = contentLength
    }

    /// Content-Length as a byte count: nil when absent, not a plain non-negative integer, or beyond Int64.
    package var declaredLength: Int64? {
        guard let text = contentLength, !text.isEmpty, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return Int64(text)
    }

    /// The longest header value kept (a hostile server may send 100 KB lines; what is kept ends up in messages).
    package static let maxValueBytes = 256
}

/// Retry-After (RFC 9110 §10.2.3) read for a failure message: delay-seconds or an HTTP-date, anything else said
/// to be ignored. Never a number that could overflow: the seconds are bounded by a year.
package enum RetryAfter {
    package static func describe(_ raw: String) -> String {
        let value = raw.prefix(64)
        if !value.isEmpty, value.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) {
            if let seconds = Int(value), seconds <= 31_536_000 { return "retry after \(seconds) s" }
            return "Retry-After \(value) s is beyond a year: ignored"
        }
        // An HTTP-date: "Wed, 21 Oct 2026 07:28:00 GMT".
        if value.hasSuffix("GMT"), value.count >= 20 { return "retry after \(value)" }
        return "Retry-After '\(value)' is neither seconds nor an HTTP date: ignored"
    }
}
