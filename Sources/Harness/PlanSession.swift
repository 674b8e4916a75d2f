import Foundation
import LatencyModel
import Metrics
import Report
import SeededRandom
import Workload

/// `tpbench plan`: predicts each candidate deployment (TP size × replicas on one GPU budget) on a workload by running
/// the latency model's scheduler simulation directly (no HTTP, no clock), and writes the same reports as `compare`,
/// labelled as a prediction.
package enum PlanSession {
    /// `tp<N>x<R>`: R replicas of tensor-parallel size N.
    package struct Candidate: Sendable, Equatable {
        package var tensorParallel: Int
        package var replicas: Int
        package var name: String { "tp\(tensorParallel)x\(replicas)" }
        package var gpus: Int { tensorParallel * replicas }

        package init(tensorParallel: Int, replicas: Int) {
            self.tensorParallel = tensorParallel
            self.replicas = replicas
        }

        /// Parses `tp1x4,tp2x2,tp4x1`.
        package static func parse(_ text: String) throws -> [Candidate] {
            try text.split(separator: ",").map { part in
                let item = part.trimmingCharacters(in: .whitespaces).lowercased()
                let pieces = item.dropFirst(2).split(separator: "x")
                guard item.hasPrefix("tp"), pieces.count == 2, let tp = Int(pieces[0]), let r = Int(pieces[1]),
                      (1...64).contains(tp), (1...64).contains(r) else {
                    throw PlanError("--candidates: '\(item)' is not tp<N>x<R> (N GPUs per replica, R replicas, each "
                                    + "1...64), e.g. --candidates tp1x4,tp2x2,tp4x1")
                }
                return Candidate(tensorParallel: tp, replicas: r)
            }
        }

        /// Every split of `gpus` into replicas of a power-of-two TP size: 4 → tp1x4, tp2x2, tp4x1.
        package static func splits(of gpus: Int) -> [Candidate] {
            [1, 2, 4, 8, 16].filter { $0 <= gpus && gpus % $0 == 0 }.map { Candidate(tensorParallel: $0, replicas: gpus / $0) }
        }
    }

    package struct PlanError: Error, CustomStringConvertible {
        package var description: String
        init(_ description: String) { self.description = description }
    }

    /// Where a calibrated preset came from and how far its predictions may be off, per figure family.
    package struct CalibrationInfo: Sendable, Equatable {
        package var source: String
        /// ttft, tpot, e2e, throughput → relative uncertainty.
        package var bands: [String: Double]
        /// Whether the TP costs (sync, all-reduce latency and bandwidth) were fitted: without a TP > 1 run they were
        /// not, and the bands say nothing about TP > 1 candidates.
        package var tensorParallelFitted: Bool
        package init(source: String, bands: [String: Double], tensorParallelFitted: Bool = true) {
            self.source = source
            self.bands = bands
            self.tensorParallelFitted = tensorParallelFitted
        }
    }

    /// What is predicted for and with what.
    package struct Setup: Sendable {
        package var model: ModelSpec
        package var gpu: GPUSpec
        package var link: LinkSpec
        package var candidates: [Candidate]
        package var costPerGPUHour: Double?
        /// Applied to every candidate's engine parameters (the mock's tuning flags).
        package var tune: @Sendable (inout ReplicaSpec) -> Void = { _ in }
        /// Set when `tune` applies a calibrated preset: the report gives its bands.
        package var calibration: CalibrationInfo?

        package init(model: ModelSpec, gpu: GPUSpec, link: LinkSpec, candidates: [Candidate], costPerGPUHour: Double?) {
            self.model = model
            self.gpu = gpu
            self.link = link
            self.candidates = candidates
            self.costPerGPUHour = costPerGPUHour
        }
    }

    /// The banner every prediction report carries.
    package static func label(_ setup: Setup) -> String {
        let calibration: String
        if let c = setup.calibration, !c.bands.isEmpty {
            let bands = ["ttft", "tpot", "e2e", "throughput"].compactMap { key in
                c.bands[key].map { "\(key) ±" + String(format: "%.1f", $0 * 100) + " %" }
            }
            calibration = "calibrated preset \(c.source) (bands from its leave-one-out errors: "
                + bands.joined(separator: ", ") + ")"
                + (c.tensorParallelFitted || setup.candidates.allSatisfy { $0.tensorParallel == 1 } ? ""
                   : "; its runs were all TP=1, so the TP costs of TP>1 candidates are uncalibrated presets")
        } else if let c = setup.calibration {
            calibration = "calibrated preset \(c.source) (no bands: it holds no residuals)"
        } else {
            calibration = "uncalibrated presets, so no uncertainty band (`tpbench calibrate` fits one to your runs)"
        }
        return "A prediction, not a measurement: tpbench's latency model (vLLM V1 scheduler simulation, roofline "
            + "compute and memory time, all-reduce over \(setup.link.name)) for \(setup.model.name) on "
            + "\(setup.gpu.displayName), \(calibration); every request generates max_tokens (as with ignore_eos). "
            + "Measure with `tpbench compare` before buying."
    }

    /// The front-end ceiling a preset's serial API-server cost sets, per candidate (each replica has its own API
    /// server, so replicas multiply it and tensor parallelism does not); nil when no candidate has one.
    static func apiServerCeilings(_ candidates: [(Candidate, ReplicaSpec)], requests: [FleetSimulation.Request]) -> String? {
        // Every candidate's engine is tuned alike, so their API servers cost the same.
        let prompt = requests.isEmpty ? 0 : requests.reduce(0) { $0 + $1.promptTokens } / requests.count
        guard let cost = candidates.first?.1.serialAPIServerCost(promptTokens: prompt), cost > 0 else { return nil }
        let each = candidates.map { candidate, _ in
            "\(candidate.name) \(String(format: "%.1f", Double(candidate.replicas) / cost)) req/s"
        }
        return "Each replica's API server takes one request at a time for \(String(format: "%.3g", cost * 1000)) ms "
            + "(the preset's api_server_ms), so it takes at most \(String(format: "%.1f", 1 / cost)) req/s a replica: "
            + each.joined(separator: ", ") + "."
    }

    /// The band family of a comparison metric (nil: no band, e.g. failures or cost).
    static func bandFamily(_ key: String) -> String? {
        if key.hasPrefix("ttft") { return "ttft" }
        if key.hasPrefix("tpot") || key.hasPrefix("itl") { return "tpot" }
        if key.hasPrefix("e2e") { return "e2e" }
        if ["requests_per_s", "output_tokens_per_s", "goodput_rps"].contains(key) { return "throughput" }
        return nil
    }

    /// Most requests one candidate's simulation takes.
    static let maxSimulatedRequests = 10_000_000

    /// The workload's requests and load, drawn as the client draws them (`tpbench run` with the same seed sends
    /// these): request i's prompt is pool prompt i modulo the pool's size, its `max_tokens` is seeded by i, and an
    /// open loop's arrivals are the run's schedule (constant, Poisson or gamma, ramps and rate stages), with
    /// `load.concurrency` as its ceiling. A closed loop is one phase of `load.concurrency`.
    package static func requests(of workload: WorkloadSpec) throws
        -> (requests: [FleetSimulation.Request], load: FleetSimulation.Load) {
        if workload.sessions != nil {
            throw PlanError("plan does not simulate multi-turn sessions (their prompts grow with the answers and a "
                            + "prefix cache changes their prefill); run them with tpbench run, or plan one turn's "
                            + "load without sessions:")
        }
        if let dataset = workload.prompt.dataset {
            throw PlanError("plan needs every prompt's token count, and a dataset (\(dataset)) gives text; run it "
                            + "once with tpbench run and plan its requests.jsonl as a trace, or set prompt.tokens")
        }
        let plan = LoadPlan(workload)
        let open = plan.phases.allSatisfy { if case .open = $0.kind { true } else { false } }
        var count = plan.maxRequests
        var load: FleetSimulation.Load
        if open {
            guard count != nil || plan.durationS != nil else {
                throw PlanError("plan needs a request count: set load.requests (or --requests) or load.duration")
            }
            var generator = ArrivalGenerator(workload: workload, plan: plan)
            var arrivals: [Double] = []
            while arrivals.count < (count ?? .max), let t = generator.next() {
                arrivals.append(t)
                guard arrivals.count <= maxSimulatedRequests else {
                    throw PlanError("this workload's open loop sends more than \(maxSimulatedRequests) requests; "
                                    + "set load.requests or a shorter load.duration")
                }
            }
            count = arrivals.count
            load = .open(arrivals: arrivals, ceiling: plan.concurrencyCeiling)
        } else if plan.phases.count == 1, case .closed(let concurrency) = plan.phases[0].kind {
            load = .closed(concurrency: concurrency)
        } else {
            throw PlanError("plan simulates one closed loop (load.concurrency) or an open loop (load.rate, "
                            + "load.ramp_up or rate stages); this workload's \(plan.phases.count) load stages mix "
                            + "the two: plan each stage as its own workload")
        }
        guard let total = count, total > 0 else {
            throw PlanError("plan needs a request count: set load.requests (or --requests)")
        }
        guard total <= maxSimulatedRequests else {
            throw PlanError("plan simulates at most \(maxSimulatedRequests) requests; this workload has \(total)")
        }
        if let trace = workload.trace {
            let rows = trace.rows.prefix(total)
            return (rows.map { FleetSimulation.Request(promptTokens: $0.promptTokens, outputTokens: $0.outputTokens) },
                    load)
        }
        let prompts = workload.promptTargets(count: workload.promptPoolSize(maxRequests: plan.maxRequests))
        let requests = (0..<total).map {
            FleetSimulation.Request(promptTokens: prompts[$0 % prompts.count],
                                    outputTokens: workload.maxTokens(ofRequest: $0))
        }
        return (requests, load)
    }

    /// Why the run would leave request `o` out of its results, as `LoadRunner` decides: started in the warm-up
    /// (the first `load.warmup` requests, or before `load.warmup` seconds) or in the cool-down (the last
    /// `load.cooldown` seconds of `load.duration`); nil when measured.
    static func exclusion(of o: FleetSimulation.Outcome, workload: WorkloadSpec, durationS: Double?) -> String? {
        if o.index < workload.load.warmupRequests || o.arrival < workload.load.warmupS { return "warmup" }
        if workload.load.cooldownS > 0, let duration = durationS, o.arrival > duration - workload.load.cooldownS {
            return "cooldown"
        }
        return nil
    }

    /// The candidates the model can run, each with its engine parameters (presets, then the preset file's tuning),
    /// and a sentence for each it cannot (its weights leave no room for the KV cache, its attention heads do not
    /// split over the TP size); throws when none can.
    package static func runnable(_ setup: Setup) throws
        -> (candidates: [(candidate: Candidate, parameters: ReplicaSpec)], leftOut: [String])
    {
        var candidates: [(candidate: Candidate, parameters: ReplicaSpec)] = [], leftOut: [String] = []
        for candidate in setup.candidates {
            var parameters = ReplicaSpec(model: setup.model, gpu: setup.gpu, tensorParallel: candidate.tensorParallel,
                                         link: setup.link)
            setup.tune(&parameters)
            if let problem = parameters.validationProblem() {
                leftOut.append("\(candidate.name) left out: \(problem)")
            } else {
                candidates.append((candidate, parameters))
            }
        }
        guard !candidates.isEmpty else {
            throw PlanError("no candidate can run. " + leftOut.joined(separator: ". ")
                            + ". Choose a larger GPU, more GPUs (--gpus) or other --candidates")
        }
        return (candidates, leftOut)
    }

    /// Simulates every candidate the model can run and writes the prediction: a comparison report in `directory`
    /// and one run report per candidate beneath it; the candidates left out are named in every report's notes.
    package static func run(workload: WorkloadSpec, setup: Setup, directory: URL,
                           commandLine: [String] = CommandLine.arguments) throws -> CompareSession.Outcome {
        let (candidates, leftOut) = try runnable(setup)
        let (requests, load) = try requests(of: workload)
        let durationS = LoadPlan(workload).durationS
        let isOpen = if case .open = load { true } else { false }
        let slo = SLO(ttftMs: workload.slo.ttftMs, itlMs: workload.slo.itlMs, tpotMs: workload.slo.tpotMs,
                      e2eMs: workload.slo.e2eMs)
        let environment = ClientEnvironment(host: "tpbench plan (simulated)", cores: 0, os: "-",
                                            tpbenchVersion: TPBenchInfo.version, commandLine: commandLine)
        let startedAt = RunSession.iso8601(Date())
        var runs: [DeploymentRuns] = []
        var links: [String: String] = [:]
        let banner = label(setup)
        let ceilings = apiServerCeilings(candidates, requests: requests)
        for (candidate, parameters) in candidates {
            let outcomes = FleetSimulation(parameters: parameters, replicas: candidate.replicas, requests: requests,
                                           load: load).run()
            // A run stops sending at load.duration; the simulation's later sends are not the run's.
            let sent = outcomes.filter { $0.arrival < durationS ?? .infinity }
            let records = sent.map { o -> RequestRecord in
                let request = requests[o.index]
                let end = o.tokenTimes.last ?? o.arrival
                var record = RequestRecord(
                    id: o.index, target: candidate.name, replica: "replica-\(o.replica + 1)",
                    intendedStartMs: isOpen ? o.intended * 1000 : nil, startMs: o.arrival * 1000,
                    e2eMs: (end - o.arrival) * 1000, tokenEventOffsetsMs: o.tokenTimes.map { ($0 - o.arrival) * 1000 },
                    tokensPerEvent: o.tokenTimes.map { _ in 1 }, promptTokens: request.promptTokens,
                    outputTokens: o.tokenTimes.count, requestedPromptTokens: request.promptTokens,
                    requestedMaxTokens: request.outputTokens, finishReason: o.dropped ? nil : "length")
                record.excludedAs = exclusion(of: o, workload: workload, durationS: durationS)
                if o.dropped {
                    record.httpStatus = 400
                    record.failure = .http4xx
                    record.failureMessage = "the prompt does not fit in the KV cache"
                }
                return record
            }
            let wall = records.map(\.endMs).max().map { $0 / 1000 } ?? 0
            let description = TargetDescription(
                name: candidate.name, baseURLs: [], tensorParallel: candidate.tensorParallel, gpus: candidate.gpus,
                gpu: setup.gpu.displayName, interconnect: candidate.tensorParallel == 1 ? "none" : setup.link.name,
                costPerGPUHour: setup.costPerGPUHour,
                labels: ["source": "tpbench plan (prediction)", "replicas": String(candidate.replicas)])
            let result = RunResult.build(
                runID: "plan-\(candidate.name)", startedAt: startedAt, wallSeconds: wall, workloadName: workload.name,
                workload: workload.json, targets: [description], environment: environment, records: records,
                slo: slo.isEmpty ? nil : slo, clientHealth: nil, notes: [banner] + leftOut + (ceilings.map { [$0] } ?? []))
            let runDirectory = directory.appendingPathComponent(candidate.name, isDirectory: true)
            try FileManager.default.createDirectory(at: runDirectory, withIntermediateDirectories: true)
            try ReportWriter.write(result: result, records: records, to: runDirectory)
            runs.append(CompareSession.deploymentRuns(name: candidate.name, description: description, results: [result]))
            links[candidate.name] = "\(candidate.name)/\(ReportWriter.markdownFile)"
        }
        var comparison = Comparison.build(workloadName: workload.name, runs: runs)
        comparison.prediction = ([banner] + leftOut.map { $0 + "." } + (ceilings.map { [$0] } ?? [])).joined(separator: " ")
        if let bands = setup.calibration?.bands, !bands.isEmpty {
            for d in comparison.deployments.indices {
                for key in comparison.deployments[d].cells.keys {
                    guard let family = bandFamily(key), let band = bands[family] else { continue }
                    comparison.deployments[d].cells[key]?.band = band
                }
            }
        }
        try ComparisonReport.write(comparison, runs: runs, runLinks: links, to: directory)
        return CompareSession.Outcome(comparison: comparison, runs: runs, directory: directory)
    }

    /// `plan --published`: every published point, the model's uncalibrated figure and its error, and the median
    /// absolute error of decode-dominated figures, of TTFT and of saturating bursts.
    package static func publishedComparison() -> String {
        var table = MarkdownTable(["point", "figure", "measured", "predicted", "error"])
        let predictions = PublishedPoint.all.map { (point: $0, predicted: $0.predicted()) }
        for (point, predicted) in predictions {
            let error = predicted / point.measured - 1
            let format = point.measured < 100 ? "%.2f" : "%.1f"
            table.add([point.name + (point.isSourceOfDefault ? " (source of a default, not counted)" : ""),
                       point.figure.rawValue, String(format: format, point.measured),
                       String(format: format, predicted), String(format: "%+.1f %%", error * 100)])
        }
        let medians = PublishedPoint.medianErrors(predictions)
        func percent(_ v: Double?) -> String { v.map { String(format: "%.1f %%", $0 * 100) } ?? "n/a" }
        return table.render() + "\n\nmedian |error|: decode-dominated \(percent(medians.decode)) (\(medians.decodeCount) "
            + "points), TTFT \(percent(medians.ttft)) (\(medians.ttftCount)), saturating bursts "
            + "\(percent(medians.saturated)) (\(medians.saturatedCount)); uncalibrated presets, sources in "
            + "docs/LATENCY-MODEL.md\n"
    }
}
