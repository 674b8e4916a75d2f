import ArgumentParser
import Foundation
import Harness
import LatencyModel
import Workload

struct CalibrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calibrate",
        abstract: "Fit the latency model to your own runs and write a preset for `mock --preset` and `plan --preset`.",
        discussion: """
            Replays each run in the latency model (the same requests, sent the same way: a closed loop as a closed \
            loop, anything else at the measured send times), fits the free parameters by least squares on the \
            log ratio of predicted to measured TTFT p50/p90, TPOT p50/p90, E2E p50 and req/s, and prints the \
            fitted values with standard errors, the residual of every figure and a leave-one-out error (each run \
            predicted by a fit to the others). The model, GPU, TP size, interconnect and replica count come from \
            each run's metadata (the served model, the deployment's gpu/tensor_parallel/interconnect and a \
            `replicas` label); flags override them for every run. Runs at different TP sizes separate the TP sync \
            cost from the all-reduce latency; runs with small and large batches separate bandwidth from the fixed \
            per-step cost. Example: tpbench calibrate Reports/tp1 Reports/tp2 --model llama-3.1-8b --gpu h100 \
            --out llama-h100.yaml
            """
    )

    @Argument(help: "Run directories or result.json files (with their requests.jsonl).") var runs: [String]
    @Option(help: "Model preset or Hugging Face config.json the runs served (default: the runs' served model).") var model: String?
    @Option(help: "GPU preset or device YAML file the runs ran on (default: the runs' deployment gpu).") var gpu: String?
    @Option(help: "Interconnect preset of the TP runs (default: their deployment interconnect, else nvlink4).")
    var link: String?
    @Option(help: "Tensor-parallel size of every run (default: each run's deployment tensor_parallel, else 1).")
    var tp: Int?
    @Option(help: "Replicas behind the balancer (default: each run's replicas label or URL count).") var replicas: Int?
    @Option(help: "The server's max_num_seqs (default: vLLM's for the GPU).") var maxNumSeqs: Int?
    @Option(help: "The server's max_num_batched_tokens (default: vLLM's for the GPU).") var maxNumBatchedTokens: Int?
    @Option(help: ArgumentHelp("Parameters to fit (default: \(FreeParameter.standard.map(\.name).joined(separator: ","))); "
                               + "all: \(FreeParameter.allCases.map(\.name).joined(separator: ",")).", valueName: "list"))
    var fit: String?
    @Option(help: ArgumentHelp("Start from this preset instead of tpbench's defaults.", valueName: "file"))
    var preset: String?
    @Flag(help: "Skip the leave-one-out predictions (one extra fit per run).") var noLeaveOneOut = false
    @Option(help: "Where to write the preset (default: Reports/<UTC timestamp>-calibrate/preset.yaml).") var out: String?
    @Flag(help: "Print the fit as JSON instead of tables.") var json = false

    func parameters() throws -> [FreeParameter] {
        guard let fit else { return FreeParameter.standard }
        return try fit.split(separator: ",").map { item in
            let name = item.trimmingCharacters(in: .whitespaces).lowercased()
            guard let p = FreeParameter(rawValue: name) else {
                throw ValidationError("--fit: '\(name)' is not a free parameter; use a comma-separated list of "
                                      + FreeParameter.allCases.map(\.name).joined(separator: ", "))
            }
            return p
        }
    }

    func validate() throws {
        guard !runs.isEmpty else { throw ValidationError("calibrate needs at least one run directory or result.json") }
        _ = try parameters()
        if let tp, !(1...1024).contains(tp) { throw ValidationError("--tp must be in 1...1024, got \(tp)") }
        if let replicas, !(1...1024).contains(replicas) {
            throw ValidationError("--replicas must be in 1...1024, got \(replicas)")
        }
        if let v = maxNumSeqs, !(1...1_048_576).contains(v) {
            throw ValidationError("--max-num-seqs must be in 1...1048576, got \(v)")
        }
        if let v = maxNumBatchedTokens, !(1...16_777_216).contains(v) {
            throw ValidationError("--max-num-batched-tokens must be in 1...16777216, got \(v)")
        }
        // A model or GPU may also be a file (read, with its own errors, when the runs are replayed).
        let exists = { (path: String) in FileManager.default.fileExists(atPath: path) }
        let checks: [(flag: String, value: String?, known: Bool, problem: String)] = [
            ("--model", model, model.map { ModelSpec.preset(named: $0) != nil || exists($0) } ?? true,
             "is not a known preset or a file; use one of " + HardwareFiles.modelChoices),
            ("--gpu", gpu, gpu.map { GPUSpec.preset(named: $0) != nil || exists($0) } ?? true,
             "is not a known preset or a file; use one of " + HardwareFiles.gpuChoices),
            ("--link", link, link.map { LinkSpec.preset(named: $0) != nil } ?? true,
             "is not a known preset; use one of " + LinkSpec.presets.map(\.name).joined(separator: ", ")),
        ]
        for check in checks where !check.known {
            throw ValidationError("\(check.flag) \(check.value ?? "") \(check.problem)")
        }
    }

    func run() throws {
        var deployment = CalibrateSession.Deployment()
        deployment.model = model
        deployment.gpu = gpu
        deployment.link = link
        deployment.tensorParallel = tp
        deployment.replicas = replicas
        deployment.maxNumSeqs = maxNumSeqs
        deployment.maxNumBatchedTokens = maxNumBatchedTokens
        var base: PresetFile?
        if let preset {
            do { base = try PresetFileLoader.load(path: preset) } catch {
                printError("\(error)")
                throw ExitCode(2)
            }
        }
        let outcome: CalibrateSession.Outcome
        do {
            outcome = try CalibrateSession.calibrate(paths: runs, deployment: deployment, free: try parameters(),
                                                     base: base, leaveOneOut: !noLeaveOneOut)
        } catch let error as CalibrateSession.CalibrateError {
            printError("\(error)")
            throw ExitCode(2)
        }
        let file = out.map { URL(fileURLWithPath: $0) }
            ?? outputDirectory(nil, workloadName: "calibrate").appendingPathComponent("preset.yaml")
        do {
            try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(outcome.preset.yaml().utf8).write(to: file, options: .atomic)
        } catch {
            printError("cannot write the preset to \(file.path): \(error.localizedDescription); choose another --out")
            throw ExitCode(1)
        }
        if json {
            print(CalibrateSession.json(outcome, presetPath: file.path))
        } else {
            print(CalibrateSession.render(outcome))
            print("preset: \(file.path)  (use: tpbench plan --preset \(file.path) ... or tpbench mock --preset \(file.path))")
        }
    }
}
