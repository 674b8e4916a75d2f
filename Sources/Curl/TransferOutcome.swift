/// Why a transfer did not complete normally, as seen by the engine.
public enum TransferError: Error, Sendable, Equatable, CustomStringConvertible {
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

    public var description: String {
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
public struct TransferTimings: Sendable, Equatable, Codable {
    public var nameLookupUs: Int64 = 0
    public var connectUs: Int64 = 0
    public var tlsUs: Int64 = 0
    public var firstByteUs: Int64 = 0
    public var totalUs: Int64 = 0
    /// True when the request went over a connection that was already open.
    public var reusedConnection: Bool = false
    public init() {}
}

/// How a transfer ended.
public struct TransferOutcome: Sendable {
    public var error: TransferError?
    public var httpStatus: Int
    public var timings: TransferTimings
    /// Monotonic time (ns) at which the engine saw the transfer finish.
    public var finishedAt: UInt64
    /// Times the request was re-sent because a reused connection died before any byte of the answer.
    public var retries: Int = 0
}

/// The few response headers the load generator needs.
public struct ResponseHeaders: Sendable, Equatable {
    public var contentType: String?
    public var retryAfter: String?
    public init(contentType: String? = nil, retryAfter: String? = nil) {
        self.contentType = contentType
        self.retryAfter = retryAfter
    }
}
