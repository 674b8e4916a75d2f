/// A deployment of `replicas` identical replicas, each a `ReplicaSimulator`, driven by a load in simulated time: what
/// `tpbench plan` predicts with. Requests go to the replica with the fewest outstanding (tpbench's balancer); each
/// replica runs its step loop as the mock does (a step starts when the previous ends or when work arrives at an idle
/// engine, and its tokens come out at its end). A request reaches its engine its request overhead (fixed and per prompt
/// token) after its replica's API server takes it, which is when it is sent unless that server is still busy with
/// earlier ones: it handles one request at a time, for `apiServerCost` each (`ReplicaSpec.serialAPIServerCost`).
/// Pure and deterministic: no clocks, no I/O.
package struct FleetSimulation: Sendable {
    package struct Request: Sendable, Equatable {
        package var promptTokens: Int
        package var outputTokens: Int
        package init(promptTokens: Int, outputTokens: Int) {
            self.promptTokens = promptTokens
            self.outputTokens = outputTokens
        }
    }

    package enum Load: Sendable, Equatable {
        /// Keep `concurrency` requests in flight; the next one is sent the moment one finishes.
        case closed(concurrency: Int)
        /// Request i is due at `arrivals[i]` seconds (sorted) and sent then, or, with at most `ceiling` in flight, the
        /// moment one of them finishes (the client's open loop with `load.concurrency` as a ceiling).
        case open(arrivals: [Double], ceiling: Int? = nil)
        /// Every request is queued before the first step, as vLLM's offline `LLM.generate` does (the batch that
        /// `vllm bench latency` times).
        case batch
    }

    /// What happened to one request, in seconds from the start.
    package struct Outcome: Sendable, Equatable {
        package var index: Int
        package var replica: Int
        /// When it was sent.
        package var arrival: Double
        /// When it was due: its open-loop arrival time (later sent if the ceiling was reached), else when sent.
        package var intended: Double
        /// Times each token came out (one per step that generated it).
        package var tokenTimes: [Double]
        /// The engine refused it (a prompt that can never fit in the KV cache).
        package var dropped: Bool
    }

    package var parameters: ReplicaSpec
    package var replicas: Int
    package var requests: [Request]
    package var load: Load

    package init(parameters: ReplicaSpec, replicas: Int, requests: [Request], load: Load) {
        self.parameters = parameters
        self.replicas = max(1, replicas)
        self.requests = requests
        self.load = load
    }

    package func run() -> [Outcome] {
        var simulators = (0..<replicas).map { ReplicaSimulator(parameters: parameters, seed: UInt64($0)) }
        /// Each replica's step in flight and when it ends (nil: idle).
        var inFlight = [(end: Double, step: StepOutcome)?](repeating: nil, count: replicas)
        var outstanding = [Int](repeating: 0, count: replicas)
        var outcomes: [Outcome?] = Array(repeating: nil, count: requests.count)
        var next = 0
        var arrivals: [Double] = []
        var ceiling = Int.max
        if case .open(let times, let limit) = load { (arrivals, ceiling) = (times, max(1, limit ?? .max)) }
        var sentAndUnfinished = 0
        var apiServers = [APIServerQueue](repeating: APIServerQueue(), count: replicas)
        /// Sent requests still on their way to the engine (only with a request overhead), in the order they reach it.
        var pending: [(at: Double, id: Int, replica: Int)] = []
        var pendingHead = 0
        /// Files a request on its way in time order (after any due at the same time: sending order breaks ties).
        /// Requests to one replica stay in sending order; only one replica's queue can put a later send behind another's.
        func addPending(_ entry: (at: Double, id: Int, replica: Int)) {
            var low = pendingHead, high = pending.count
            while low < high {
                let mid = (low + high) / 2
                if pending[mid].at <= entry.at { low = mid + 1 } else { high = mid }
            }
            pending.insert(entry, at: low)
        }

        func startStep(_ r: Int, at time: Double) {
            guard inFlight[r] == nil, let step = simulators[r].step() else { return }
            inFlight[r] = (time + step.duration, step)
        }
        func enqueue(_ id: Int, to r: Int) {
            let request = requests[id]
            simulators[r].add(SimulatedRequest(id: id, promptTokens: request.promptTokens,
                                            outputTokens: request.outputTokens))
        }
        func admit(_ id: Int, to r: Int, at time: Double) {
            enqueue(id, to: r)
            // An idle engine starts a step the moment a request arrives (vLLM and the mock do): of a burst, the
            // first request is prefilled alone and the rest wait for that step.
            startStep(r, at: time)
        }
        /// `queueOnly`: straight into the engine's queue, no step started (the offline batch).
        func send(at time: Double, queueOnly: Bool = false) {
            guard next < requests.count else { return }
            let r = outstanding.indices.min { outstanding[$0] < outstanding[$1] } ?? 0
            let due = next < arrivals.count ? arrivals[next] : time
            outcomes[next] = Outcome(index: next, replica: r, arrival: time, intended: due, tokenTimes: [], dropped: false)
            outstanding[r] += 1
            sentAndUnfinished += 1
            let prompt = requests[next].promptTokens
            let overhead = parameters.requestOverhead(promptTokens: prompt)
            if queueOnly {
                enqueue(next, to: r)
            } else if overhead > 0 {
                let reach = apiServers[r].handOff(at: time, overhead: overhead,
                                                  serial: parameters.serialAPIServerCost(promptTokens: prompt))
                addPending((reach, next, r))
            } else {
                admit(next, to: r, at: time)
            }
            next += 1
        }
        /// Replicas that are idle but have work start a step.
        func kick(at time: Double) {
            for r in 0..<replicas where inFlight[r] == nil { startStep(r, at: time) }
        }

        if case .closed(let concurrency) = load {
            for _ in 0..<min(max(1, concurrency), requests.count) { send(at: 0) }
            kick(at: 0)
        }
        if case .batch = load {
            while next < requests.count { send(at: 0, queueOnly: true) }
            kick(at: 0)
        }
        while true {
            let stepEnd = inFlight.indices.compactMap { r in inFlight[r].map { (r, $0.end) } }.min { $0.1 < $1.1 }
            // An arrival with the ceiling reached waits for a request to finish.
            let arrival = next < arrivals.count && sentAndUnfinished < ceiling ? arrivals[next] : nil
            if pendingHead < pending.count, (stepEnd == nil || pending[pendingHead].at < stepEnd!.1),
               arrival == nil || pending[pendingHead].at <= arrival! {
                let at = pending[pendingHead].at
                while pendingHead < pending.count, pending[pendingHead].at == at {
                    admit(pending[pendingHead].id, to: pending[pendingHead].replica, at: at)
                    pendingHead += 1
                }
                continue
            }
            if let at = arrival, stepEnd == nil || at < stepEnd!.1 {
                while next < arrivals.count, arrivals[next] == at, sentAndUnfinished < ceiling { send(at: at) }
                kick(at: at)
                continue
            }
            guard let (r, end) = stepEnd, let step = inFlight[r]?.step else { break }
            inFlight[r] = nil
            var finished = 0
            for token in step.emitted {
                outcomes[token.requestID]?.tokenTimes.append(end)
                if token.finished { finished += 1 }
            }
            for id in step.dropped {
                outcomes[id]?.dropped = true
                finished += 1
            }
            outstanding[r] -= finished
            sentAndUnfinished -= finished
            // The engine goes straight on to its next step; a closed loop's next request reaches it a round trip
            // after the answer's end, so it waits for that step unless the engine had nothing left to do.
            kick(at: end)
            if case .closed = load { for _ in 0..<finished { send(at: end) } }
            while next < arrivals.count, arrivals[next] < end, sentAndUnfinished < ceiling { send(at: end) }
            kick(at: end)
        }
        return outcomes.compactMap { $0 }
    }
}
