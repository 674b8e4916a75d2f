import Curl
import Foundation
import Metrics
import NIOConcurrencyHelpers
import ThreadPriority
import Workload

/// Offers a load plan to one target: closed-loop phases keep N requests in flight, open-loop phases send at the
/// seeded arrival times (queueing behind a concurrency ceiling, never dropping), and every request records when
/// it was meant to start, so client-side queueing shows up as send lag instead of hiding (coordinated omission).
///
/// A dedicated scheduler thread decides what to send and when; loop threads run the transfers and signal it
/// on each completion.
package final class LoadRunner: @unchecked Sendable {
    package let target: Target
    private let plan: LoadPlan
    private let settings: RequestSettings
    private let loops: [MultiLoop]
    private let makeRequest: @Sendable (Int) -> PreparedRequest
    /// Multi-turn sessions: arrivals and closed-loop slots start sessions, and each answer schedules the next turn.
    private let sessions: SessionDriver?
    private let onRecord: @Sendable (RequestRecord) -> Void
    private let warmupRequests: Int
    private let warmupS: Double
    private let cooldownS: Double
    /// Whether `run()` returns the records; off for long runs, whose records live on disk and in a summary.
    private let keepRecords: Bool
    private var arrivals: ArrivalGenerator?
    /// Open-loop requests built while the scheduler waits for their due times, by index (scheduler thread only).
    private var prebuilt: [Int: PreparedRequest] = [:]
    /// How far ahead of the next arrival requests are built, and how many at most: a burst's requests are all
    /// ready before its first is due, instead of the second being built when it is late already.
    static let prebuildHorizonS = 0.05
    static let prebuildLimit = 32
    private let wake = DispatchSemaphore(value: 0)
    /// Finished records go to `onRecord` (JSON-encoded and appended to requests.jsonl, aggregated) on this serial
    /// queue, not on the loop thread that finished them: encoding a 1000-event record takes ~0.7 ms, during which
    /// a loop thread would timestamp nobody else's events. `run()` returns only after it drained.
    private let recordQueue = DispatchQueue(label: "tpbench.records", qos: .utility)

    /// Shared between the scheduler thread, loop threads (completions) and callers (cancel, progress).
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
        /// Routing key → replica for `--routing session` (a session's first request picks, the rest follow).
        var stickyReplica: [Int: Int] = [:]
        /// Sessions started and not yet ended, by local session number.
        var openSessions: [Int: OpenSession] = [:]
        /// Next turns waiting for their think time, latest first (the scheduler pops the earliest from the end).
        var followUps: [FollowUp] = []
        var sessionCounts = SessionCounts()
        var realtimeProblem: String?
        /// The run's time origin (records' `startMs` count from it).
        var epochNs: UInt64 = 0
    }

    /// With `settings.realtime`: why the scheduler thread could not run real-time.
    package var realtimeProblem: String? { state.withLockedValue { $0.realtimeProblem } }

    struct OpenSession {
        var turns: Int
        var answers: [SessionAnswer] = []
    }

    struct FollowUp {
        var dueNs: UInt64
        var session: Int
        var turn: Int
    }

    package init(target: Target, plan: LoadPlan, arrivals: ArrivalGenerator?, settings: RequestSettings,
                loops: [MultiLoop], warmupRequests: Int = 0, warmupS: Double = 0, cooldownS: Double = 0,
                keepRecords: Bool = true, sessions: SessionDriver? = nil,
                makeRequest: @escaping @Sendable (Int) -> PreparedRequest = { _ in preconditionFailure("no requests") },
                onRecord: @escaping @Sendable (RequestRecord) -> Void = { _ in }) {
        precondition(!loops.isEmpty && !target.baseURLs.isEmpty)
        self.target = target
        self.sessions = sessions
        self.plan = plan
        self.arrivals = arrivals
        self.settings = settings
        self.loops = loops
        self.makeRequest = makeRequest
        self.onRecord = onRecord
        self.warmupRequests = warmupRequests
        self.warmupS = warmupS
        self.cooldownS = cooldownS
        self.keepRecords = keepRecords
    }

    /// Requests in flight right now.
    package var inFlight: Int { state.withLockedValue { $0.inFlight } }

    /// Scheduled arrivals still queued behind the concurrency ceiling when the run ended (never sent).
    package var unsentArrivals: Int { state.withLockedValue { $0.unsentArrivals } }

    /// How the sessions of a multi-turn run went (all zero without sessions).
    package var sessionCounts: SessionCounts { state.withLockedValue { $0.sessionCounts } }

    /// Runs the plan to its end and returns every request's record, failures and excluded ones included (none
    /// when the runner was made with `keepRecords: false`: then `onRecord` is the only place they go).
    package func run(epochNs: UInt64 = MonotonicClock.now()) async -> [RequestRecord] {
        state.withLockedValue {
            $0.outstandingPerReplica = Array(repeating: 0, count: target.baseURLs.count)
            $0.epochNs = epochNs
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<[RequestRecord], Never>) in
                let thread = Thread { [self] in
                    if self.settings.realtime {
                        let problem = RealtimeScheduling.enterForCurrentThread()
                        self.state.withLockedValue { $0.realtimeProblem = problem }
                    }
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
    package func drainRecords(timeout: DispatchTimeInterval = .seconds(2)) -> Bool {
        let drained = DispatchSemaphore(value: 0)
        recordQueue.async { drained.signal() }
        return drained.wait(timeout: .now() + timeout) == .success
    }

    /// Stops issuing new requests; those in flight finish normally (then `run` returns).
    package func stopIssuing() {
        state.withLockedValue { $0.stopIssuing = true }
        wake.signal()
    }

    /// Stops issuing and cancels everything in flight (recorded as `cancelled`).
    package func cancel() {
        stopIssuing()
        for loop in loops { loop.cancelAll() }
    }

    // MARK: - Scheduler thread

    private func schedule(epochNs: UInt64) {
        var nextArrival: Double? = arrivals?.next()
        /// Arrivals drawn after `nextArrival` (ascending) so that their requests can be built early.
        var ahead: [Double] = []
        var aheadHead = 0
        func pullArrival() -> Double? {
            guard aheadHead < ahead.count else { return arrivals?.next() }
            let next = ahead[aheadHead]
            aheadHead += 1
            if aheadHead == ahead.count { ahead.removeAll(keepingCapacity: true); aheadHead = 0 }
            return next
        }
        /// A recent build's duration (decaying maximum): an early build is begun only if it ends before the next
        /// arrival is due.
        var buildNs: UInt64 = 0
        /// Open-loop arrivals waiting for a slot under the ceiling: (index, intended start ns).
        var waiting: [(Int, UInt64)] = []
        var waitingHead = 0
        var pacer = ConnectPacer(ratePerSecond: settings.connectRate, now: MonotonicClock.now())
        /// Most requests ever in flight: a start above it needs a new connection (the pool holds at most that many).
        var peakInFlight = 0
        let freshConnections = settings.freshConnectionPerRequest
        // HTTP/2 multiplexes: a new connection is needed once per `streamsPerConnection` streams, not per stream.
        let streamsPerConnection = settings.httpVersion == .http2 && !freshConnections ? MultiLoop.maxStreamsPerConnection : 1
        let maxRequests = plan.maxRequests ?? .max
        let duration = plan.durationS ?? .infinity
        let maxSessions = sessions.map { $0.maxSessions ?? .max } ?? 0
        /// Sessions started so far (multi-turn runs): arrivals and closed-loop slots start sessions, not requests.
        var sessionsStarted = 0

        while true {
            let now = MonotonicClock.now()
            let t = Double(now &- epochNs) / 1e9
            var (issued, inFlight, stop, openSessions) = state.withLockedValue {
                ($0.issued, $0.inFlight, $0.stopIssuing, $0.openSessions.count)
            }
            let timeUp = t >= duration
            /// Whether one more unit (a request, or in a multi-turn run a session) may be started.
            func underLimits(queued: Int) -> Bool {
                sessions == nil ? issued + queued < maxRequests
                    : issued < maxRequests && sessionsStarted + queued < maxSessions
            }

            // Arrivals due now join the queue (open phases only produce arrivals).
            while !stop, let arrival = nextArrival, arrival <= t, arrival < duration,
                  underLimits(queued: waiting.count - waitingHead) {
                waiting.append((issued + (waiting.count - waitingHead), epochNs + UInt64(arrival * 1e9)))
                nextArrival = pullArrival()
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
            /// Starts request `index`, or in a multi-turn run a new session (its first turn).
            func startNew(index: Int, intendedStartNs: UInt64?) {
                if sessions != nil {
                    startTurn(1, of: sessionsStarted, index: issued, intendedStartNs: intendedStartNs, epochNs: epochNs)
                    sessionsStarted += 1
                    openSessions += 1
                } else {
                    start(index: index, intendedStartNs: intendedStartNs, epochNs: epochNs)
                }
                issued += 1
                inFlight += 1
            }
            // A session's next turn goes first: its user is waiting already (since its think time ended).
            if sessions != nil {
                while !stop, !timeUp, issued < maxRequests, inFlight < ceiling, dueFollowUp(now: now) != nil,
                      mayStart() {
                    // Completions only insert (earlier ones at the end), so a due turn is still there to take.
                    guard let due = popDueFollowUp(now: now) else { break }
                    startTurn(due.turn, of: due.session, index: issued, intendedStartNs: due.dueNs, epochNs: epochNs)
                    issued += 1
                    inFlight += 1
                }
            }
            while waitingHead < waiting.count, inFlight < ceiling, !stop, issued < maxRequests, mayStart() {
                let (index, intended) = waiting[waitingHead]
                waitingHead += 1
                startNew(index: index, intendedStartNs: intended)
            }
            if waitingHead > 1024 && waitingHead * 2 > waiting.count {
                waiting.removeFirst(waitingHead)
                waitingHead = 0
            }
            // Closed loop: requests in flight, or in a multi-turn run sessions open (users), up to the target.
            while !stop, !timeUp, (sessions == nil ? inFlight : openSessions) < closedTarget,
                  underLimits(queued: waiting.count - waitingHead), pacedUntil == nil, mayStart() {
                startNew(index: issued, intendedStartNs: nil)
            }

            stop = stop || timeUp
            let sessionsGoOn = sessions != nil && openSessions > 0
            let moreToCome = !stop && issued < maxRequests
                && (nextArrival != nil || laterPhaseExists(after: t) || closedTarget > 0 || sessionsGoOn)
                && (sessions == nil || sessionsStarted < maxSessions || sessionsGoOn)
            if stop || issued >= maxRequests { endSessionsAtStop() }
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
            if let due = state.withLockedValue({ $0.followUps.last?.dueNs }) {
                wakeAt = min(wakeAt, Double(due &- epochNs) / 1e9)
            }
            // While waiting for the next arrival, build its request (a long prompt's body takes a while) and those
            // of the arrivals soon after it, so at their due times only the sends are left.
            if sessions == nil, let first = nextArrival, !stop {
                let base = issued + (waiting.count - waitingHead)
                let horizon = first + Self.prebuildHorizonS
                while ahead.count - aheadHead < Self.prebuildLimit - 1, (ahead.last ?? first) < horizon,
                      let next = arrivals?.next() {
                    ahead.append(next)
                }
                let firstDueNs = epochNs &+ UInt64(first * 1e9)
                for k in 0..<min(Self.prebuildLimit, 1 + ahead.count - aheadHead) {
                    let index = base + k
                    let due = k == 0 ? first : ahead[aheadHead + k - 1]
                    guard index < maxRequests, due < duration, due < horizon else { break }
                    if prebuilt[index] != nil { continue }
                    let began = MonotonicClock.now()
                    // The next arrival's own request is built in any case; a later one only if there is time.
                    if k > 0 && began &+ 2 &* buildNs >= firstDueNs { break }
                    prebuilt[index] = makeRequest(index)
                    buildNs = max(MonotonicClock.now() &- began, buildNs - buildNs / 8)
                }
                if prebuilt.count > Self.prebuildLimit { prebuilt = prebuilt.filter { $0.key >= base } }
            }
            let delay = max(0, wakeAt - Double(MonotonicClock.now() &- epochNs) / 1e9)
            if delay > 0 { _ = wake.wait(timeout: .now() + .nanoseconds(Int(delay * 1e9))) }
        }
        endSessionsAtStop()
        state.withLockedValue { state in
            // Sessions whose last request answered after the final check, with turns left, were cut by the end.
            state.sessionCounts.cut += state.openSessions.count
            state.openSessions.removeAll()
            state.finished = true
        }
    }

    private func laterPhaseExists(after t: Double) -> Bool {
        plan.phases.contains { $0.start > t }
    }

    private func nextBoundary(after t: Double) -> Double? {
        plan.phases.flatMap { [$0.start] + ($0.end.map { [$0] } ?? []) }.filter { $0 > t }.min()
    }

    /// The replica for a request. `--routing session` sends every request of one routing key (a session) where its
    /// first went (chosen by least outstanding); requests without a key are routed by least outstanding.
    private func pickReplica(routingKey: Int?) -> Int {
        state.withLockedValue { state in
            var choice = 0
            func leastOutstanding() -> Int {
                var best = 0
                for i in state.outstandingPerReplica.indices
                where state.outstandingPerReplica[i] < state.outstandingPerReplica[best] { best = i }
                return best
            }
            switch settings.routing {
            case .roundRobin:
                choice = state.nextReplica % target.baseURLs.count
                state.nextReplica += 1
            case .leastOutstanding:
                choice = leastOutstanding()
            case .session:
                if let routingKey {
                    if let sticky = state.stickyReplica[routingKey] {
                        choice = sticky
                    } else {
                        choice = leastOutstanding()
                        state.stickyReplica[routingKey] = choice
                    }
                } else {
                    choice = leastOutstanding()
                }
            }
            state.outstandingPerReplica[choice] += 1
            state.issued += 1
            state.inFlight += 1
            return choice
        }
    }

    private func start(index: Int, intendedStartNs: UInt64?, epochNs: UInt64) {
        let prepared: PreparedRequest
        if let ready = prebuilt.removeValue(forKey: index) {
            prepared = ready
        } else {
            prepared = makeRequest(index)
        }
        send(prepared, index: index, intendedStartNs: intendedStartNs, epochNs: epochNs, turn: nil)
    }

    /// Sends turn `turn` (1-based) of local session `session`; turn 1 opens the session.
    private func startTurn(_ turn: Int, of session: Int, index: Int, intendedStartNs: UInt64?, epochNs: UInt64) {
        guard let driver = sessions else { return }
        let answers: [SessionAnswer] = state.withLockedValue { state in
            if turn == 1 {
                state.openSessions[session] = OpenSession(turns: driver.turns(session))
                state.sessionCounts.started += 1
            }
            return state.openSessions[session]?.answers ?? []
        }
        var prepared = driver.request(session, turn, answers)
        prepared.routingKey = session
        send(prepared, index: index, intendedStartNs: intendedStartNs, epochNs: epochNs,
             turn: (session: session, turn: turn))
    }

    private func send(_ prepared: PreparedRequest, index: Int, intendedStartNs: UInt64?, epochNs: UInt64,
                      turn: (session: Int, turn: Int)?) {
        let replica = pickReplica(routingKey: prepared.routingKey)
        let base = target.baseURLs[replica]
        let startedInWarmup = index < warmupRequests
            || Double(MonotonicClock.now() &- epochNs) / 1e9 < warmupS
        // A session that resends its answers needs their text even when records do not keep it.
        let needsText = turn != nil && sessions?.resendsAnswers == true
        let keepsText = settings.keepOutputText
        let execution = RequestExecution(
            id: index, target: target.name, replica: base, intendedStartNs: intendedStartNs, epochNs: epochNs,
            prepared: prepared, keepText: keepsText || needsText, maxEventBytes: settings.maxEventBytes
        ) { [weak self] _, record in
            var record = record
            if startedInWarmup { record.excludedAs = "warmup" }
            record.session = turn?.session
            record.turn = turn?.turn
            self?.completed(record, replica: replica, keepsText: keepsText)
        }
        let request = TransferRequest(
            url: base + prepared.path, method: "POST", body: prepared.body,
            headers: ["Content-Type: application/json", "Accept: text/event-stream"] + settings.headers,
            timeouts: settings.timeouts, httpVersion: settings.httpVersion, insecure: settings.insecure,
            freshConnection: settings.freshConnectionPerRequest)
        do {
            let transfer = try Transfer(request: request, delegate: execution)
            execution.transfer = transfer
            loops[index % loops.count].submit(transfer)
        } catch {
            let now = MonotonicClock.now()
            var record = RequestRecord(
                id: index, target: target.name, replica: base,
                intendedStartMs: intendedStartNs.map { RequestExecution.milliseconds($0, since: epochNs) },
                startMs: RequestExecution.milliseconds(now, since: epochNs), e2eMs: 0, httpStatus: 0,
                failure: .connect, failureMessage: "could not create the request: \(error)")
            if startedInWarmup { record.excludedAs = "warmup" }
            record.session = turn?.session
            record.turn = turn?.turn
            completed(record, replica: replica, keepsText: keepsText)
        }
    }

    /// The earliest follow-up turn, if its think time is over.
    private func dueFollowUp(now: UInt64) -> FollowUp? {
        state.withLockedValue { state in
            guard let last = state.followUps.last, last.dueNs <= now else { return nil }
            return last
        }
    }

    private func popDueFollowUp(now: UInt64) -> FollowUp? {
        state.withLockedValue { state in
            guard let last = state.followUps.last, last.dueNs <= now else { return nil }
            return state.followUps.removeLast()
        }
    }

    /// The run stops issuing: sessions waiting for their next turn end there (cut short).
    private func endSessionsAtStop() {
        state.withLockedValue { state in
            for followUp in state.followUps {
                state.openSessions[followUp.session] = nil
                state.stickyReplica[followUp.session] = nil
                state.sessionCounts.cut += 1
            }
            state.followUps.removeAll()
        }
    }

    /// A turn finished: its session schedules its next turn after the think time, or ends (all turns done, the
    /// turn failed, or the run stopped issuing).
    private func advanceSession(after record: RequestRecord, state: inout State) {
        guard let driver = sessions, let session = record.session, let turn = record.turn,
              var open = state.openSessions[session] else { return }
        let ends = turn >= open.turns || !record.succeeded || state.stopIssuing
        if ends {
            state.openSessions[session] = nil
            state.stickyReplica[session] = nil
            if turn >= open.turns && record.succeeded { state.sessionCounts.completed += 1 } else {
                state.sessionCounts.cut += 1
            }
            return
        }
        open.answers.append(SessionAnswer(text: record.outputText ?? "", tokens: record.outputTokens))
        state.openSessions[session] = open
        let think = driver.thinkS(session, turn + 1)
        // The user starts thinking when the answer's last event arrived (as stamped), not when this completion is
        // handled: the loop thread may reach it a wake-up later, and that wait is the client's, not the user's.
        let answeredNs = state.epochNs &+ UInt64(max(0, (record.startMs + record.e2eMs) * 1e6).rounded())
        let due = min(answeredNs, MonotonicClock.now()) &+ UInt64(think * 1e9)
        // Latest first: binary search for the place that keeps the array descending by due time.
        var low = 0
        var high = state.followUps.count
        while low < high {
            let mid = (low + high) / 2
            if state.followUps[mid].dueNs > due { low = mid + 1 } else { high = mid }
        }
        state.followUps.insert(FollowUp(dueNs: due, session: session, turn: turn + 1), at: low)
    }

    private func completed(_ record: RequestRecord, replica: Int, keepsText: Bool = true) {
        var record = record
        if cooldownS > 0, let duration = plan.durationS, record.startMs / 1000 > duration - cooldownS,
           record.excludedAs == nil {
            record.excludedAs = "cooldown"
        }
        let answered = record
        if !keepsText { record.outputText = nil }
        let onRecord = self.onRecord
        let finished = record
        recordQueue.async { onRecord(finished) }
        state.withLockedValue { state in
            advanceSession(after: answered, state: &state)
            if keepRecords { state.records.append(record) }
            state.inFlight -= 1
            state.completed += 1
            state.outstandingPerReplica[replica] -= 1
        }
        wake.signal()
    }
}

/// What a multi-turn run's `LoadRunner` asks of its workload. Sessions are numbered locally from 0 in the order
/// they start; the closures map them to workload-wide numbers where shards need that.
package struct SessionDriver: Sendable {
    /// Turns of session s.
    package var turns: @Sendable (Int) -> Int
    /// Seconds between the answer to turn t - 1 and the send of turn t (t ≥ 2) of session s.
    package var thinkS: @Sendable (_ session: Int, _ turn: Int) -> Double
    /// The request of turn t (1-based) of session s, given the answers to its earlier turns.
    package var request: @Sendable (_ session: Int, _ turn: Int, _ answers: [SessionAnswer]) -> PreparedRequest
    /// Sessions to start at most.
    package var maxSessions: Int?
    /// Whether turns resend earlier answers as the server wrote them (so their text must be kept).
    package var resendsAnswers: Bool

    package init(turns: @escaping @Sendable (Int) -> Int, thinkS: @escaping @Sendable (Int, Int) -> Double,
                request: @escaping @Sendable (Int, Int, [SessionAnswer]) -> PreparedRequest, maxSessions: Int?,
                resendsAnswers: Bool) {
        self.turns = turns
        self.thinkS = thinkS
        self.request = request
        self.maxSessions = maxSessions
        self.resendsAnswers = resendsAnswers
    }
}

/// The answer to one turn, as the next turn's history needs it.
package struct SessionAnswer: Sendable, Equatable {
    package var text: String
    package var tokens: Int

    package init(text: String, tokens: Int) {
        self.text = text
        self.tokens = tokens
    }
}

/// How a multi-turn run's sessions went.
package struct SessionCounts: Sendable, Equatable, Codable {
    package var started = 0
    /// Every turn answered.
    package var completed = 0
    /// Ended early: a turn failed, or the run stopped issuing before the last turn.
    package var cut = 0

    package init() {}
}
