import LatencyModel
import NIOCore
import NIOHTTP1

/// The step loop and the writes it makes. One scheduled task per scheduler step (or, in fixed-latency mode, one
/// timer at the earliest due stream) — never a timer per stream.
extension ReplicaScheduler {
    // MARK: Simulated scheduler steps

    func kickStepLoop() {
        guard !stepInFlight, !dead else { return }
        startStep(at: Self.now())
    }

    /// Starts a step at `start` (the previous step's scheduled end while busy, so deadlines never drift).
    private func startStep(at start: UInt64) {
        guard let outcome = simulator.step() else {
            stepInFlight = false
            updateGauges()
            return
        }
        stepInFlight = true
        let deadline = start + UInt64(max(0, outcome.duration * config.timeScale * 1e9))
        if !outcome.preempted.isEmpty { metrics.preemptions.increment(by: Int64(outcome.preempted.count)) }
        metrics.iterationTokens.record(Double(outcome.workload.tokens))
        gpus.record(outcome, wallSeconds: outcome.duration * config.timeScale)
        for id in outcome.admitted where requests[id]?.scheduledNanos == nil {
            if let active = requests[id] {
                active.scheduledNanos = start
                metrics.queueTime.record(Double(start &- active.arrivalNanos) / 1e9)
            }
        }
        updateGauges()
        eventLoop.scheduleTask(deadline: .uptimeNanoseconds(deadline)) { [self] in
            completeStep(outcome, deadline: deadline)
        }
    }

    private func completeStep(_ outcome: StepOutcome, deadline: UInt64) {
        guard !dead else {
            stepInFlight = false
            return
        }
        var batch = EmissionBatch(allocator: allocator, capacity: outcome.emitted.count * 320 + 256)
        for token in outcome.emitted {
            guard let active = requests[token.requestID] else { continue }  // client left mid-step
            batch.open(active, deadline: deadline)
            let result = emitEvent(active, tokens: 1, into: &batch.buffer)
            batch.close(last: result == .finished && active.request.stream, closeAfter: result == .dropped)
        }
        flush(&batch)
        for id in outcome.dropped {
            guard let active = requests.removeValue(forKey: id) else { continue }
            HTTPResponder.send(
                active.channel, error: .badRequest("The prompt does not fit in the KV cache."),
                keepAlive: active.keepAlive)
        }
        if simulator.isIdle {
            stepInFlight = false
            updateGauges()
        } else {
            startStep(at: deadline)
        }
    }

    // MARK: Fixed-latency mode

    /// Wake-ups are rounded up to a grid: with 1000 streams of random phase, a wake-up per due stream costs an
    /// epoll/timerfd round trip per token (the "timer per stream" pattern); a 0.5 ms tick batches ~25 streams per
    /// wake-up at the price of ≤ 0.5 ms of lateness, which the lateness histogram reports honestly. The grid
    /// shrinks with the number of streams (0.5 µs each), so a light load — 100 streams, a single request — is
    /// served within ~50 µs of its schedule instead of paying for batching it does not need.
    static let fixedTickNanos: UInt64 = 500_000
    static let fixedTickNanosPerStream: UInt64 = 500

    var fixedTick: UInt64 { min(Self.fixedTickNanos, UInt64(requests.count) * Self.fixedTickNanosPerStream) }
    /// With a zero (or tiny) ITL a stream is due again at once: cap what one stream gets per tick so a tick ends,
    /// the loop reads sockets, and every stream progresses (the unpaced mode clients use to find their ceiling).
    static let maxEventsPerStreamPerTick = 32
    /// Flush a batch early past this size so an unpaced tick does not build one huge buffer.
    static let maxBatchBytes = 1 << 20

    func armFixedTimer() {
        guard let top = fixedTimers.top else { return }
        let tick = fixedTick
        let wake = tick > 1 ? (top.deadline + tick - 1) / tick * tick : top.deadline
        if let armed = fixedTimerDeadline, armed <= wake { return }
        fixedTimerTask?.cancel()
        fixedTimerDeadline = wake
        fixedTimerTask = eventLoop.scheduleTask(deadline: .uptimeNanoseconds(wake)) { [self] in
            fireFixedTimer()
        }
    }

