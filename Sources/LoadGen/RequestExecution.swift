import Curl
import Metrics
import OpenAI

/// The loop-side life of one request: decodes its stream as bytes arrive and turns the outcome into a record.
///
/// Runs entirely on its loop's thread (see `TransferDelegate`), so it needs no locks.
final class RequestExecution: TransferDelegate {
    let id: Int
    let target: String
    let replica: String
    let intendedStartNs: UInt64?
    let epochNs: UInt64
    let prepared: PreparedRequest
    let keepText: Bool
    private var decoder: StreamDecoder
    private let onComplete: (RequestExecution, RequestRecord) -> Void
    var transfer: Transfer?
    /// The server's Retry-After on an error answer (429/503), kept for the failure message.
    private var retryAfter: String?

    init(id: Int, target: String, replica: String, intendedStartNs: UInt64?, epochNs: UInt64,
         prepared: PreparedRequest, keepText: Bool, maxEventBytes: Int,
         onComplete: @escaping (RequestExecution, RequestRecord) -> Void) {
        self.id = id
        self.target = target
        self.replica = replica
        self.intendedStartNs = intendedStartNs
        self.epochNs = epochNs
        // The record needs the request's settings, not its body: the transfer holds the one copy of that.
        var settings = prepared
        settings.body = []
        self.prepared = settings
        self.keepText = keepText
        // Text is only collected when a record keeps it or a schema check reads it: otherwise each event is
        // scanned for token-bearing fields without unescaping or copying its text.
        self.decoder = StreamDecoder(maxEventBytes: maxEventBytes, keepText: keepText || prepared.schema != nil,
                                     maxTokens: prepared.requestedMaxTokens)
        self.onComplete = onComplete
    }

    var hasFirstToken: Bool { decoder.hasFirstToken }

    func transferDidReceiveResponse(status: Int, headers: ResponseHeaders) {
        decoder.begin(status: status, contentType: headers.contentType, declaredLength: headers.declaredLength)
        retryAfter = headers.retryAfter
    }

    func transferDidReceive(_ bytes: UnsafeRawBufferPointer, receivedAt: UInt64) -> ReceiveVerdict {
        do {
            try decoder.feed(bytes, receivedAt: receivedAt)
            return .proceed
        } catch {
            return .abort("\(error)")
        }
    }

    func transferDidComplete(_ outcome: TransferOutcome) {
        let startedAt = transfer?.startedAt ?? outcome.finishedAt
        let decoded = decoder.finish()
        let record = RequestExecution.record(
            id: id, target: target, replica: replica, epochNs: epochNs, intendedStartNs: intendedStartNs,
            startedAt: startedAt, outcome: outcome, decoded: decoded, prepared: prepared, keepText: keepText,
            retryAfter: retryAfter)
        transfer = nil
        onComplete(self, record)
    }

    static func milliseconds(_ ns: UInt64, since origin: UInt64) -> Double {
        ns >= origin ? Double(ns - origin) / 1e6 : -Double(origin - ns) / 1e6
    }

