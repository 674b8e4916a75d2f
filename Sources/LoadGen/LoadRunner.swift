import Curl
import Foundation
import Metrics
import NIOConcurrencyHelpers
import Workload

/// Offers a load plan to one target: closed-loop phases keep N requests in flight, open-loop phases send at the
/// seeded arrival times (queueing behind a concurrency ceiling, never dropping), and every request records when
/// it was meant to start, so client-side queueing shows up as send lag instead of hiding (coordinated omission).
///
/// A dedicated scheduler thread decides what to send and when; engine threads run the transfers and signal it
/// on each completion.
public final class LoadRunner: @unchecked Sendable {
    public let target: Target
    private let plan: LoadPlan
    private let settings: RequestSettings
    private let engines: [Engine]
    private let makeRequest: @Sendable (Int) -> PreparedRequest
    private let onRecord: @Sendable (RequestRecord) -> Void
    private let warmupRequests: Int
    private let warmupS: Double
    private let cooldownS: Double
    /// Whether `run()` returns the records; off for long runs, whose records live on disk and in a summary.
    private let keepRecords: Bool
    private var arrivals: ArrivalGenerator?
    private let wake = DispatchSemaphore(value: 0)
    /// Finished records go to `onRecord` (JSON-encoded and appended to requests.jsonl, aggregated) on this serial
    /// queue, not on the engine thread that finished them: encoding a 1000-event record takes ~0.7 ms, during which
    /// an engine thread would timestamp nobody else's events. `run()` returns only after it drained.
    private let recordQueue = DispatchQueue(label: "tpbench.records", qos: .utility)

    /// Shared between the scheduler thread, engine threads (completions) and callers (cancel, progress).
    private let state = NIOLockedValueBox<State>(State())
    private struct State {
        var issued = 0
        var inFlight = 0
        var completed = 0
        var stopIssuing = false
        var records: [RequestRecord] = []
        var outstandingPerReplica: [Int] = []
        var nextReplica = 0
        var finished = false
        var unsentArrivals = 0
    }

    public init(target: Target, plan: LoadPlan, arrivals: ArrivalGenerator?, settings: RequestSettings,
                engines: [Engine], warmupRequests: Int = 0, warmupS: Double = 0, cooldownS: Double = 0,
                keepRecords: Bool = true, makeRequest: @escaping @Sendable (Int) -> PreparedRequest,
                onRecord: @escaping @Sendable (RequestRecord) -> Void = { _ in }) {
        precondition(!engines.isEmpty && !target.baseURLs.isEmpty)
        self.target = target
        self.plan = plan
        self.arrivals = arrivals
        self.settings = settings
        self.engines = engines
        self.makeRequest = makeRequest
        self.onRecord = onRecord
        self.warmupRequests = warmupRequests
        self.warmupS = warmupS
        self.cooldownS = cooldownS
        self.keepRecords = keepRecords
    }

    /// Requests in flight right now.
    public var inFlight: Int { state.withLockedValue { $0.inFlight } }

    /// Scheduled arrivals still queued behind the concurrency ceiling when the run ended (never sent).
    public var unsentArrivals: Int { state.withLockedValue { $0.unsentArrivals } }

