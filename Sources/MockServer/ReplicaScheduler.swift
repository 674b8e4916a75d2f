import LatencyModel
import NIOCore
import NIOHTTP1
import SeededRandom

/// One simulated vLLM scheduler (a replica): admission, fault injection and a single step loop.
///
/// Everything here runs on the replica's one event loop, which also owns every connection of the replica, so a
/// step's emissions need no locks and no thread hops. That confinement is why this is `@unchecked Sendable`:
/// the only cross-thread use is handing the reference to closures that run on `eventLoop`.
final class ReplicaScheduler: @unchecked Sendable {
    let replica: Int
    let eventLoop: EventLoop
    let config: MockConfiguration
    let tokenizer: MockTokenizer
    let metrics: ReplicaMetrics
    var simulator: ReplicaSimulator
    /// The DCGM series /gpu-metrics serves, fed by every step.
    var gpus: SimulatedGPUs
    var requests: [Int: ActiveRequest] = [:]
    /// Automatic prefix caching (`--enable-prefix-caching`); nil when off.
    var prefixCache: PrefixCache?
    var rng: SplitMix64
    private var nextRequestID = 1
    private var received = 0
    private(set) var dead = false
    var stepInFlight = false
    var lateness = LatenessHistogram()
    var fixedTimers = DeadlineHeap()
    var fixedTimerDeadline: UInt64? = nil
    var fixedTimerTask: Scheduled<Void>? = nil
    /// Size of the next emission batch's buffer, from the last one (one allocation per tick).
    var batchCapacityHint = 16_384
    let allocator = ByteBufferAllocator()

    init(replica: Int, eventLoop: EventLoop, config: MockConfiguration) {
        self.replica = replica
        self.eventLoop = eventLoop
        self.config = config
        self.tokenizer = MockTokenizer(vocabularySize: config.replicaSpec.model.vocab)
        self.metrics = ReplicaMetrics(modelName: config.servedModelNames[0])
        self.simulator = ReplicaSimulator(parameters: config.replicaSpec, seed: config.seed &+ UInt64(replica))
        self.gpus = SimulatedGPUs(parameters: config.replicaSpec, replica: replica, startNs: Self.now())
        self.rng = SplitMix64(seed: config.seed &* 0x9E37_79B9 &+ UInt64(replica) &+ 1)
        if config.prefixCaching {
            prefixCache = PrefixCache(blockSize: config.replicaSpec.blockSize, capacityBlocks: max(1, config.replicaSpec.kvBlocks))
        }
    }

    static func now() -> UInt64 { NIODeadline.now().uptimeNanoseconds }

    var maxModelLength: Int { config.replicaSpec.model.maxModelLength }

    /// Requests not yet running: the simulator's queue, or in fixed mode those still before their first token.
    var waitingCount: Int {
        if config.fixedLatency != nil { return requests.values.reduce(0) { $0 + ($1.firstTokenNanos == nil ? 1 : 0) } }
        return simulator.waitingCount + arriving
    }
    /// Requests still in their request overhead, on their way to the engine's queue.
    private var arriving = 0
    /// The simulated API server (one process, one request at a time), in seconds of the uptime clock.
    private var apiServer = APIServerQueue()

    /// Takes over answering a generation request. Returns the id to report a disconnect with.
    func submit(_ request: CompletionRequest, channel: Channel, raw: RawChunkWriter?, keepAlive: Bool) -> Int? {
        eventLoop.preconditionInEventLoop()
        if dead {
            HTTPResponder.send(channel, error: Self.engineDeadError, keepAlive: keepAlive)
            return nil
        }
        let faults = config.faults
        if rng.chance(faults.errorRate) {
            HTTPResponder.send(channel, error: .internalError("Injected failure (--error-rate)."), keepAlive: keepAlive)
            return nil
        }
        if let limit = faults.rejectWhenWaitingOver, waitingCount > limit {
            var error = APIError(
                status: faults.rejectStatus,
                message: "Too many requests waiting (\(waitingCount) > \(limit)); retry later.",
                type: faults.rejectStatus == 429 ? "RateLimitError" : "ServiceUnavailableError", param: nil)
            error.retryAfterSeconds = 1
            HTTPResponder.send(channel, error: error, keepAlive: keepAlive)
            return nil
        }
        received += 1
        if let limit = faults.engineDeathAfter, received > limit {
            die()
            HTTPResponder.send(channel, error: Self.engineDeadError, keepAlive: keepAlive)
            return nil
        }

        let id = nextRequestID
        nextRequestID += 1
        let active = ActiveRequest(
            id: id, request: request, channel: channel, raw: raw, keepAlive: keepAlive, arrivalNanos: Self.now(),
            maxModelLength: maxModelLength, tokenizer: tokenizer, outputLength: config.outputLength,
            reasoningTokens: config.reasoningTokens, rng: &rng)
        if rng.chance(faults.dropRate) { active.dropAtToken = Int(rng.next() % UInt64(active.plannedTokens)) }
        if rng.chance(faults.stallRate) { active.stallAtToken = Int(rng.next() % UInt64(active.plannedTokens)) }
        requests[id] = active
        metrics.promptTokens.increment(by: Int64(request.promptTokens))
        if prefixCache != nil {
            let cached = prefixCache!.admit(request.blockHashes, promptTokens: request.promptTokens)
            active.cachedTokens = cached
            metrics.prefixCacheQueries.increment(by: Int64(request.promptTokens))
            metrics.prefixCacheHits.increment(by: Int64(cached))
        }

        if faults.slowStartMs > 0 && rng.chance(faults.slowStartRate) {
            let delay = TimeAmount.nanoseconds(Int64(faults.slowStartMs * 1e6))
            eventLoop.scheduleTask(in: delay) { [self] in admit(id) }
        } else {
            admit(id)
        }
        return id
    }

