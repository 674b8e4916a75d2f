import SeededRandom

/// A request as the simulated engine sees it: how long its prompt is and how many tokens it will generate.
package struct SimulatedRequest: Sendable, Equatable {
    package var id: Int
    package var promptTokens: Int
    /// The output length decided up front (max_tokens, EOS draw or the length of a schema-shaped answer).
    package var outputTokens: Int
    /// Leading prompt tokens whose KV a prefix cache already holds: admission skips computing them (never all:
    /// at least the last prompt token is computed).
    package var cachedTokens: Int

    package init(id: Int, promptTokens: Int, outputTokens: Int, cachedTokens: Int = 0) {
        self.id = id
        self.promptTokens = max(1, promptTokens)
        self.outputTokens = max(1, outputTokens)
        self.cachedTokens = min(max(0, cachedTokens), self.promptTokens - 1)
    }
}

/// One token sampled for one request at the end of a step.
package struct EmittedToken: Sendable, Equatable {
    package var requestID: Int
    /// 0 for the first generated token.
    package var index: Int
    package var finished: Bool
}

/// What one step did: how long it took and which tokens came out of it.
package struct StepOutcome: Sendable {
    package var duration: Double
    package var breakdown: StepTimeBreakdown
    package var workload: StepWorkload
    package var emitted: [EmittedToken]
    package var preempted: [Int]
    /// Requests dropped because they can never fit in the KV cache (vLLM rejects these up front).
    package var dropped: [Int] = []
    /// Requests taken from the waiting queue this step (first admission or resumption after preemption).
    package var admitted: [Int] = []
    package var scheduledRequests: Int
}

