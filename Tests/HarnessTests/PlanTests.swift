import Foundation
import Harness
import LatencyModel
import LoadGen
import Metrics
import MockServer
import Report
import Testing
import Workload

/// `tpbench plan`: the fleet simulation behind it, and its agreement with the live mock it predicts.
@Suite(.serialized)
struct PlanTests {
    static func workload(concurrency: Int, requests: Int, prompt: Int, output: Int) -> WorkloadSpec {
        var spec = WorkloadSpec()
        spec.name = "plan-test"
        spec.load.concurrency = concurrency
        spec.load.requests = requests
        spec.prompt.tokens = .fixed(prompt)
        spec.output.maxTokens = .fixed(output)
        spec.output.ignoreEOS = true
        return spec
    }

    /// `spec` run through the client against a live mock of `replica` seeded like the workload.
    static func runAgainstMock(_ spec: WorkloadSpec, _ replica: ReplicaSpec) async throws -> RunSession.Outcome {
        var configuration = MockConfiguration(replicaSpec: replica)
        configuration.seed = spec.seed
        let mock = try await MockServer.start(configuration)
        let directory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("tpbench-plan-live-\(UUID())")
        defer { try? FileManager.default.removeItem(at: directory) }
        do {
            let live = try await RunSession.run(workload: spec, deployment: DeploymentSpec(name: "mock", urls: mock.baseURLs),
                                                directory: directory, options: RunSession.Options(commandLine: ["test"]))
            try await mock.shutdown()
            return live
        } catch {
            try await mock.shutdown()
            throw error
        }
    }

    @Test func candidatesParseAndSplitTheBudget() throws {
        #expect(try PlanSession.Candidate.parse("tp1x4, TP2x2,tp4x1").map(\.name) == ["tp1x4", "tp2x2", "tp4x1"])
        #expect(PlanSession.Candidate.splits(of: 4).map(\.name) == ["tp1x4", "tp2x2", "tp4x1"])
        #expect(PlanSession.Candidate.splits(of: 6).map(\.name) == ["tp1x6", "tp2x3"])
        #expect(throws: PlanSession.PlanError.self) { _ = try PlanSession.Candidate.parse("tp4") }
        #expect(throws: PlanSession.PlanError.self) { _ = try PlanSession.Candidate.parse("tp0x2") }
    }

    /// An idle engine starts a step at the first arrival, as vLLM and the mock do: of a burst the first request is
    /// prefilled alone and the rest wait for that step; requests far apart never wait.
    @Test func anIdleEngineStartsAtTheFirstArrival() {
        let parameters = ReplicaSpec(model: .qwen3_30b_a3b, gpu: .h200, tensorParallel: 2, link: .pcie4P2P)
        let request = FleetSimulation.Request(promptTokens: 500, outputTokens: 40)
        let burst = FleetSimulation(parameters: parameters, replicas: 1, requests: Array(repeating: request, count: 24),
                                    load: .closed(concurrency: 24)).run()
        #expect(burst.count == 24 && burst.allSatisfy { $0.tokenTimes.count == 40 && !$0.dropped })
        let ttft = burst.map { $0.tokenTimes[0] - $0.arrival }
        let alone = ttft[0]
        #expect(ttft.dropFirst().allSatisfy { $0 > alone }, "\(ttft)")
        let spaced = FleetSimulation(parameters: parameters, replicas: 1, requests: Array(repeating: request, count: 5),
                                     load: .open(arrivals: [0, 10, 20, 30, 40])).run()
        #expect(spaced.allSatisfy { abs(($0.tokenTimes[0] - $0.arrival) - alone) < 1e-12 })
    }