    /// Runs the plan to its end and returns every request's record, failures and excluded ones included (none
    /// when the runner was made with `keepRecords: false`: then `onRecord` is the only place they go).
    public func run(epochNs: UInt64 = MonotonicClock.now()) async -> [RequestRecord] {
        state.withLockedValue { $0.outstandingPerReplica = Array(repeating: 0, count: target.baseURLs.count) }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<[RequestRecord], Never>) in
                let thread = Thread { [self] in
                    self.schedule(epochNs: epochNs)
                    self.recordQueue.sync {}
                    let records = self.state.withLockedValue { $0.records }
                    continuation.resume(returning: records)
                }
                thread.name = "tpbench-scheduler"
                thread.start()
            }
        } onCancel: {
            cancel()
        }
    }

    /// Waits (up to `timeout`) until every finished record went through `onRecord`, e.g. before exiting at once on
    /// a second Ctrl-C. Returns false on timeout.
    @discardableResult
    public func drainRecords(timeout: DispatchTimeInterval = .seconds(2)) -> Bool {
        let drained = DispatchSemaphore(value: 0)
        recordQueue.async { drained.signal() }
        return drained.wait(timeout: .now() + timeout) == .success
    }

    /// Stops issuing new requests; those in flight finish normally (then `run` returns).
    public func stopIssuing() {
        state.withLockedValue { $0.stopIssuing = true }
        wake.signal()
    }

    /// Stops issuing and cancels everything in flight (recorded as `cancelled`).
    public func cancel() {
        stopIssuing()
        for engine in engines { engine.cancelAll() }
    }

    // MARK: - Scheduler thread

    private func schedule(epochNs: UInt64) {
        var nextArrival: Double? = arrivals?.next()
        /// Open-loop arrivals waiting for a slot under the ceiling: (index, intended start ns).
        var waiting: [(Int, UInt64)] = []
        var waitingHead = 0
        var pacer = ConnectPacer(ratePerSecond: settings.connectRate, now: MonotonicClock.now())
        /// Most requests ever in flight: a start above it needs a new connection (the pool holds at most that many).
        var peakInFlight = 0
        let freshConnections = settings.freshConnectionPerRequest
        // HTTP/2 multiplexes: a new connection is needed once per `streamsPerConnection` streams, not per stream.
        let streamsPerConnection = settings.httpVersion == .http2 && !freshConnections ? Engine.maxStreamsPerConnection : 1
        let maxRequests = plan.maxRequests ?? .max
        let duration = plan.durationS ?? .infinity

        while true {
            let now = MonotonicClock.now()
            let t = Double(now &- epochNs) / 1e9
            var (issued, inFlight, stop) = state.withLockedValue { ($0.issued, $0.inFlight, $0.stopIssuing) }
            let timeUp = t >= duration

            // Arrivals due now join the queue (open phases only produce arrivals).
            while !stop, let arrival = nextArrival, arrival <= t, arrival < duration,
                  issued + (waiting.count - waitingHead) < maxRequests {
                waiting.append((issued + (waiting.count - waitingHead), epochNs + UInt64(arrival * 1e9)))
                nextArrival = arrivals?.next()
            }
            if nextArrival.map({ $0 >= duration }) == true { nextArrival = nil }

            let phase = plan.phase(at: t)
            var ceiling = Int.max
            var closedTarget = 0
            if case .closed(let n)? = phase?.kind {
                ceiling = n
                closedTarget = n
            } else if let limit = plan.concurrencyCeiling {
                ceiling = limit
            }

            // Queued arrivals first (they are late already), then closed-loop slots; both wait for the pacer when
            // the start needs a new connection.
            var pacedUntil: UInt64? = nil
            func mayStart() -> Bool {
                let needsConnection = freshConnections
                    || (inFlight >= peakInFlight && inFlight % streamsPerConnection == 0)
                guard needsConnection else {
                    peakInFlight = max(peakInFlight, inFlight + 1)
                    return true
                }
                if let next = pacer.take(now: MonotonicClock.now()) {
                    pacedUntil = next
                    return false
                }
                peakInFlight = max(peakInFlight, inFlight + 1)
                return true
            }
            while waitingHead < waiting.count, inFlight < ceiling, !stop, mayStart() {
                let (index, intended) = waiting[waitingHead]
                waitingHead += 1
                start(index: index, intendedStartNs: intended, epochNs: epochNs)
                issued += 1
                inFlight += 1
            }
            if waitingHead > 1024 && waitingHead * 2 > waiting.count {
                waiting.removeFirst(waitingHead)
                waitingHead = 0
            }
            while !stop, !timeUp, inFlight < closedTarget, issued + (waiting.count - waitingHead) < maxRequests,
                  pacedUntil == nil, mayStart() {
                start(index: issued, intendedStartNs: nil, epochNs: epochNs)
                issued += 1
                inFlight += 1
            }

            stop = stop || timeUp
            let moreToCome = !stop && issued < maxRequests && (nextArrival != nil || laterPhaseExists(after: t)
                                                                 || closedTarget > 0)
            if !moreToCome && waitingHead >= waiting.count {
                // Nothing more will be issued: wait for the stragglers, then finish.
                if state.withLockedValue({ $0.inFlight }) == 0 { break }
                _ = wake.wait(timeout: .now() + .milliseconds(50))
                continue
            }
            if stop && waitingHead < waiting.count {
                // Stopped with arrivals still queued: never sent, so not requests, but counted and reported.
                let unsent = waiting.count - waitingHead
                state.withLockedValue { $0.unsentArrivals += unsent }
                waitingHead = waiting.count
            }
            // Sleep until the next arrival, the next phase boundary, or a completion.
            var wakeAt = t + 0.25
            if let nextArrival { wakeAt = min(wakeAt, nextArrival) }
            if let boundary = nextBoundary(after: t) { wakeAt = min(wakeAt, boundary) }
            if duration.isFinite { wakeAt = min(wakeAt, duration) }
            if let pacedUntil { wakeAt = min(wakeAt, Double(pacedUntil &- epochNs) / 1e9) }
            let delay = max(0, wakeAt - t)
            if delay > 0 { _ = wake.wait(timeout: .now() + .nanoseconds(Int(delay * 1e9))) }
        }
        state.withLockedValue { $0.finished = true }
    }

    private func laterPhaseExists(after t: Double) -> Bool {
        plan.phases.contains { $0.start > t }
    }

    private func nextBoundary(after t: Double) -> Double? {
        plan.phases.flatMap { [$0.start] + ($0.end.map { [$0] } ?? []) }.filter { $0 > t }.min()
    }

    private func pickReplica() -> Int {
        state.withLockedValue { state in
            var choice = 0
            switch settings.routing {
            case .roundRobin:
                choice = state.nextReplica % target.baseURLs.count
                state.nextReplica += 1
            case .leastOutstanding:
                for i in state.outstandingPerReplica.indices
                where state.outstandingPerReplica[i] < state.outstandingPerReplica[choice] { choice = i }
            }
            state.outstandingPerReplica[choice] += 1
            state.issued += 1
            state.inFlight += 1
            return choice
        }
    }

    private func start(index: Int, intendedStartNs: UInt64?, epochNs: UInt64) {
        let replica = pickReplica()
        let prepared = makeRequest(index)
        let base = target.baseURLs[replica]
        let startedInWarmup = index < warmupRequests
            || Double(MonotonicClock.now() &- epochNs) / 1e9 < warmupS
        let execution = RequestExecution(
            id: index, target: target.name, replica: base, intendedStartNs: intendedStartNs, epochNs: epochNs,
            prepared: prepared, keepText: settings.keepOutputText, maxEventBytes: settings.maxEventBytes
        ) { [weak self] _, record in
            var record = record
            if startedInWarmup { record.excludedAs = "warmup" }
            self?.completed(record, replica: replica)
        }
        let request = TransferRequest(
            url: base + prepared.path, method: "POST", body: prepared.body,
            headers: ["Content-Type: application/json", "Accept: text/event-stream"] + settings.headers,
            timeouts: settings.timeouts, httpVersion: settings.httpVersion, insecure: settings.insecure,
            freshConnection: settings.freshConnectionPerRequest)
        do {
            let transfer = try Transfer(request: request, delegate: execution)
            execution.transfer = transfer
            engines[index % engines.count].submit(transfer)
        } catch {
            let now = MonotonicClock.now()
            var record = RequestRecord(
                id: index, target: target.name, replica: base,
                intendedStartMs: intendedStartNs.map { RequestExecution.milliseconds($0, since: epochNs) },
                startMs: RequestExecution.milliseconds(now, since: epochNs), e2eMs: 0, httpStatus: 0,
                failure: .connect, failureMessage: "could not create the request: \(error)")
            if startedInWarmup { record.excludedAs = "warmup" }
            completed(record, replica: replica)
        }
    }

    private func completed(_ record: RequestRecord, replica: Int) {
        var record = record
        if cooldownS > 0, let duration = plan.durationS, record.startMs / 1000 > duration - cooldownS,
           record.excludedAs == nil {
            record.excludedAs = "cooldown"
        }
        let onRecord = self.onRecord
        let finished = record
        recordQueue.async { onRecord(finished) }
        state.withLockedValue { state in
            if keepRecords { state.records.append(record) }
            state.inFlight -= 1
            state.completed += 1
            state.outstandingPerReplica[replica] -= 1
        }
        wake.signal()
    }
}
