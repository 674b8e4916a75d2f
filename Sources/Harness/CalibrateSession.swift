import Foundation
import JSON
import LatencyModel
import Metrics
import Report
import Workload

/// `tpbench calibrate`: turns saved runs into replays of the latency model (same requests, same way of sending them,
/// same deployment), fits the model's free parameters to what the runs measured, and writes a preset.
package enum CalibrateSession {
    /// What a run's metadata may lack or get wrong: flags that override it for every run.
    package struct Deployment: Sendable, Equatable {
        package var model: String?
        package var gpu: String?
        package var link: String?
        package var tensorParallel: Int?
        package var replicas: Int?
        package var maxNumSeqs: Int?
        package var maxNumBatchedTokens: Int?
        package init() {}
    }

    package struct CalibrateError: Error, CustomStringConvertible {
        package var description: String
        init(_ description: String) { self.description = description }
    }

    package struct Outcome: Sendable {
        package var runs: [CalibrationRun]
        package var fit: Calibrator.Fit
        package var leaveOneOut: [Calibrator.Residual]
        package var preset: PresetFile
        /// Failed requests left out of the replays, per run.
        package var skippedFailures: [String: Int]
    }

    /// The deployment a run ran on: flags first, then the run's own metadata (the served model, the target's GPU,
    /// TP size, interconnect and `replicas` label), then tpbench's defaults for what is still unknown.
    package static func replay(_ saved: SavedRun, name: String, deployment: Deployment, base: PresetFile?) throws
        -> (run: CalibrationRun, skipped: Int) {
        let target = saved.result.targets.first
        let modelName = deployment.model ?? base?.model ?? target?.serverModels?.first
        guard let modelName else {
            throw CalibrateError("\(name): the run does not say which model it served; pass --model ("
                                 + HardwareFiles.modelChoices + ")")
        }
        let resolvedModel: ModelSpec?
        do { resolvedModel = try HardwareFiles.model(modelName) } catch { throw CalibrateError("\(error)") }
        guard let model = resolvedModel else {
            throw CalibrateError("\(name): model '\(modelName)' is not a tpbench preset or a file; pass --model with "
                                 + "one of " + HardwareFiles.modelChoices)
        }
        let gpuName = deployment.gpu ?? base?.gpu ?? target?.gpu
        let resolvedGPU: GPUSpec?
        do { resolvedGPU = try gpuName.flatMap(HardwareFiles.gpu) } catch { throw CalibrateError("\(error)") }
        guard let gpu = resolvedGPU else {
            throw CalibrateError("\(name): " + (gpuName.map { "GPU '\($0)' is not a tpbench preset or a file" }
                                               ?? "the run does not say which GPU it ran on")
                                 + "; pass --gpu with one of " + HardwareFiles.gpuChoices)
        }
        let tp = deployment.tensorParallel ?? target?.tensorParallel ?? 1
        let linkName = deployment.link ?? (tp > 1 ? target?.interconnect : nil) ?? base?.link ?? "nvlink4"
        guard let link = LinkSpec.preset(named: linkName) else {
            throw CalibrateError("\(name): interconnect '\(linkName)' is not a tpbench preset; pass --link with one of "
                                 + LinkSpec.presets.map(\.name).joined(separator: ", "))
        }
        var parameters = ReplicaSpec(model: model, gpu: gpu, tensorParallel: tp, link: link)
        base?.apply(to: &parameters)
        if let v = deployment.maxNumSeqs { parameters.maxNumSeqs = v }
        if let v = deployment.maxNumBatchedTokens { parameters.maxNumBatchedTokens = v }
        if let problem = parameters.validationProblem() { throw CalibrateError("\(name): \(problem)") }
        let replicas = deployment.replicas ?? target?.labels["replicas"].flatMap(Int.init) ?? max(1, target?.baseURLs.count ?? 1)

        let succeeded = saved.records.filter(\.succeeded).sorted { $0.startMs < $1.startMs }
        let skipped = saved.records.count - succeeded.count
        guard succeeded.count >= 2 else {
            throw CalibrateError("\(name): \(succeeded.count) successful request(s); calibration needs at least 2 "
                                 + "(pass a run directory or result.json that has its requests.jsonl beside it)")
        }
        let requests = succeeded.map {
            FleetSimulation.Request(promptTokens: $0.promptTokens ?? $0.requestedPromptTokens ?? 1,
                                    outputTokens: max(1, $0.outputTokens))
        }
        // A closed loop replays as one (the next request goes when one ends, as the client did); anything else
        // replays the measured send times.
        var load = FleetSimulation.Load.open(arrivals: succeeded.map { ($0.startMs - succeeded[0].startMs) / 1000 })
        if case .object(let workload) = saved.result.workload, case .object(let spec)? = workload["load"],
           case .number(let concurrency)? = spec["concurrency"], concurrency >= 1,
           spec["rate"] == nil || spec["rate"] == .null,
           spec["stages"] == nil || spec["stages"] == .array([]) {
            load = .closed(concurrency: Int(concurrency))
        }
        var ttft: [Double] = [], itl: [Double] = [], tpot: [Double] = [], e2e: [Double] = []
        for r in succeeded {
            guard let first = r.ttftMs else { continue }
            ttft.append(first)
            // Per token where the events say how many they carried (vLLM's stream interval), else per event.
            itl += r.tokenGapsMs ?? r.eventGapsMs
            e2e.append(r.e2eMs)
            if let t = r.tpotMs { tpot.append(t) }
        }
        let span = ((succeeded.map(\.endMs).max() ?? 0) - succeeded[0].startMs) / 1000
        let measured = CalibrationFigures(ttftMs: ttft, itlMs: itl, tpotMs: tpot, e2eMs: e2e, spanSeconds: span)
        return (CalibrationRun(name: name, parameters: parameters, replicas: replicas, requests: requests, load: load,
                               measured: measured), skipped)
    }

    /// Loads every run, fits, and builds the preset (bands from leave-one-out errors when there are two runs or more).
    package static func calibrate(paths: [String], deployment: Deployment, free: [FreeParameter],
                                 base: PresetFile? = nil, leaveOneOut: Bool = true) throws -> Outcome {
        var runs: [CalibrationRun] = []
        var skipped: [String: Int] = [:]
        for path in paths {
            let saved: SavedRun
            do { saved = try SavedRun.load(path: URL(fileURLWithPath: path)) } catch { throw CalibrateError("\(error)") }
            let (run, failures) = try replay(saved, name: path, deployment: deployment, base: base)
            runs.append(run)
            if failures > 0 { skipped[path] = failures }
        }
        guard let first = runs.first else { throw CalibrateError("calibrate needs at least one run") }
        for run in runs.dropFirst() where run.parameters.model != first.parameters.model
            || run.parameters.gpu != first.parameters.gpu {
            throw CalibrateError("\(run.name) ran \(run.parameters.model.name) on \(run.parameters.gpu.name) but "
                                 + "\(first.name) ran \(first.parameters.model.name) on \(first.parameters.gpu.name): "
                                 + "one preset is for one model on one GPU; calibrate each pair separately")
        }
        let calibrator = Calibrator(runs: runs, free: free)
        let fit = calibrator.fit()
        let loo = leaveOneOut ? calibrator.leaveOneOut() : []
        var values: [FreeParameter: Double] = [:]
        let linkRun = runs.first { $0.parameters.tensorParallel > 1 } ?? first
        // A parameter the runs left undetermined keeps its preset value: the fit's is only where the weak pull left
        // it (for a free API-server cost that no run queued for, a nominal 5 ms would become a ceiling in every plan).
        let determined = fit.free.enumerated().filter { fit.relativeStandardErrors[$0.offset] != nil }.map(\.element)
        for p in FreeParameter.allCases {
            values[p] = (determined.contains(p) ? fit.value(of: p) : nil) ?? p.value(in: linkRun.parameters)
        }
        let preset = PresetFile(
            model: first.parameters.model.name, gpu: first.parameters.gpu.name, link: linkRun.parameters.link.name,
            values: values, fitted: determined, maxNumSeqs: deployment.maxNumSeqs,
            maxNumBatchedTokens: deployment.maxNumBatchedTokens,
            bands: Calibrator.bands(loo.isEmpty ? fit.residuals : loo), runs: paths,
            leaveOneOutMedianError: Calibrator.median(loo.map { abs($0.relativeError) }))
        return Outcome(runs: runs, fit: fit, leaveOneOut: loo, preset: preset, skippedFailures: skipped)
    }

    /// The fit as JSON (`calibrate --json`): parameters with standard errors, residuals, leave-one-out, bands.
    package static func json(_ outcome: Outcome, presetPath: String) -> String {
        func residual(_ r: Calibrator.Residual) -> JSONValue {
            .object(JSONObject([("run", .string(r.run)), ("figure", .string(r.figure)), ("measured", .number(r.measured)),
                                ("predicted", .number(r.predicted)), ("relative_error", .number(r.relativeError))]))
        }
        let parameters = outcome.fit.free.enumerated().map { k, p -> JSONValue in
            .object(JSONObject([("name", .string(p.name)), ("value", .number(outcome.fit.values[k])),
                                ("relative_standard_error",
                                 outcome.fit.relativeStandardErrors[k].map(JSONValue.number) ?? .null)]))
        }
        let bands = JSONObject(outcome.preset.bands.keys.sorted().map { ($0, .number(outcome.preset.bands[$0]!)) })
        let root = JSONValue.object(JSONObject([
            ("preset", .string(presetPath)), ("model", .string(outcome.preset.model)),
            ("gpu", .string(outcome.preset.gpu)), ("iterations", .number(Double(outcome.fit.iterations))),
            ("rms_log_error", .number(outcome.fit.rms)), ("parameters", .array(parameters)),
            ("residuals", .array(outcome.fit.residuals.map(residual))),
            ("leave_one_out", .array(outcome.leaveOneOut.map(residual))), ("bands", .object(bands)),
            ("leave_one_out_median_error", outcome.preset.leaveOneOutMedianError.map(JSONValue.number) ?? .null),
        ]))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return (try? encoder.encode(root)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    /// The tables `calibrate` prints: fitted parameters with their standard errors, residuals per figure, and the
    /// leave-one-out errors.
    package static func render(_ outcome: Outcome) -> String {
        func pct(_ v: Double) -> String { String(format: "%+.1f %%", v * 100) }
        var out = "Fitted on \(outcome.runs.count) run(s) of \(outcome.preset.model) on \(outcome.preset.gpu) "
            + "(\(outcome.fit.iterations) iterations, rms log error \(String(format: "%.4f", outcome.fit.rms)))\n\n"
        out += "| parameter | value | ± 1σ |\n|---|---:|---:|\n"
        for (k, p) in outcome.fit.free.enumerated() {
            let se = outcome.fit.relativeStandardErrors[k].map { String(format: "%.1f %%", $0 * 100) }
                ?? "undetermined: the preset keeps \(String(format: "%.4g", outcome.preset.values[p] ?? .nan))"
            out += "| \(p.name) | \(String(format: "%.4g", outcome.fit.values[k])) | \(se) |\n"
        }
        out += "\n| run | figure | measured | fitted | error |\n|---|---|---:|---:|---:|\n"
        for r in outcome.fit.residuals {
            out += "| \(r.run) | \(r.figure) | \(String(format: "%.4g", r.measured)) | "
                + "\(String(format: "%.4g", r.predicted)) | \(pct(r.relativeError)) |\n"
        }
        if !outcome.leaveOneOut.isEmpty {
            out += "\nLeave-one-out (each run predicted by a fit to the others):\n\n"
            out += "| run | figure | measured | predicted | error |\n|---|---|---:|---:|---:|\n"
            for r in outcome.leaveOneOut {
                out += "| \(r.run) | \(r.figure) | \(String(format: "%.4g", r.measured)) | "
                    + "\(String(format: "%.4g", r.predicted)) | \(pct(r.relativeError)) |\n"
            }
            if let median = outcome.preset.leaveOneOutMedianError {
                out += "\nmedian |leave-one-out error|: \(String(format: "%.1f %%", median * 100))\n"
            }
        }
        for (run, n) in outcome.skippedFailures.sorted(by: { $0.key < $1.key }) {
            out += "\nnote: \(run): \(n) failed request(s) left out of the replay\n"
        }
        return out
    }
}
