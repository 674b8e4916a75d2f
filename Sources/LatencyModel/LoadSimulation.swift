/// Drives a `ReplicaSimulator` with a synthetic load in simulated time (no clocks, no I/O), for tests and `--explain`.
package struct LoadSimulation: Sendable {
    package enum Load: Sendable, Equatable {
        /// `count` requests all arriving at time 0.
        case burst(count: Int)
        /// Keep `concurrency` requests in flight until `total` have been sent.
        case closedLoop(concurrency: Int, total: Int)
    }

    package struct Outcome: Sendable {
        /// Seconds from arrival to the first generated token, per request.
        package var timeToFirstToken: [Double]
        /// Gaps between consecutive tokens of a request, all requests pooled.
        package var interTokenGaps: [Double]
        package var outputTokens: Int
        package var completedRequests: Int
        /// From the first arrival to the last token.
        package var duration: Double
        package var steps: Int
        package var preemptions: Int

        package var outputTokensPerSecond: Double { duration > 0 ? Double(outputTokens) / duration : 0 }
        package var ttftP50: Double { Self.percentile(timeToFirstToken, 50) }
        package var itlP50: Double { Self.percentile(interTokenGaps, 50) }

        /// Nearest-rank percentile of unsorted values.
        package static func percentile(_ values: [Double], _ p: Double) -> Double {
            guard !values.isEmpty else { return 0 }
            let sorted = values.sorted()
            let rank = Int((p / 100 * Double(sorted.count)).rounded(.up)) - 1
            return sorted[min(max(rank, 0), sorted.count - 1)]
        }
    }

    package var parameters: ReplicaSpec
    package var promptTokens: Int
    package var outputTokens: Int
    package var load: Load

    package init(parameters: ReplicaSpec, promptTokens: Int, outputTokens: Int, load: Load) {
        self.parameters = parameters
        self.promptTokens = promptTokens
        self.outputTokens = outputTokens
        self.load = load
    }

    package func run() -> Outcome {
        var simulator = ReplicaSimulator(parameters: parameters)
        var arrival: [Int: Double] = [:]
        var lastToken: [Int: Double] = [:]
        var ttft: [Double] = []
        var gaps: [Double] = []
        var now = 0.0
        var nextID = 0
        var sent = 0
        var completed = 0
        var tokens = 0
        var steps = 0

        func send(_ simulator: inout ReplicaSimulator, at time: Double) {
            simulator.add(SimulatedRequest(id: nextID, promptTokens: promptTokens, outputTokens: outputTokens))
            arrival[nextID] = time
            nextID += 1
            sent += 1
        }

        switch load {
        case .burst(let count):
            for _ in 0..<count { send(&simulator, at: 0) }
        case .closedLoop(let concurrency, let total):
            for _ in 0..<min(concurrency, total) { send(&simulator, at: 0) }
        }

        while let outcome = simulator.step() {
            steps += 1
            now += outcome.duration
            for token in outcome.emitted {
                tokens += 1
                if let previous = lastToken[token.requestID] {
                    gaps.append(now - previous)
                } else if let start = arrival[token.requestID] {
                    ttft.append(now - start)
                }
                lastToken[token.requestID] = now
                if token.finished {
                    completed += 1
                    lastToken[token.requestID] = nil
                    arrival[token.requestID] = nil
                    if case .closedLoop(_, let total) = load, sent < total { send(&simulator, at: now) }
                }
            }
            for id in outcome.dropped {
                arrival[id] = nil
                if case .closedLoop(_, let total) = load, sent < total { send(&simulator, at: now) }
            }
            if steps > 10_000_000 { break }  // A guard against a wedged configuration in tests.
        }
        return Outcome(
            timeToFirstToken: ttft, interTokenGaps: gaps, outputTokens: tokens, completedRequests: completed,
            duration: now, steps: steps, preemptions: simulator.preemptionsTotal)
    }
}