    private func fireFixedTimer() {
        fixedTimerDeadline = nil
        fixedTimerTask = nil
        guard let fixed = config.fixedLatency else { return }
        var batch = EmissionBatch(allocator: allocator, capacity: batchCapacityHint)
        var deferred: [(deadline: UInt64, id: Int)] = []
        var now = Self.now()
        while let top = fixedTimers.top, top.deadline <= now {
            _ = fixedTimers.pop()
            guard let active = requests[top.id], active.nextDeadline == top.deadline else { continue }
            batch.open(active, deadline: top.deadline)
            var events = 0
            var result = EmitResult.more
            repeat {
                let remaining = active.plannedTokens - active.generated
                result = emitEvent(active, tokens: min(config.tokensPerEvent, remaining), into: &batch.buffer)
                events += 1
                if result == .more {
                    let gap = max(0, fixed.interTokenLatencyMs + fixed.interTokenLatencyStdMs * rng.nextGaussian())
                    let eventGap = gap * Double(config.tokensPerEvent) * config.timeScale * 1e6
                    active.nextDeadline += UInt64(eventGap)
                }
            } while result == .more && active.nextDeadline <= now && events < Self.maxEventsPerStreamPerTick
            batch.close(last: result == .finished && active.request.stream, closeAfter: result == .dropped)
            if result == .more {
                if active.nextDeadline <= now {
                    deferred.append((active.nextDeadline, top.id))
                } else {
                    fixedTimers.push(deadline: active.nextDeadline, id: top.id)
                }
            }
            if batch.buffer.readableBytes > Self.maxBatchBytes {
                flush(&batch)
                batch = EmissionBatch(allocator: allocator, capacity: batchCapacityHint)
            }
            now = Self.now()
        }
        flush(&batch)
        for item in deferred { fixedTimers.push(deadline: item.deadline, id: item.id) }
        armFixedTimer()
    }

    // MARK: Writing tokens

    enum EmitResult { case more, finished, dropped, stalled }

    /// Generates `tokens` tokens for `active` and renders an event into `buffer` once it is complete.
    func emitEvent(_ active: ActiveRequest, tokens: Int, into buffer: inout ByteBuffer) -> EmitResult {
        var stopReason: String? = nil
        var last = false
        for _ in 0..<tokens {
            let (piece, stoppedBy) = active.nextPiece()
            active.pendingTokens += 1
            if active.isReasoning(token: active.generated) {
                active.pendingReasoning += piece
                if !active.request.stream { active.fullReasoning += piece }
            } else {
                active.pendingText += piece
                if !active.request.stream || prefixCache != nil { active.fullText += piece }
            }
            if active.dropAtToken == active.generated - 1 {
                drop(active)
                return .dropped
            }
            if active.stallAtToken == active.generated - 1 {
                stall(active)
                return .stalled
            }
            if stoppedBy != nil || active.generated >= active.plannedTokens {
                stopReason = stoppedBy
                last = true
                break
            }
        }
        let now = Self.now()
        if let previous = active.lastTokenNanos {
            metrics.interTokenLatency.record(Double(now &- previous) / 1e9)
        } else {
            active.firstTokenNanos = now
            metrics.timeToFirstToken.record(Double(now &- active.arrivalNanos) / 1e9)
        }
        active.lastTokenNanos = now
        let finishReason = last ? (stopReason != nil ? "stop" : active.plannedFinishReason) : nil

        if active.request.stream && (last || active.pendingTokens >= config.tokensPerEvent) {
            if active.request.kind == .chat && active.generated == active.pendingTokens {
                active.writeRoleChunk(into: &buffer)
            }
            // An event that crosses from reasoning to the answer goes out as two chunks, reasoning first.
            if !active.pendingReasoning.isEmpty {
                active.writeReasoningChunk(text: active.pendingReasoning, into: &buffer)
                active.pendingReasoning = ""
            }
            if !active.pendingText.isEmpty || last {
                active.writeContentChunk(
                    text: active.pendingText, finishReason: finishReason, stopReason: stopReason, into: &buffer)
            }
            active.pendingText = ""
            active.pendingTokens = 0
            if last {
                if active.request.includeUsage { active.writeUsageChunk(into: &buffer) }
                buffer.writeStaticString("data: [DONE]\n\n")
            }
        }
        if last {
            finish(active, reason: finishReason ?? "length", stopReason: stopReason)
            return .finished
        }
        return .more
    }