/// A step-by-step simulation of vLLM V1's scheduler with continuous batching.
///
/// Each step spends a token budget (`max_num_batched_tokens`) first on running requests (one token for a decoding
/// request, the next chunk for a partially prefilled one), then on waiting requests in arrival order (chunked
/// prefill), with at most `max_num_seqs` running. KV cache is allocated in blocks; when a running request cannot
/// grow, the most recently admitted running request is preempted and later recomputed from scratch, as V1 does.
/// Pure and deterministic (save optional seeded jitter): the server drives it one step at a time.
package struct ReplicaSimulator: Sendable {
    struct RunningSequence: Sendable {
        var request: SimulatedRequest
        var computed = 0
        var generated = 0
        var blocks = 0
        var totalTokens: Int { request.promptTokens + generated }
    }

    package let parameters: ReplicaSpec
    package let stepModel: StepTimeModel
    package let totalBlocks: Int
    package private(set) var freeBlocks: Int
    package private(set) var preemptionsTotal = 0
    private var running: [RunningSequence] = []
    /// Arrival order; preempted requests go back to the front, as in vLLM.
    private var waiting: [RunningSequence] = []
    private var waitingHead = 0
    private var jitter: SplitMix64

    package init(parameters: ReplicaSpec, seed: UInt64 = 0) {
        self.parameters = parameters
        self.stepModel = StepTimeModel(parameters)
        self.totalBlocks = max(0, parameters.kvBlocks)
        self.freeBlocks = totalBlocks
        self.jitter = SplitMix64(seed: seed ^ 0x5eed_57e9)
    }

    package var runningCount: Int { running.count }
    package var waitingCount: Int { waiting.count - waitingHead }
    package var isIdle: Bool { running.isEmpty && waitingCount == 0 }
    package var kvCacheUsage: Double { totalBlocks == 0 ? 0 : Double(totalBlocks - freeBlocks) / Double(totalBlocks) }

    package mutating func add(_ request: SimulatedRequest) {
        waiting.append(RunningSequence(request: request))
    }

    /// Drops a request wherever it is (client went away), freeing its slot and blocks. Returns whether it was known.
    @discardableResult
    package mutating func abort(requestID: Int) -> Bool {
        if let i = running.firstIndex(where: { $0.request.id == requestID }) {
            freeBlocks += running[i].blocks
            running.remove(at: i)
            return true
        }
        if let i = waiting[waitingHead...].firstIndex(where: { $0.request.id == requestID }) {
            waiting.remove(at: i)
            return true
        }
        return false
    }

    private func blocksNeeded(for tokens: Int) -> Int {
        (tokens + parameters.blockSize - 1) / parameters.blockSize
    }

    private mutating func compactWaiting() {
        if waitingHead > 64 && waitingHead * 2 > waiting.count {
            waiting.removeFirst(waitingHead)
            waitingHead = 0
        }
    }

    /// Schedules, times and completes one step. Returns nil when there is nothing to do.
    package mutating func step() -> StepOutcome? {
        if isIdle { return nil }
        var budget = parameters.maxNumBatchedTokens
        var scheduled: [(index: Int, tokens: Int)] = []
        var preempted: [Int] = []
        var workload = StepWorkload()
        var admittedIDs: [Int] = []

        // 1. Running requests, in admission order.
        var i = 0
        while i < running.count && budget > 0 {
            let newTokens = min(running[i].totalTokens - running[i].computed, budget)
            if newTokens <= 0 {
                i += 1
                continue
            }
            let need = blocksNeeded(for: running[i].computed + newTokens) - running[i].blocks
            var fits = need <= freeBlocks
            while !fits {
                // Preempt the lowest-priority (last admitted) running request; recompute later.
                let victimIndex = running.count - 1
                if victimIndex == i { break }
                var victim = running.removeLast()
                freeBlocks += victim.blocks
                victim.blocks = 0
                victim.computed = 0
                preempted.append(victim.request.id)
                preemptionsTotal += 1
                if waitingHead > 0 {
                    waitingHead -= 1
                    waiting[waitingHead] = victim
                } else {
                    waiting.insert(victim, at: 0)
                }
                fits = need <= freeBlocks
            }
            if !fits {
                // Not even this request fits alone: preempt it too.
                var victim = running.remove(at: i)
                freeBlocks += victim.blocks
                victim.blocks = 0
                victim.computed = 0
                preempted.append(victim.request.id)
                preemptionsTotal += 1
                waiting.insert(victim, at: waitingHead)
                break
            }
            freeBlocks -= need
            running[i].blocks += need
            budget -= newTokens
            scheduled.append((i, newTokens))
            i += 1
        }

        // 2. Waiting requests in arrival order, unless this step had to preempt.
        if preempted.isEmpty {
            while budget > 0 && running.count < parameters.maxNumSeqs && waitingHead < waiting.count {
                var candidate = waiting[waitingHead]
                // A prefix-cache hit: the cached tokens' KV is there already (held as this sequence's blocks).
                if candidate.computed == 0 && candidate.blocks == 0 { candidate.computed = candidate.request.cachedTokens }
                let newTokens = min(candidate.totalTokens - candidate.computed, budget)
                let need = blocksNeeded(for: candidate.computed + newTokens) - candidate.blocks
                if need > freeBlocks { break }
                waitingHead += 1
                var admitted = candidate
                admitted.blocks += need
                freeBlocks -= need
                budget -= newTokens
                running.append(admitted)
                scheduled.append((running.count - 1, newTokens))
                admittedIDs.append(admitted.request.id)
            }
            compactWaiting()
        }

        if scheduled.isEmpty {
            // Nothing fits (a prompt larger than the whole KV cache): drop the head so the engine cannot wedge.
            if waitingHead < waiting.count {
                let stuck = waiting[waitingHead]
                waitingHead += 1
                compactWaiting()
                return StepOutcome(
                    duration: parameters.cpuOverhead, breakdown: stepModel.breakdown(StepWorkload()),
                    workload: StepWorkload(),
                    emitted: [], preempted: preempted, dropped: [stuck.request.id], scheduledRequests: 0)
            }
            return nil
        }

        // 3. Time the step, then complete it: every sequence whose last position was computed samples a token.
        for (index, newTokens) in scheduled {
            let seq = running[index]
            let samples = seq.computed + newTokens == seq.totalTokens
            workload.add(newTokens: newTokens, contextBefore: seq.computed, samples: samples)
        }
        let breakdown = stepModel.breakdown(workload)
        var duration = breakdown.total
        if parameters.stepJitter > 0 {
            duration *= max(0.1, 1 + parameters.stepJitter * jitter.nextGaussian())
        }

        var emitted: [EmittedToken] = []
        emitted.reserveCapacity(scheduled.count)
        var finishedIndices: [Int] = []
        for (index, newTokens) in scheduled {
            running[index].computed += newTokens
            guard running[index].computed == running[index].totalTokens else { continue }
            let tokenIndex = running[index].generated
            running[index].generated += 1
            let done = running[index].generated >= running[index].request.outputTokens
            emitted.append(EmittedToken(requestID: running[index].request.id, index: tokenIndex, finished: done))
            if done { finishedIndices.append(index) }
        }
        for index in finishedIndices.sorted(by: >) {
            freeBlocks += running[index].blocks
            running.remove(at: index)
        }
        return StepOutcome(
            duration: duration, breakdown: breakdown, workload: workload, emitted: emitted, preempted: preempted,
            admitted: admittedIDs, scheduledRequests: scheduled.count)
    }
}
