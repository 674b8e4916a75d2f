/// Per-request service-level objectives; a request that meets all that are set counts towards goodput.
package struct SLO: Sendable, Codable, Equatable {
    /// Time to first token, ms.
    package var ttftMs: Double?
    /// The request's mean gap between token events (ITL per event), ms.
    package var itlMs: Double?
    /// The request's time per output token, ms.
    package var tpotMs: Double?
    /// End-to-end latency, ms.
    package var e2eMs: Double?

    package init(ttftMs: Double? = nil, itlMs: Double? = nil, tpotMs: Double? = nil, e2eMs: Double? = nil) {
        self.ttftMs = ttftMs
        self.itlMs = itlMs
        self.tpotMs = tpotMs
        self.e2eMs = e2eMs
    }

    package var isEmpty: Bool { ttftMs == nil && itlMs == nil && tpotMs == nil && e2eMs == nil }

    /// Whether a request succeeded, met every objective set, and (when checked) produced schema-valid output.
    package func isMet(by record: RequestRecord) -> Bool {
        guard record.succeeded else { return false }
        if let verdict = record.schemaVerdict, verdict != .valid { return false }
        if let limit = ttftMs { guard let v = record.ttftMs, v <= limit else { return false } }
        if let limit = itlMs, let v = record.meanEventGapMs, v > limit { return false }
        if let limit = tpotMs, let v = record.tpotMs, v > limit { return false }
        if let limit = e2eMs, record.e2eMs > limit { return false }
        return true
    }
}
