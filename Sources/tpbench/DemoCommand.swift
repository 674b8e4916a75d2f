import ArgumentParser
import Foundation
import Harness
import Workload

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "The TP=4 vs TP=1 experiment, offline: built-in mock deployments, the seed workload, a comparison.",
        discussion: """
            Starts simulated Qwen3-30B-A3B deployments on H200 (TP=1, TP=4 over a degraded PCIe path, TP=4 over \
            NVLink) on free loopback ports, runs Workloads/seed-structured-output.yaml against each (one burst of \
            100 requests; --full runs the whole workload) and writes the comparison report.
            """
    )

    @Option(help: "Workload file (default: Workloads/seed-structured-output.yaml, or the built-in copy).")
    var workload: String?

    @Flag(help: "Run the workload at its full size instead of one burst.")
    var full = false

    @Option(help: "Price per GPU-hour used for the cost columns.")
    var costPerGPUHour: Double = Demo.defaultCostPerGPUHour

    @Option(help: "Report directory (default: Reports/<UTC timestamp>-demo).")
    var out: String?

    @Flag(help: "No progress messages.")
    var quiet = false

    func run() async throws {
        let spec: WorkloadSpec
        do {
            spec = try SeedWorkload.load(path: workload)
        } catch {
            printError("\(error)")
            throw ExitCode(2)
        }
        let directory = outputDirectory(out, workloadName: "demo")
        let quiet = self.quiet
        let interrupts = InterruptHandler()
        var options = RunSession.Options(onStart: { interrupts.watch($0) })
        options.keepRecords = false
        do {
            let outcome = try await Demo.run(
                workload: spec, full: full, costPerGPUHour: costPerGPUHour, directory: directory, options: options,
                announce: { if !quiet { FileHandle.standardError.write(Data("\($0)\n".utf8)) } })
            printComparison(outcome)
        } catch {
            printError("\(error)")
            throw ExitCode(1)
        }
    }
}