    /// Writes each stream's framed chunk with one write + flush, ends finished streams, and records lateness.
    func flush(_ batch: inout EmissionBatch) {
        for entry in batch.entries {
            let active = entry.request
            if let raw = active.raw {
                if entry.end > entry.start,
                   let bytes = batch.buffer.getSlice(at: entry.start, length: entry.end - entry.start) {
                    raw.writeFramed(bytes, flush: !entry.last)
                }
            } else if entry.payloadEnd > entry.payloadStart,
                      let bytes = batch.buffer.getSlice(at: entry.payloadStart, length: entry.payloadEnd - entry.payloadStart) {
                // HTTP/2: the stream channel's codec turns the body part into DATA frames.
                active.channel.write(HTTPServerResponsePart.body(.byteBuffer(bytes)), promise: nil)
                if !entry.last { active.channel.flush() }
            }
            if entry.last {
                let done = active.channel.writeAndFlush(HTTPServerResponsePart.end(nil))
                if !active.keepAlive { done.whenComplete { _ in active.channel.close(promise: nil) } }
            }
            if entry.closeAfter { active.channel.close(promise: nil) }
            guard entry.end > entry.start || entry.last else { continue }
            let lateness = Self.now() &- entry.deadline
            // A deadline in the future cannot happen (we fire at or after it); guard against clock quirks.
            let late = lateness > 1 << 62 ? 0 : lateness
            self.lateness.record(nanos: late)
            metrics.emissionLateness.record(Double(late) / 1e9)
        }
        batchCapacityHint = max(4096, min(Self.maxBatchBytes, batch.buffer.writerIndex + batch.buffer.writerIndex / 4))
    }

    private func finish(_ active: ActiveRequest, reason: String, stopReason: String?) {
        requests.removeValue(forKey: active.id)
        if stopReason != nil { simulator.abort(requestID: active.id) }
        metrics.generationTokens.increment(by: Int64(active.generated))
        metrics.requestSuccess.increment()
        metrics.endToEnd.record(Double(Self.now() &- active.arrivalNanos) / 1e9)
        if prefixCache != nil {
            // The answer's tokens continue the prompt's blocks; their full blocks stay cached.
            let size = prefixCache!.blockSize
            let parent = active.request.blockHashes.last ?? PrefixCache.rootHash
            let ids = active.request.blockTail + tokenizer.ids(active.fullText)
            prefixCache!.insert(PrefixCache.blockHashes(ids[...], blockSize: size, parent: parent))
        }
        if !active.request.stream {
            HTTPResponder.send(
                active.channel, status: .ok, body: active.nonStreamingBody(finishReason: reason, stopReason: stopReason),
                keepAlive: active.keepAlive)
        }
    }

    /// --drop-rate: cut the connection mid-answer, as a crashing proxy would.
    private func drop(_ active: ActiveRequest) {
        requests.removeValue(forKey: active.id)
        simulator.abort(requestID: active.id)
        // The batch closes the connection after writing what the stream already had this tick.
    }

    /// --stall: stop sending but keep the connection open; the client has to time out.
    private func stall(_ active: ActiveRequest) {
        requests.removeValue(forKey: active.id)
        simulator.abort(requestID: active.id)
        // The batch writes what the stream already had this tick, then nothing more comes.
    }
}