    /// Four replicas under four times the load behave like one under its share, with four times the throughput, and
    /// the balancer spreads the requests evenly.
    @Test func replicasSplitTheLoad() {
        let parameters = ReplicaSpec(model: .llama3_1_8b, gpu: .h100)
        func run(_ replicas: Int, _ concurrency: Int) -> [FleetSimulation.Outcome] {
            FleetSimulation(parameters: parameters, replicas: replicas,
                            requests: Array(repeating: .init(promptTokens: 200, outputTokens: 50), count: 64 * replicas),
                            load: .closed(concurrency: concurrency)).run()
        }
        let one = run(1, 8), four = run(4, 32)
        #expect(Set(four.map(\.replica)) == [0, 1, 2, 3])
        #expect((0..<4).allSatisfy { r in four.filter { $0.replica == r }.count == 64 })
        let end1 = one.compactMap(\.tokenTimes.last).max() ?? 0, end4 = four.compactMap(\.tokenTimes.last).max() ?? 0
        #expect(abs(end4 - end1) / end1 < 1e-9, "same duration for 4x the requests: \(end1) s vs \(end4) s")
    }

    /// The prediction agrees with the live mock (same preset, same workload, measured through the client) within 3 %
    /// on TTFT, TPOT, E2E and throughput, and renders as a comparison report labelled as a prediction.
    @Test func planAgreesWithTheLiveMock() async throws {
        // An open loop at a constant rate: the client sends each request at its intended time, so model and client
        // see the same arrivals (a closed loop's waves would be sent all at once by the model and one after another
        // by the client). The first 16 requests are a warm-up, left out on both sides: while the batch fills, each
        // request's TPOT depends on how many came before it, and with them counted the p50 fell on that ramp's edge
        // (33.6 against 35.2 ms for neighbouring requests), where one request more or less on the ramp moved it 3 %.
        var spec = Self.workload(concurrency: 16, requests: 64, prompt: 6000, output: 40)
        spec.load.concurrency = nil
        spec.load.rate = 8
        spec.load.arrival = .constant
        spec.load.warmupRequests = 16
        let live = try await Self.runAgainstMock(spec, ReplicaSpec(model: .qwen3_30b_a3b, gpu: .h200))

        let directory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("tpbench-plan-\(UUID())")
        defer { try? FileManager.default.removeItem(at: directory) }
        let setup = PlanSession.Setup(model: .qwen3_30b_a3b, gpu: .h200, link: .nvlink4,
                                      candidates: [.init(tensorParallel: 1, replicas: 1)], costPerGPUHour: 3.5)
        let plan = try PlanSession.run(workload: spec, setup: setup, directory: directory)
        let measured = try #require(live.result.summaries.first)
        let predicted = try #require(plan.runs.first?.summaries.first)
        #expect(measured.failed == 0 && predicted.failed == 0)
        #expect(measured.requests == 48 && predicted.requests == 48)
        for (name, m, p) in [("TTFT p50", measured.ttftMs?.p50, predicted.ttftMs?.p50),
                             ("TPOT p50", measured.tpotMs?.p50, predicted.tpotMs?.p50),
                             ("E2E p50", measured.e2eMs?.p50, predicted.e2eMs?.p50),
                             ("req/s", measured.requestsPerSecond, predicted.requestsPerSecond)] {
            let m = try #require(m), p = try #require(p)
            print("plan vs live mock: \(name) predicted \(p), measured \(m)")
            #expect(abs(p - m) / m < 0.03, "\(name): predicted \(p), measured \(m)")
        }
        let report = try String(contentsOf: directory.appendingPathComponent("compare.md"), encoding: .utf8)
        #expect(report.hasPrefix("# Deployment plan (predicted): plan-test"))
        #expect(report.contains("A prediction, not a measurement"))
        #expect(report.contains("## Side by side"))
        #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent("tp1x1/report.md").path))
        let saved = try JSONDecoder().decode(Comparison.self, from: Data(contentsOf: directory.appendingPathComponent("compare.json")))
        #expect(saved.prediction == plan.comparison.prediction)
    }

