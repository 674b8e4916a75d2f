import ArgumentParser
import Foundation
import Harness
import LoadGen
import Report
import Workload

struct SweepCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Throughput–latency curves: a workload at several concurrencies (or rates) per deployment.",
        discussion: """
            Example: tpbench sweep --workload Workloads/chat-short.yaml --deployments D.yaml \
            --concurrency-levels 1,4,16,64,100,128,256
            Reports each deployment's curve, its knee (most throughput with TTFT p95 under the SLO) and where one \
            deployment overtakes another; a deployment stops early once it is clearly saturated.
            """
    )

    @Option(help: "Workload file (YAML or JSON); its load section is replaced by each level.")
    var workload: String?

    @Option(help: "Deployments file (YAML).")
    var deployments: String?

    @Option(help: "A deployment as NAME=URL[,URL...] (repeatable).")
    var target: [String] = []

    @Option(help: "Closed-loop levels, comma-separated, e.g. 1,4,16,64.")
    var concurrencyLevels: String?

    @Option(help: "Open-loop levels in req/s, comma-separated, e.g. 1,2,4,8.")
    var rates: String?

    @Option(help: "Requests per closed-loop level (at least 2x the concurrency).")
    var requestsPerLevel: Int = 50

    @Option(help: "Seconds per open-loop level.")
    var secondsPerLevel: Double = 30

    @Option(help: "TTFT p95 objective (ms) for the knee (default: the workload's slo.ttft_ms).")
    var ttftP95Slo: Double?

    @Option(help: "Report directory (default: Reports/<UTC timestamp>-sweep-<workload name>).")
    var out: String?

    @OptionGroup var overrides: WorkloadOverrides
    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
        guard deployments != nil || !target.isEmpty else {
            throw ValidationError("give --deployments FILE or --target NAME=URL")
        }
        guard (concurrencyLevels == nil) != (rates == nil) else {
            throw ValidationError("give exactly one of --concurrency-levels or --rates")
        }
        _ = try levels()
        try checkRange { try Limits.check("--requests-per-level", requestsPerLevel, in: Limits.requests) }
        try checkRange { try Limits.check("--seconds-per-level", secondsPerLevel, in: Limits.durationS, unit: " s") }
        try connection.validate()
    }

    func levels() throws -> [Double] {
        let text = concurrencyLevels ?? rates ?? ""
        let values = text.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        let range = concurrencyLevels != nil ? Double(Limits.concurrency.lowerBound)...Double(Limits.concurrency.upperBound)
            : Limits.rate
        guard !values.isEmpty, values.allSatisfy({ $0.map { range.contains($0) } ?? false }) else {
            throw ValidationError("levels must be numbers in \(Limits.describe(range.lowerBound))..."
                                  + "\(Limits.describe(range.upperBound)) separated by commas, got '\(text)'")
        }
        return values.compactMap { $0 }
    }

    func run() async throws {
        var list: [DeploymentSpec] = []
        var spec = WorkloadSpec()
        do {
            if let deployments { list += try DeploymentLoader.load(path: deployments) }
            list += try target.map(DeploymentSpec.parseTarget)
            if let workload { spec = try WorkloadLoader.load(path: workload) }
            var probe = spec
            probe.load.requests = probe.load.requests ?? 1
            try overrides.apply(to: &probe)
            spec.model = connection.model ?? probe.model
            spec.api = probe.api
            spec.prompt = probe.prompt
            spec.output = probe.output
            spec.seed = probe.seed
            spec.extraBody = probe.extraBody
            connection.apply(to: &spec.timeouts)
        } catch {
            printError("\(error)")
            throw ExitCode(2)
        }
        let settings = SweepSession.Settings(
            dimension: concurrencyLevels != nil ? .concurrency : .rate, levels: try levels(),
            requestsPerLevel: requestsPerLevel, secondsPerLevel: secondsPerLevel, ttftP95SLOMs: ttftP95Slo)
        let directory = outputDirectory(out, workloadName: "sweep-" + spec.name)
        let interrupts = InterruptHandler()
        var options = RunSession.Options(settings: connection.settings(), onStart: { interrupts.watch($0) })
        options.keepRecords = false
        do {
            let sweep = try await SweepSession.run(
                workload: spec, deployments: list, settings: settings, directory: directory, options: options,
                announce: { FileHandle.standardError.write(Data("\($0)\n".utf8)) })
            for finding in sweep.findings { print("• \(finding)") }
            print("sweep report: \(directory.path)/sweep.md")
        } catch {
            printError("\(error)")
            throw ExitCode(error is TargetUnreachable ? 3 : 1)
        }
    }
}