    /// Classifies the outcome (`FailureClass`) and builds the record.
    static func record(id: Int, target: String, replica: String, epochNs: UInt64, intendedStartNs: UInt64?,
                       startedAt: UInt64, outcome: TransferOutcome, decoded: DecodedResponse,
                       prepared: PreparedRequest, keepText: Bool, retryAfter: String? = nil) -> RequestRecord {
        let status = outcome.httpStatus != 0 ? outcome.httpStatus : decoded.httpStatus
        var (failure, message) = classify(outcome: outcome, decoded: decoded, status: status)
        if let retryAfter, status >= 400 { message = (message ?? "HTTP \(status)") + " (\(RetryAfter.describe(retryAfter)))" }
        let usageTokens = decoded.completionTokens
        var record = RequestRecord(
            id: id, target: target, replica: replica,
            intendedStartMs: intendedStartNs.map { milliseconds($0, since: epochNs) },
            startMs: milliseconds(startedAt, since: epochNs),
            e2eMs: milliseconds(outcome.finishedAt, since: startedAt),
            tokenEventOffsetsMs: decoded.tokenEventTimes.values.map { milliseconds($0, since: startedAt) },
            tokensPerEvent: decoded.exactTokensPerEvent?.map(Int.init),
            promptTokens: decoded.promptTokens,
            outputTokens: usageTokens ?? decoded.tokenEventTimes.count,
            outputTokensEstimated: usageTokens == nil,
            requestedPromptTokens: prepared.requestedPromptTokens,
            requestedMaxTokens: prepared.requestedMaxTokens,
            httpStatus: status,
            finishReason: decoded.finishReason,
            failure: failure,
            failureMessage: message,
            streamed: decoded.streamed)
        record.cachedPromptTokens = decoded.cachedPromptTokens
        record.reasoningTokens = decoded.reasoningTokens
        // vLLM counts reasoning tokens between a <think> and a </think> it generated: when the chat template opens
        // <think> in the prompt (DeepSeek-R1's does), usage reports 0 for a stream full of reasoning. Then the
        // stream's own reasoning events are the count.
        if decoded.reasoningEvents > 0 && (decoded.reasoningTokens ?? 0) == 0 {
            record.reasoningTokens = decoded.reasoningEventTokens
            record.reasoningTokensCounted = true
        }
        if decoded.reasoningEvents > 0, let answer = decoded.firstAnswerEvent,
           answer < record.tokenEventOffsetsMs.count {
            record.firstAnswerOffsetMs = record.tokenEventOffsetsMs[answer]
        }
        // End of an answer is when its last event (a stream's [DONE]) or last byte (a JSON body) arrived, stamped
        // like every event, not when the loop finished processing the transfer (after its whole wake-up).
        if failure == nil {
            if !decoded.streamed, let last = decoded.tokenEventTimes.last {
                record.e2eMs = milliseconds(last, since: startedAt)
            } else if decoded.streamed, let last = decoded.lastEventTime, last >= startedAt {
                record.e2eMs = milliseconds(last, since: startedAt)
            }
        }
        let timings = outcome.timings
        record.connectMs = timings.connectUs > 0 ? Double(timings.connectUs) / 1000 : nil
        record.tlsMs = timings.tlsUs > 0 ? Double(timings.tlsUs) / 1000 : nil
        record.firstByteMs = timings.firstByteUs > 0 ? Double(timings.firstByteUs) / 1000 : nil
        record.reusedConnection = timings.reusedConnection
        record.httpVersion = timings.httpVersion
        if outcome.retries > 0 { record.retries = outcome.retries }
        if keepText { record.outputText = decoded.text }
        if failure == nil, let schema = prepared.schema {
            switch schema.check(output: decoded.text, finishReason: decoded.finishReason) {
            case .valid: record.schemaVerdict = .valid
            case .truncated: record.schemaVerdict = .truncated
            case .notJSON(let why):
                record.schemaVerdict = .notJSON
                record.schemaError = why
            case .schemaViolation(let pointer, let keyword, let message):
                record.schemaVerdict = .schemaViolation
                record.schemaError = "\(pointer.isEmpty ? "/" : pointer): \(message) (\(keyword))"
            }
        }
        return record
    }

    static func classify(outcome: TransferOutcome, decoded: DecodedResponse,
                         status: Int) -> (FailureClass?, String?) {
        if let error = outcome.error {
            switch error {
            case .connect(let m): return (.connect, m)
            case .timeoutConnect: return (.timeoutConnect, error.description)
            case .timeoutFirstToken: return (.timeoutFirstToken, error.description)
            case .timeoutIdle: return (.timeoutIdle, error.description)
            case .timeoutTotal: return (.timeoutTotal, error.description)
            case .cancelled: return (.cancelled, error.description)
            case .aborted(let m):
                switch decoded.failure {
                case .eventTooLarge: return (.eventTooLarge, m)
                case .malformedEvent(let detail): return (.malformedEvent, detail)
                case nil: return (.malformedEvent, m)
                }
            case .transport(_, let m):
                if status >= 400 { return httpFailure(status: status, decoded: decoded) }
                return (.truncated, "stream cut: \(m)")
            }
        }
        if status < 200 || status >= 300 { return httpFailure(status: status, decoded: decoded) }
        switch decoded.failure {
        case .malformedEvent(let detail): return (.malformedEvent, detail)
        case .eventTooLarge(let limit): return (.eventTooLarge, "response beyond the \(limit)-byte bound")
        case nil: break
        }
        if let message = decoded.errorEvent { return (.errorEvent, message) }
        if decoded.streamed && !decoded.sawDone && decoded.finishReason == nil {
            return (.truncated, "stream ended without [DONE] or a finish_reason")
        }
        return (nil, nil)
    }

    private static func httpFailure(status: Int, decoded: DecodedResponse) -> (FailureClass?, String?) {
        let message = "HTTP \(status)" + (decoded.httpErrorMessage.map { ": \($0)" } ?? "")
        return (status >= 500 ? .http5xx : .http4xx, message)
    }
}
