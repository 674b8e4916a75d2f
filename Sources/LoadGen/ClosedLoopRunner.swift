import Curl
import Foundation
import Metrics
import Synchronization

/// Settings shared by every request of a run.
public struct RequestSettings: Sendable {
    public var api: APIKind
    public var timeouts: Timeouts
    public var httpVersion: TransferRequest.HTTPVersion
    public var insecure: Bool
    public var freshConnectionPerRequest: Bool
    /// Header lines sent with every request (may contain the API key: never log them).
    public var headers: [String]
    /// Keep the generated text in records (needed for schema validation and `--save-outputs`).
    public var keepOutputText: Bool
    /// Largest SSE event (or JSON body) accepted before the request fails as `event-too-large`.
    public var maxEventBytes: Int
    /// Ask for usage on every chunk (vLLM's `continuous_usage_stats`) so ITL per token can be measured.
    public var continuousUsage: Bool

    public init(api: APIKind = .chat, timeouts: Timeouts = Timeouts(), httpVersion: TransferRequest.HTTPVersion = .http1,
                insecure: Bool = false, freshConnectionPerRequest: Bool = false, headers: [String] = [],
                keepOutputText: Bool = false, maxEventBytes: Int = 16 << 20, continuousUsage: Bool = true) {
        self.api = api
        self.timeouts = timeouts
        self.httpVersion = httpVersion
        self.insecure = insecure
        self.freshConnectionPerRequest = freshConnectionPerRequest
        self.headers = headers
        self.keepOutputText = keepOutputText
        self.maxEventBytes = maxEventBytes
        self.continuousUsage = continuousUsage
    }
}

/// Closed-loop load: keeps `concurrency` requests in flight until `requests.count` have completed.
///
/// Scheduling is driven from completions on the engine threads: a finishing request starts the next one on the
/// same thread with no hop, so the client adds no queueing of its own between requests.
public final class ClosedLoopRunner: @unchecked Sendable {
    public let target: Target
    public let concurrency: Int
    private let requests: [PreparedRequest]
    private let settings: RequestSettings
    private let engines: [Engine]
    private let onRecord: @Sendable (RequestRecord) -> Void

    /// Counters shared by all engine threads and the caller; a lock because completions arrive on any engine.
    private let state = Mutex<State>(State())
    private struct State {
        var nextIndex = 0
        var inFlight = 0
        var completed = 0
        var cancelled = false
        var records: [RequestRecord] = []
        var outstandingPerReplica: [Int] = []
        var continuation: CheckedContinuation<[RequestRecord], Never>?
        var epochNs: UInt64 = 0
    }

    public init(target: Target, concurrency: Int, requests: [PreparedRequest], settings: RequestSettings,
                engines: [Engine], onRecord: @escaping @Sendable (RequestRecord) -> Void = { _ in }) {
        precondition(!engines.isEmpty && !target.baseURLs.isEmpty)
        self.target = target
        self.concurrency = max(1, concurrency)
        self.requests = requests
        self.settings = settings
        self.engines = engines
        self.onRecord = onRecord
    }

    /// Runs to completion (or cancellation) and returns every request's record, failures included.
    public func run(epochNs: UInt64 = MonotonicClock.now()) async -> [RequestRecord] {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let starts = state.withLock { state -> [(Int, Int)] in
                    state.epochNs = epochNs
                    state.continuation = continuation
                    state.outstandingPerReplica = Array(repeating: 0, count: target.baseURLs.count)
                    state.records.reserveCapacity(requests.count)
                    var starts: [(Int, Int)] = []
                    while state.nextIndex < requests.count && state.inFlight < concurrency {
                        starts.append(Self.claimNext(&state))
                    }
                    if starts.isEmpty { Self.finishIfDone(&state, total: requests.count) }
                    return starts
                }
                for (index, replica) in starts { start(index: index, replica: replica) }
            }
        } onCancel: {
            cancel()
        }
    }

    /// Stops issuing new requests and cancels those in flight (they are recorded as `cancelled`).
    public func cancel() {
        let alreadyDone = state.withLock { state -> Bool in
            let was = state.cancelled
            state.cancelled = true
            return was
        }
        guard !alreadyDone else { return }
        for engine in engines { engine.cancelAll() }
    }

    /// Takes the next request index and the least-loaded replica.
    private static func claimNext(_ state: inout State) -> (Int, Int) {
        let index = state.nextIndex
        state.nextIndex += 1
        state.inFlight += 1
        var best = 0
        for i in state.outstandingPerReplica.indices
        where state.outstandingPerReplica[i] < state.outstandingPerReplica[best] { best = i }
        state.outstandingPerReplica[best] += 1
        return (index, best)
    }

    private static func finishIfDone(_ state: inout State, total: Int) {
        guard state.inFlight == 0, state.cancelled || state.nextIndex >= total else { return }
        let records = state.records
        state.continuation?.resume(returning: records)
        state.continuation = nil
    }

    private func start(index: Int, replica: Int) {
        let prepared = requests[index]
        let base = target.baseURLs[replica]
        let epoch = state.withLock { $0.epochNs }
        let execution = RequestExecution(
            id: index, target: target.name, replica: base, intendedStartNs: nil, epochNs: epoch,
            prepared: prepared, keepText: settings.keepOutputText, maxEventBytes: settings.maxEventBytes
        ) { [weak self] execution, record in
            self?.completed(execution, record: record, replica: replica)
        }
        let request = TransferRequest(
            url: base + settings.api.path, method: "POST", body: prepared.body,
            headers: ["Content-Type: application/json", "Accept: text/event-stream"] + settings.headers,
            timeouts: settings.timeouts, httpVersion: settings.httpVersion, insecure: settings.insecure,
            freshConnection: settings.freshConnectionPerRequest)
        do {
            let transfer = try Transfer(request: request, delegate: execution)
            execution.transfer = transfer
            engines[index % engines.count].submit(transfer)
        } catch {
            let now = MonotonicClock.now()
            let record = RequestRecord(
                id: index, target: target.name, replica: base, startMs: RequestExecution.milliseconds(now, since: epoch),
                e2eMs: 0, httpStatus: 0, failure: .connect, failureMessage: "could not create the request: \(error)")
            completed(execution, record: record, replica: replica)
        }
    }

    private func completed(_ execution: RequestExecution, record: RequestRecord, replica: Int) {
        onRecord(record)
        let next = state.withLock { state -> (Int, Int)? in
            state.records.append(record)
            state.inFlight -= 1
            state.completed += 1
            state.outstandingPerReplica[replica] -= 1
            if !state.cancelled && state.nextIndex < requests.count {
                return Self.claimNext(&state)
            }
            Self.finishIfDone(&state, total: requests.count)
            return nil
        }
        if let (index, replica) = next { start(index: index, replica: replica) }
    }
}
