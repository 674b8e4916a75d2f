import Testing

@testable import LatencyModel

/// The model terms calibration fits, and the fit itself on results the model generated (exact data: the fit must
/// find the hidden parameters, not merely a good match).
@Suite struct CalibrationTests {
    @Test func stepsArePaddedToVLLMsCUDAGraphSizes() {
        var p = ReplicaSpec(model: .llama3_1_8b, gpu: .h100)
        p.maxNumSeqs = 256  // largest capture size min(2·256, 512) = 512
        #expect([1, 2, 3, 4, 5, 8, 9, 247, 249, 256, 257, 300, 512, 513].map(p.paddedTokens)
                == [1, 2, 4, 4, 8, 8, 16, 248, 256, 256, 272, 304, 512, 513])
        p.maxNumSeqs = 8  // largest 16
        #expect([15, 16, 17].map(p.paddedTokens) == [16, 16, 17])
        p.cudaGraphMaxTokens = 0  // eager: nothing padded
        #expect([3, 5, 100].map(p.paddedTokens) == [3, 5, 100])
    }

    /// Padding costs compute (the padded rows are multiplied) and all-reduce bytes, never weight reads.
    @Test func paddingCostsComputeAndCommunicationOnly() {
        var p = ReplicaSpec(model: .llama3_1_8b, gpu: .h100, tensorParallel: 2, link: .pcie4P2P)
        p.maxNumSeqs = 256
        let w = StepWorkload.decode(sequences: 9, context: 100)
        let padded = StepTimeModel(p).breakdown(w)
        p.cudaGraphMaxTokens = 0
        let eager = StepTimeModel(p).breakdown(w)
        #expect(padded.memory == eager.memory)
        // The linear layers run 16 rows instead of 9; the LM head and attention only the real ones.
        let model = StepTimeModel(p)
        let linear = 2 * p.model.activeParametersPerTokenWithoutHead
        #expect(abs(padded.compute / eager.compute - (model.flops(w) + 7 * linear) / model.flops(w)) < 1e-12)
        // Two all-reduces per layer of 7 more rows of hidden bf16 values; a ring moves 2(TP−1)/TP = 1 of it at TP 2.
        let perRow = Double(p.model.hidden) * 2 / p.link.busBandwidth
        #expect(abs((padded.communication - eager.communication) - 2 * 32 * 7 * perRow) < 1e-12)
    }

    @Test func everyScheduledSequenceCostsItsOverhead() {
        var p = ReplicaSpec(model: .llama3_1_8b, gpu: .h100)
        p.perSequenceOverhead = 40e-6
        let b = StepTimeModel(p).breakdown(.decode(sequences: 25, context: 10))
        #expect(abs(b.cpu - (1.5e-3 + 25 * 40e-6)) < 1e-12)
    }

    /// A request reaches the engine `requestOverhead` after it is sent: its first token is that much later and
    /// nothing after it moves.
    @Test func aRequestOverheadDelaysTheFirstTokenOnly() {
        var p = ReplicaSpec(model: .llama3_1_8b, gpu: .h100)
        p.requestOverhead = 0
        let base0 = p
        let requests = Array(repeating: FleetSimulation.Request(promptTokens: 500, outputTokens: 10), count: 3)
        let base = FleetSimulation(parameters: p, replicas: 1, requests: requests, load: .open(arrivals: [0, 1, 2])).run()
        p.requestOverhead = 0.004
        let slow = FleetSimulation(parameters: p, replicas: 1, requests: requests, load: .open(arrivals: [0, 1, 2])).run()
        for (b, s) in zip(base, slow) {
            #expect(abs((s.tokenTimes[0] - s.arrival) - (b.tokenTimes[0] - b.arrival) - 0.004) < 1e-12)
            #expect(zip(s.tokenTimes.dropFirst(), b.tokenTimes.dropFirst()).allSatisfy { abs($0 - $1 - 0.004) < 1e-12 })
        }
        // In a closed loop every request pays it once.
        let closed0 = FleetSimulation(parameters: base0, replicas: 1,
                                      requests: requests, load: .closed(concurrency: 1)).run()
        let closed = FleetSimulation(parameters: p, replicas: 1, requests: requests, load: .closed(concurrency: 1)).run()
        #expect(abs((closed.last!.tokenTimes.last! - closed0.last!.tokenTimes.last!) - 3 * 0.004) < 1e-12)
    }

    /// The per-prompt-token part of the request overhead delays a request's first token by its prompt's share.
    @Test func aPromptTokenOverheadGrowsTheDelayWithThePrompt() {
        var p = ReplicaSpec(model: .llama3_1_8b, gpu: .h100)
        p.requestOverhead = 0.004
        let requests = [500, 3000].map { FleetSimulation.Request(promptTokens: $0, outputTokens: 4) }
        let base = FleetSimulation(parameters: p, replicas: 1, requests: requests, load: .open(arrivals: [0, 1])).run()
        p.promptTokenOverhead = 2e-6
        #expect(abs(p.requestOverhead(promptTokens: 3000) - 0.010) < 1e-12)
        let slow = FleetSimulation(parameters: p, replicas: 1, requests: requests, load: .open(arrivals: [0, 1])).run()
        for (b, s) in zip(base, slow) {
            let extra = 2e-6 * Double(requests[b.index].promptTokens)
            #expect(zip(s.tokenTimes, b.tokenTimes).allSatisfy { abs($0 - $1 - extra) < 1e-12 }, "\(s.tokenTimes) vs \(b.tokenTimes)")
        }
    }

    /// A replica's API server takes one request at a time for its serial cost: a burst reaches the engine spaced by
    /// that cost, each replica has its own, and without a request overhead nothing queues.
    @Test func theAPIServerServesRequestsOneAtATime() {
        var p = ReplicaSpec(model: .llama3_1_8b, gpu: .h100)
        p.requestOverhead = 0.03
        p.apiServerCost = 0.02
        let count = 12
        let requests = Array(repeating: FleetSimulation.Request(promptTokens: 32, outputTokens: 2), count: count)
        let burst = FleetSimulation(parameters: p, replicas: 1, requests: requests,
                                    load: .open(arrivals: Array(repeating: 0, count: count))).run()
        // Request i is taken at 20·i ms and reaches the idle engine 30 ms later (its two steps take ~15 ms), so its
        // first token is one prefill step after that.
        let prefill = burst[0].tokenTimes[0] - 0.03
        #expect(prefill > 0.005 && prefill < 0.012, "prefill step \(prefill)")
        for outcome in burst {
            let expected = 0.02 * Double(outcome.index) + 0.03 + prefill
            #expect(abs(outcome.tokenTimes[0] - expected) < 1e-9, "request \(outcome.index): \(outcome.tokenTimes[0]) vs \(expected)")
        }
        // Two replicas, two API servers: the balancer alternates, and each server's queue is half as long.
        let pair = FleetSimulation(parameters: p, replicas: 2, requests: requests,
                                   load: .open(arrivals: Array(repeating: 0, count: count))).run()
        for outcome in pair {
            #expect(outcome.replica == outcome.index % 2)
            let expected = 0.02 * Double(outcome.index / 2) + 0.03 + prefill
            #expect(abs(outcome.tokenTimes[0] - expected) < 1e-9, "request \(outcome.index): \(outcome.tokenTimes[0]) vs \(expected)")
        }
        // Requests spaced wider than the cost do not queue; the serial part is capped by the overhead it is part of.
        let spaced = FleetSimulation(parameters: p, replicas: 1, requests: requests,
                                     load: .open(arrivals: (0..<count).map { Double($0) * 0.5 })).run()
        #expect(spaced.allSatisfy { abs($0.tokenTimes[0] - $0.arrival - 0.03 - prefill) < 1e-9 })
        p.apiServerCost = 0.05
        #expect(p.serialAPIServerCost(promptTokens: 32) == 0.03)
        p.requestOverhead = 0
        #expect(p.serialAPIServerCost(promptTokens: 32) == 0)
        let free = FleetSimulation(parameters: p, replicas: 1, requests: requests,
                                   load: .open(arrivals: Array(repeating: 0, count: count))).run()
        #expect(free.allSatisfy { $0.tokenTimes[0] < 0.03 }, "\(free.map { $0.tokenTimes[0] })")
    }

    static let hidden: [FreeParameter: Double] = [
        .mfu: 0.42, .mbu: 0.68, .stepOverhead: 2.4, .tpSyncOverhead: 0.6, .allReduceLatency: 45, .busBandwidth: 15,
        .requestOverhead: 3,
    ]

    /// Runs that separate what the model confounds: one long-prompt request alone (compute: MFU), small and large KV
    /// reads per decode step (bandwidth versus the fixed per-step cost), and TP 2 and 4 (sync versus all-reduce
    /// latency, which grows with TP; prefill all-reduces give the bus bandwidth).
    static func design() -> [(name: String, tp: Int, concurrency: Int, count: Int, prompt: Int, output: Int)] {
        [("tp1-alone", 1, 1, 4, 3000, 48), ("tp1-c32", 1, 32, 64, 3000, 48),
         ("tp2-c4", 2, 4, 12, 3000, 48), ("tp4-c4", 4, 4, 12, 3000, 48)]
    }

    static func runs(with truth: [FreeParameter: Double]) -> [CalibrationRun] {
        design().map { d in
            var p = ReplicaSpec(model: .llama3_1_8b, gpu: .h100, tensorParallel: d.tp, link: .pcie4P2P)
            let requests = Array(repeating: FleetSimulation.Request(promptTokens: d.prompt, outputTokens: d.output),
                                 count: d.count)
            var hiddenParameters = p
            for (parameter, value) in truth { parameter.set(value, in: &hiddenParameters) }
            let measured = CalibrationRun(name: d.name, parameters: p, replicas: 1, requests: requests,
                                          load: .closed(concurrency: d.concurrency),
                                          measured: CalibrationFigures(values: []))
                .simulate(with: hiddenParameters)
            p.mfu = 0.5  // the fit starts from the presets, not from the answer
            return CalibrationRun(name: d.name, parameters: p, replicas: 1, requests: requests,
                                  load: .closed(concurrency: d.concurrency), measured: measured)
        }
    }

    @Test func theFitRecoversHiddenParametersFromExactData() {
        let calibrator = Calibrator(runs: Self.runs(with: Self.hidden))
        #expect(calibrator.free == FreeParameter.standard)
        #expect(calibrator.free.count == 7)
        let fit = calibrator.fit()
        for (parameter, truth) in Self.hidden {
            let value = fit.value(of: parameter) ?? .nan
            #expect(abs(value / truth - 1) < 0.01, "\(parameter.name): \(value) vs \(truth) after \(fit.iterations) iterations")
        }
        #expect(fit.rms < 1e-3, "rms \(fit.rms)")
        // Exact data: every figure reproduced, and the leave-one-out predictions close too.
        #expect(fit.residuals.allSatisfy { abs($0.relativeError) < 0.005 }, "\(fit.residuals)")
    }

    @Test func tensorParallelParametersAreLeftOutWithoutATPRun() {
        let runs = Self.runs(with: Self.hidden).filter { $0.parameters.tensorParallel == 1 }
        let calibrator = Calibrator(runs: runs)
        #expect(calibrator.free == [.mfu, .mbu, .stepOverhead, .requestOverhead])
    }

    @Test func solverHandlesPivotingAndSingularity() {
        let x = Calibrator.solve([[0, 2], [3, 1]], [4, 5])
        #expect(x.map { abs($0[0] - 1) < 1e-12 && abs($0[1] - 2) < 1e-12 } == true)
        #expect(Calibrator.solve([[1, 2], [2, 4]], [1, 2]) == nil)
    }

    /// The uncalibrated presets against published vLLM measurements, pinned to ±2 % of what the model gives today so
    /// a model change shows here (and in README/docs/LATENCY-MODEL.md, which quote `tpbench plan --published`).
    @Test func publishedPointsArePinned() {
        let pinned: [Double] = [915.3, 699.0, 1391.4, 2206.2, 1707.8, 2361.9, 1753.9, 20.4, 394.6,
                                7.17, 7.19, 7.23, 7.30, 0.620, 58.50, 58.63, 59.62, 60.71,
                                7.45, 151.2, 26.94, 32_984, 3.11, 90.9, 26.91, 79_149, 131.25, 440.9, 440.9, 4029]
        #expect(PublishedPoint.all.count == pinned.count)
        for (point, value) in zip(PublishedPoint.all, pinned) {
            let predicted = point.predicted()
            #expect(abs(predicted / value - 1) < 0.02, "\(point.name) \(point.figure.rawValue): \(predicted) vs pinned \(value)")
        }
        // The point a default was read from is shown but not counted.
        #expect(PublishedPoint.all.filter(\.isSourceOfDefault).count == 1)
        let medians = PublishedPoint.medianErrors(PublishedPoint.all.map { ($0, $0.predicted()) })
        #expect(medians.decodeCount == 13 && medians.ttftCount == 4 && medians.saturatedCount == 12)
        #expect(abs((medians.decode ?? 0) - 0.072) < 0.002 && abs((medians.ttft ?? 0) - 0.053) < 0.002, "\(medians)")
        #expect(abs((medians.saturated ?? 0) - 0.368) < 0.005, "\(medians)")
        // Offline batch: all eight requests share every step, so they finish together.
        let batch = FleetSimulation(parameters: ReplicaSpec(model: .llama3_1_8b, gpu: .h100), replicas: 1,
                                    requests: Array(repeating: .init(promptTokens: 32, outputTokens: 128), count: 8),
                                    load: .batch).run()
        #expect(Set(batch.map { $0.tokenTimes.last! }).count == 1 && batch.allSatisfy { $0.tokenTimes.count == 128 })
    }
}
