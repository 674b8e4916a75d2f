import Testing

@testable import LatencyModel

/// The published experiment: 100 requests at once, 1000-token prompts, 500 output tokens (ignore_eos),
/// Qwen3-30B-A3B on H200s.
@Suite struct BurstSimulationTests {
    static func run(tp: Int, link: LinkSpec, load: LoadSimulation.Load = .burst(count: 100)) -> LoadSimulation.Outcome {
        let parameters = ReplicaSpec(model: .qwen3_30b_a3b, gpu: .h200, tensorParallel: tp, link: link)
        return LoadSimulation(parameters: parameters, promptTokens: 1000, outputTokens: 500, load: load).run()
    }

    @Test func tp1MatchesThePublishedRanges() {
        let r = Self.run(tp: 1, link: .nvlink4)
        print("TP=1 burst: TTFT p50 \(r.ttftP50 * 1000) ms, ITL p50 \(r.itlP50 * 1000) ms, \(r.outputTokensPerSecond) tok/s")
        #expect(r.completedRequests == 100)
        #expect(r.outputTokens == 100 * 500)
        #expect(r.ttftP50 > 0.3 && r.ttftP50 < 0.8)
        #expect(r.itlP50 > 0.017 && r.itlP50 < 0.026)
        #expect(r.preemptions == 0)
    }

    @Test func tp4OverDegradedPCIeIsWorseOnEveryCount() {
        let tp1 = Self.run(tp: 1, link: .nvlink4)
        let bad = Self.run(tp: 4, link: .pcieDegraded)
        print("TP=4 pcie-degraded burst: TTFT p50 \(bad.ttftP50 * 1000) ms, ITL p50 \(bad.itlP50 * 1000) ms, \(bad.outputTokensPerSecond) tok/s")
        #expect(bad.ttftP50 > tp1.ttftP50)
        #expect(bad.itlP50 > tp1.itlP50)
        #expect(bad.outputTokensPerSecond < tp1.outputTokensPerSecond)
    }

    @Test func tp4OverNVLinkHasBetterITL() {
        let tp1 = Self.run(tp: 1, link: .nvlink4)
        let good = Self.run(tp: 4, link: .nvlink4)
        print("TP=4 nvlink4 burst: TTFT p50 \(good.ttftP50 * 1000) ms, ITL p50 \(good.itlP50 * 1000) ms, \(good.outputTokensPerSecond) tok/s")
        #expect(good.itlP50 < tp1.itlP50)
        #expect(good.ttftP50 < tp1.ttftP50)
    }

    @Test func closedLoopKeepsTheEngineBusy() {
        let r = Self.run(tp: 1, link: .nvlink4, load: .closedLoop(concurrency: 100, total: 300))
        print("TP=1 closed loop: TTFT p50 \(r.ttftP50 * 1000) ms, ITL p50 \(r.itlP50 * 1000) ms, \(r.outputTokensPerSecond) tok/s")
        #expect(r.completedRequests == 300)
        #expect(r.itlP50 > 0.017 && r.itlP50 < 0.030)
    }
}

/// The simulator's figures the README quotes (the table under "A step takes"), pinned to ±2 % so a model change
/// shows here, not only in the ranges above. Deterministic: no jitter, no randomness.
@Suite struct ReadmeSimulatorFigures {
    struct Row: CustomTestStringConvertible, Sendable {
        var name: String
        var tp: Int
        var link: LinkSpec
        var load: LoadSimulation.Load
        var ttftMs: Double, itlMs: Double, tokensPerSecond: Double
        var testDescription: String { name }
    }

    static let rows: [Row] = [
        Row(name: "TP=1 burst", tp: 1, link: .nvlink4, load: .burst(count: 100),
            ttftMs: 690, itlMs: 20.4, tokensPerSecond: 4404),
        Row(name: "TP=4 pcie-degraded burst", tp: 4, link: .pcieDegraded, load: .burst(count: 100),
            ttftMs: 1342, itlMs: 66.2, tokensPerSecond: 1412),
        Row(name: "TP=4 nvlink4 burst", tp: 4, link: .nvlink4, load: .burst(count: 100),
            ttftMs: 288, itlMs: 8.4, tokensPerSecond: 10714),
        Row(name: "TP=1 closed loop", tp: 1, link: .nvlink4, load: .closedLoop(concurrency: 100, total: 300),
            ttftMs: 98, itlMs: 20.4, tokensPerSecond: 4453),
    ]