    private func admit(_ id: Int) {
        guard let active = requests[id], !dead else { return }
        if active.request.stream {
            active.writeStreamHead()
            active.channel.flush()
        }
        let overhead = config.replicaSpec.requestOverhead(promptTokens: active.request.promptTokens)
        if let fixed = config.fixedLatency {
            let ttft = max(0, fixed.timeToFirstTokenMs + fixed.timeToFirstTokenStdMs * rng.nextGaussian())
            active.nextDeadline = Self.now() + UInt64(ttft * config.timeScale * 1e6)
            fixedTimers.push(deadline: active.nextDeadline, id: id)
            armFixedTimer()
        } else if overhead > 0 {
            // The preset's per-request cost (the real server's HTTP, tokenising and hand-off time), on top of the
            // mock's own; it starts when the simulated API server, busy `serialAPIServerCost` a request, takes it.
            let serial = config.replicaSpec.serialAPIServerCost(promptTokens: active.request.promptTokens)
            let now = Double(Self.now()) / 1e9
            let reach = apiServer.handOff(at: now, overhead: overhead * config.timeScale, serial: serial * config.timeScale)
            let delay = TimeAmount.nanoseconds(Int64(((reach - now) * 1e9).rounded()))
            arriving += 1
            eventLoop.scheduleTask(in: delay) { [self] in
                arriving -= 1
                enqueue(id)
            }
        } else {
            enqueue(id)
        }
    }

    private func enqueue(_ id: Int) {
        guard let active = requests[id], !dead else { return }
        simulator.add(
            SimulatedRequest(id: id, promptTokens: active.request.promptTokens, outputTokens: active.plannedTokens,
                             cachedTokens: active.cachedTokens ?? 0))
        kickStepLoop()
    }

    /// The client went away: free the sequence's slot and KV blocks.
    func clientGone(_ id: Int) {
        guard requests.removeValue(forKey: id) != nil else { return }
        simulator.abort(requestID: id)
        updateGauges()
    }

    static let engineDeadError = APIError(
        status: 500, message: "EngineCore encountered an issue. See stack trace (above) for the root cause.",
        type: "EngineDeadError", param: nil)

    /// Simulates the engine process dying (`--engine-death-after`): health fails, streams end with an error event,
    /// the queue is lost.
    func die() {
        dead = true
        for active in requests.values {
            if active.request.stream && active.headSent {
                var buffer = active.channel.allocator.buffer(capacity: 256)
                buffer.writeString("data: " + Self.engineDeadError.body + "\n\n")
                buffer.writeString("data: [DONE]\n\n")
                active.channel.write(HTTPServerResponsePart.body(.byteBuffer(buffer)), promise: nil)
                let done = active.channel.writeAndFlush(HTTPServerResponsePart.end(nil))
                if !active.keepAlive { done.whenComplete { _ in active.channel.close(promise: nil) } }
            } else {
                HTTPResponder.send(active.channel, error: Self.engineDeadError, keepAlive: active.keepAlive)
            }
        }
        requests.removeAll()
        prefixCache?.reset()
        simulator = ReplicaSimulator(parameters: config.replicaSpec)
        fixedTimers.removeAll()
        updateGauges()
    }

    func updateGauges() {
        metrics.running.set(Double(config.fixedLatency == nil ? simulator.runningCount : requests.count))
        metrics.waiting.set(Double(config.fixedLatency == nil ? simulator.waitingCount : 0))
        metrics.kvCacheUsage.set(simulator.kvCacheUsage)
    }

    var isHealthy: Bool { !dead }
}