    /// The plan simulates the requests a run sends: the same prompt and output lengths per request id, the same
    /// open-loop schedule (Poisson here), the ceiling on requests in flight, and the same warm-up left out.
    @Test func thePlanSimulatesTheRequestsTheRunSends() async throws {
        var spec = WorkloadSpec()
        spec.name = "plan-same-requests"
        spec.seed = 7
        spec.prompt.tokens = .uniform(20, 200)
        spec.output.maxTokens = .uniform(2, 12)
        spec.output.ignoreEOS = true
        spec.load.rate = 400
        spec.load.arrival = .poisson
        spec.load.concurrency = 3
        spec.load.requests = 40
        spec.load.warmupRequests = 5
        let (requests, load) = try PlanSession.requests(of: spec)
        guard case .open(let arrivals, let ceiling) = load else { Issue.record("not an open loop: \(load)"); return }
        #expect(ceiling == 3 && arrivals.count == 40)
        // A workload whose stages mix an open and a closed loop is refused, not half simulated.
        var mixed = spec
        mixed.load.requests = nil
        mixed.load.stages = [LoadSpec.Stage(rate: 5, durationS: 2), LoadSpec.Stage(concurrency: 4, durationS: 2)]
        #expect(throws: PlanSession.PlanError.self) { _ = try PlanSession.requests(of: mixed) }

        let live = try await Self.runAgainstMock(spec, ReplicaSpec(model: .llama3_1_8b, gpu: .h100))
        let records = live.records.sorted { $0.id < $1.id }
        #expect(records.map(\.id) == Array(0..<40))
        #expect(records.map(\.requestedPromptTokens) == requests.map(\.promptTokens))
        #expect(records.map(\.requestedMaxTokens) == requests.map(\.outputTokens))
        #expect(Set(requests.map(\.promptTokens)).count > 20 && Set(requests.map(\.outputTokens)).count > 5)
        #expect(records.map { $0.excludedAs != nil } == (0..<40).map { $0 < 5 })
        // The run's intended start times are the plan's arrivals, to the client's clock resolution.
        for (record, arrival) in zip(records, arrivals) {
            let intended = try #require(record.intendedStartMs)
            #expect(abs(intended - arrival * 1000) < 0.01, "request \(record.id): \(intended) ms vs \(arrival * 1000)")
        }
        // At 400 req/s against 3 in flight most requests wait for a slot: the simulation holds them too.
        let outcomes = FleetSimulation(parameters: ReplicaSpec(model: .llama3_1_8b, gpu: .h100), replicas: 1,
                                       requests: requests, load: load).run()
        #expect(outcomes.filter { $0.arrival > $0.intended + 1e-9 }.count > 20)
        for o in outcomes {
            let inFlight = outcomes.filter { $0.arrival <= o.arrival && ($0.tokenTimes.last ?? 0) > o.arrival }.count
            #expect(inFlight <= 3, "request \(o.index) sent with \(inFlight) in flight")
        }
    }

    /// The published question on paper: TP=4 over degraded PCIe vs 4 replicas of TP=1, 100 requests in flight.
    @Test func theWriteUpsQuestionIsAnsweredInSeconds() throws {
        let spec = Self.workload(concurrency: 100, requests: 300, prompt: 1000, output: 500)
        let directory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("tpbench-plan-\(UUID())")
        defer { try? FileManager.default.removeItem(at: directory) }
        let setup = PlanSession.Setup(model: .qwen3_30b_a3b, gpu: .h200, link: .pcieDegraded,
                                      candidates: PlanSession.Candidate.splits(of: 4), costPerGPUHour: 3.5)
        let started = Date()
        let plan = try PlanSession.run(workload: spec, setup: setup, directory: directory)
        #expect(Date().timeIntervalSince(started) < 30)
        let rps = Dictionary(uniqueKeysWithValues: plan.comparison.deployments.map { ($0.name, $0.cells["requests_per_s"]?.value ?? 0) })
        #expect((rps["tp1x4"] ?? 0) > 2 * (rps["tp4x1"] ?? 0), "\(rps)")
        #expect(plan.comparison.verdict.contains { $0.hasPrefix("tp2x2 vs tp1x4") || $0.hasPrefix("tp4x1 vs tp1x4") })
    }

