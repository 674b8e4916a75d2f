import Curl

/// Settings shared by every request of a run.
package struct RequestSettings: Sendable {
    package var timeouts: Timeouts
    package var httpVersion: TransferRequest.HTTPVersion
    package var insecure: Bool
    package var freshConnectionPerRequest: Bool
    /// Header lines sent with every request (may contain the API key: never log them).
    package var headers: [String]
    /// Keep the generated text in records (`--save-outputs`); schema checks read it without keeping it.
    package var keepOutputText: Bool
    /// Largest SSE event (or JSON body) accepted before the request fails as `event-too-large`.
    package var maxEventBytes: Int
    /// Ask for usage on every chunk (vLLM's `continuous_usage_stats`) so ITL per token can be measured.
    package var continuousUsage: Bool
    package var routing: Routing
    /// New connections opened per second at most (`--connect-rate`): a 10k-stream start is paced instead of a
    /// SYN storm (4000 simultaneous starts on a 2-vCPU VM left some streams ~25 s late). 0 = unpaced.
    package var connectRate: Double = 2000
    /// Where receive stamps come from (`--receive-time`): the kernel's receive time by default.
    package var receiveTimes: ReceiveTimeSource = .kernel
    /// Run the loop and scheduler threads under SCHED_FIFO (`--realtime`, `RealtimeScheduling`).
    package var realtime = false

    package enum Routing: String, Sendable, CaseIterable {
        /// Send to the replica with the fewest requests in flight.
        case leastOutstanding = "least-outstanding"
        case roundRobin = "round-robin"
        /// Sticky: every request of a session (a multi-turn conversation, a trace's session id) goes to the
        /// replica its first went to, so that replica's prefix cache holds the history; others least-outstanding.
        case session
    }

    package init(timeouts: Timeouts = Timeouts(), httpVersion: TransferRequest.HTTPVersion = .http1,
                insecure: Bool = false, freshConnectionPerRequest: Bool = false, headers: [String] = [],
                keepOutputText: Bool = false, maxEventBytes: Int = 16 << 20, continuousUsage: Bool = true,
                routing: Routing = .leastOutstanding) {
        self.timeouts = timeouts
        self.httpVersion = httpVersion
        self.insecure = insecure
        self.freshConnectionPerRequest = freshConnectionPerRequest
        self.headers = headers
        self.keepOutputText = keepOutputText
        self.maxEventBytes = maxEventBytes
        self.continuousUsage = continuousUsage
        self.routing = routing
    }
}