    @Test(arguments: rows) func figureIsPinned(_ row: Row) {
        let r = BurstSimulationTests.run(tp: row.tp, link: row.link, load: row.load)
        let measured = (r.ttftP50 * 1000, r.itlP50 * 1000, r.outputTokensPerSecond)
        print("\(row.name): TTFT p50 \(measured.0) ms, ITL p50 \(measured.1) ms, \(measured.2) tok/s")
        #expect(abs(measured.0 / row.ttftMs - 1) <= 0.02, "TTFT p50 \(measured.0) ms, README \(row.ttftMs)")
        #expect(abs(measured.1 / row.itlMs - 1) <= 0.02, "ITL p50 \(measured.1) ms, README \(row.itlMs)")
        #expect(abs(measured.2 / row.tokensPerSecond - 1) <= 0.02, "\(measured.2) tok/s, README \(row.tokensPerSecond)")
    }
}

@Suite struct ReplicaSimulatorTests {
    static let small = ReplicaSpec(model: .qwen3_30b_a3b, gpu: .h200)

    @Test func chunkedPrefillSplitsALongPromptOverTheBudget() {
        var engine = ReplicaSimulator(parameters: Self.small)
        engine.add(SimulatedRequest(id: 1, promptTokens: 20_000, outputTokens: 2))
        let first = engine.step()!
        #expect(first.workload.tokens == 8192 && first.emitted.isEmpty)
        let second = engine.step()!
        #expect(second.workload.tokens == 8192 && second.emitted.isEmpty)
        let third = engine.step()!
        #expect(third.workload.tokens == 20_000 - 2 * 8192)
        #expect(third.emitted == [EmittedToken(requestID: 1, index: 0, finished: false)])
        let fourth = engine.step()!
        #expect(fourth.workload.tokens == 1 && fourth.emitted.first?.finished == true)
        #expect(engine.step() == nil)
        #expect(engine.freeBlocks == engine.totalBlocks)
    }

    @Test func maxNumSeqsCapsTheRunningSet() {
        var p = Self.small
        p.maxNumSeqs = 4
        var engine = ReplicaSimulator(parameters: p)
        for id in 0..<10 { engine.add(SimulatedRequest(id: id, promptTokens: 10, outputTokens: 5)) }
        let outcome = engine.step()!
        #expect(outcome.emitted.count == 4)
        #expect(engine.runningCount == 4 && engine.waitingCount == 6)
    }

    @Test func runningOutOfBlocksPreemptsTheNewestRequest() {
        var p = Self.small
        // Leave room for exactly 10 blocks of 16 tokens.
        p.gpuMemoryUtilization = 1
        p.activationReserveBytes = p.gpu.memoryBytes - p.model.weightBytes - 10 * 16 * p.model.kvBytesPerToken
        var engine = ReplicaSimulator(parameters: p)
        #expect(engine.totalBlocks == 10)
        engine.add(SimulatedRequest(id: 1, promptTokens: 64, outputTokens: 40))  // grows from 4 to 7 blocks
        engine.add(SimulatedRequest(id: 2, promptTokens: 64, outputTokens: 40))
        var firstTokens: [Int: Int] = [:]
        var finished: Set<Int> = []
        var steps = 0
        while let outcome = engine.step(), steps < 1000 {
            steps += 1
            for t in outcome.emitted {
                firstTokens[t.requestID, default: 0] += 1
                if t.finished { finished.insert(t.requestID) }
            }
        }
        #expect(engine.preemptionsTotal >= 1)
        #expect(finished == [1, 2])
        #expect(engine.freeBlocks == 10)
    }

    @Test func abortFreesSlotAndBlocks() {
        var engine = ReplicaSimulator(parameters: Self.small)
        engine.add(SimulatedRequest(id: 7, promptTokens: 1000, outputTokens: 100))
        _ = engine.step()
        #expect(engine.freeBlocks < engine.totalBlocks)
        let aborted = engine.abort(requestID: 7)
        #expect(aborted)
        #expect(engine.freeBlocks == engine.totalBlocks && engine.isIdle)
        let again = engine.abort(requestID: 7)
        #expect(!again)
    }
}