    /// A preset with a serial API-server cost gives each replica a front-end ceiling: four replicas take four times
    /// the requests one TP=4 engine does, and the report says where the ceiling is.
    @Test func anAPIServerCostCapsEachReplicaAndThePlanSaysSo() throws {
        var spec = Self.workload(concurrency: 1, requests: 600, prompt: 128, output: 4)
        spec.load.concurrency = nil
        spec.load.rate = 200
        spec.load.arrival = .constant
        let directory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("tpbench-plan-\(UUID())")
        defer { try? FileManager.default.removeItem(at: directory) }
        var setup = PlanSession.Setup(model: .llama3_1_8b, gpu: .h100, link: .nvlink4,
                                      candidates: [.init(tensorParallel: 1, replicas: 4), .init(tensorParallel: 4, replicas: 1)],
                                      costPerGPUHour: nil)
        setup.tune = { $0.apiServerCost = 0.0131 }  // vLLM PR #17546's one API server: 76.5 req/s
        let plan = try PlanSession.run(workload: spec, setup: setup, directory: directory)
        let rates = plan.comparison.deployments.map { $0.cells["requests_per_s"]?.value ?? 0 }
        print("API-server ceiling: tp1x4 \(rates[0]) req/s, tp4x1 \(rates[1]) req/s offered 200")
        // One server: 76.3 req/s at most (the run's last requests finish after the sending ends, so a little less).
        #expect(rates[1] > 70 && rates[1] <= 76.4, "tp4x1: \(rates[1]) req/s")
        // Four servers, 305 req/s between them: the offered 200 get through.
        #expect(rates[0] > 190, "tp1x4: \(rates[0]) req/s")
        let expected = "Each replica's API server takes one request at a time for 13.1 ms (the preset's api_server_ms), "
            + "so it takes at most 76.3 req/s a replica: tp1x4 305.3 req/s, tp4x1 76.3 req/s."
        #expect(plan.comparison.prediction?.contains(expected) == true, "\(plan.comparison.prediction ?? "")")
        let report = try String(contentsOf: directory.appendingPathComponent("compare.md"), encoding: .utf8)
        #expect(report.contains(expected))
        // Without the cost, no ceiling is claimed.
        setup.tune = { _ in }
        let free = try PlanSession.run(workload: spec, setup: setup, directory: directory)
        #expect(free.comparison.prediction?.contains("API server") == false)
    }

    /// A candidate whose weights leave no room for the KV cache is left out by name, not reported as 100 % failures;
    /// when none fits, plan says so.
    @Test func candidatesThatDoNotFitAreLeftOut() throws {
        let spec = Self.workload(concurrency: 8, requests: 16, prompt: 500, output: 20)
        let directory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("tpbench-plan-\(UUID())")
        defer { try? FileManager.default.removeItem(at: directory) }
        // Llama-3.1-70B's 141 GB of bf16 weights: not on one 80 GB H100, and 70.6 GB a GPU at TP=2 leaves too little
        // of 0.9 x 80 GB for the KV cache; over 4 it fits.
        let setup = PlanSession.Setup(model: .llama3_1_70b, gpu: .h100, link: .nvlink4,
                                      candidates: PlanSession.Candidate.splits(of: 4), costPerGPUHour: nil)
        let plan = try PlanSession.run(workload: spec, setup: setup, directory: directory)
        #expect(plan.comparison.deployments.map(\.name) == ["tp4x1"])
        #expect(plan.comparison.deployments.allSatisfy { ($0.cells["requests_per_s"]?.value ?? 0) > 0 })
        let report = try String(contentsOf: directory.appendingPathComponent("compare.md"), encoding: .utf8)
        #expect(report.contains("tp1x4 left out: llama-3.1-70b needs 141.1 GB of weights per GPU at TP=1"))
        #expect(report.contains("tp2x2 left out: llama-3.1-70b needs 70.6 GB of weights per GPU at TP=2"))
        var small = setup
        small.gpu = .a10g
        let error = try #require(throws: PlanSession.PlanError.self) {
            try PlanSession.run(workload: spec, setup: small, directory: directory)
        }
        #expect("\(error)".hasPrefix("no candidate can run. tp1x4 left out: llama-3.1-70b needs 141.1 GB"))
        #expect("\(error)".contains("tp4x1 left out: llama-3.1-70b needs 35.3 GB of weights per GPU at TP=4"))
    }
}
