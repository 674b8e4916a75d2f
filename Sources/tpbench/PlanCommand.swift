import ArgumentParser
import Foundation
import Harness
import LatencyModel
import Report
import Workload

struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Predict deployments you have not rented: each TP × replicas split of a GPU budget, simulated on a workload.",
        discussion: """
            Runs the latency model's vLLM scheduler simulation (the mock's, without HTTP or a clock) for every \
            candidate on the workload and writes the same comparison report as `compare`, labelled as a prediction. \
            Candidates default to every power-of-two TP size that divides --gpus.
            Example: tpbench plan --model qwen3-30b-a3b --gpu h200 --gpus 4 --link pcie-degraded \
            --workload Workloads/seed-structured-output.yaml
            """
    )

    @Option(help: "Model: \(HardwareFiles.modelChoices) (default: the --preset file's, else qwen3-30b-a3b).")
    var model: String?
    @Option(help: "GPU: \(HardwareFiles.gpuChoices) (default: the --preset file's, else h200).")
    var gpu: String?
    @Option(help: "GPUs to split between the candidates (the budget).") var gpus = 4
    @Option(help: "Interconnect between a replica's GPUs: \(LinkSpec.presets.map(\.name).joined(separator: ", ")) (default: the --preset file's, else nvlink4).")
    var link: String?
    @Option(help: ArgumentHelp("A calibrated preset (`tpbench calibrate` writes one): its parameters, and its residuals as ± bands.",
                               valueName: "file"))
    var preset: String?
    @Option(help: ArgumentHelp("Candidates, e.g. tp1x4,tp2x2,tp4x1 (TP size x replicas).", valueName: "list"))
    var candidates: String?
    @Option(help: "Workload file (default: Workloads/seed-structured-output.yaml, or the built-in copy).")
    var workload: String?
    @OptionGroup var overrides: WorkloadOverrides
    @Option(help: "Price per GPU-hour for the cost columns.") var costPerGPUHour: Double?
    @Option(help: "Report directory (default: Reports/<UTC timestamp>-plan-<workload>).") var out: String?
    @Flag(help: "Print the comparison as JSON instead of the table.") var json = false
    @Flag(help: "Compare the uncalibrated presets with published vLLM measurements (docs/LATENCY-MODEL.md) and exit.")
    var published = false

    func validate() throws {
        _ = try HardwareSelection.resolve(model: model, gpu: gpu, link: link, presetPath: preset)
        guard (1...1024).contains(gpus) else { throw ValidationError("--gpus must be in 1...1024, got \(gpus)") }
        if let costPerGPUHour, !(costPerGPUHour >= 0 && costPerGPUHour < 1e6) {
            throw ValidationError("--cost-per-gpu-hour must be in 0..<1000000, got \(costPerGPUHour)")
        }
        if let candidates {
            do { _ = try PlanSession.Candidate.parse(candidates) } catch { throw ValidationError("\(error)") }
        }
        try overrides.validate()
    }

    func run() throws {
        if published {
            print(PlanSession.publishedComparison())
            return
        }
        var spec: WorkloadSpec
        do {
            spec = try SeedWorkload.load(path: workload)
            try overrides.apply(to: &spec)
        } catch {
            printError("\(error)")
            throw ExitCode(2)
        }
        let list = try candidates.map(PlanSession.Candidate.parse) ?? PlanSession.Candidate.splits(of: gpus)
        let hardware = try HardwareSelection.resolve(model: model, gpu: gpu, link: link, presetPath: preset)
        var setup = PlanSession.Setup(model: hardware.model, gpu: hardware.gpu, link: hardware.link, candidates: list,
                                      costPerGPUHour: costPerGPUHour)
        if let preset = hardware.preset {
            setup.tune = { preset.apply(to: &$0) }
            setup.calibration = PlanSession.CalibrationInfo(
                source: self.preset ?? "", bands: preset.bands,
                tensorParallelFitted: preset.fitted.contains { $0.needsTensorParallel })
        }
        let directory = outputDirectory(out, workloadName: "plan-" + spec.name)
        let outcome: CompareSession.Outcome
        do {
            for note in try PlanSession.runnable(setup).leftOut {
                FileHandle.standardError.write(Data("note: \(note)\n".utf8))
            }
            outcome = try PlanSession.run(workload: spec, setup: setup, directory: directory)
        } catch let error as PlanSession.PlanError {
            printError("\(error)")
            throw ExitCode(2)
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(outcome.comparison), as: UTF8.self))
        } else {
            print("prediction (not a measurement): \(setup.model.name) on \(setup.gpu.displayName), link \(setup.link.name)\n")
            printComparison(outcome)
        }
    }
}
