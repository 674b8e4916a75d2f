import ArgumentParser
import Foundation
import Harness
import Report

struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Merge shard results (tpbench run --shard i/n) into one result and report.",
        discussion: "Example: tpbench merge results/shard-1 results/shard-2 results/shard-3 --out results/merged"
    )

    @Argument(help: "Shard run directories (or their result.json / requests.jsonl).")
    var results: [String] = []

    @Option(help: "Directory for the merged result and report.")
    var out: String

    func validate() throws {
        guard !results.isEmpty else { throw ValidationError("give the shard results to merge") }
    }

    func run() throws {
        do {
            let outcome = try MergeSession.merge(results.map { URL(fileURLWithPath: $0) },
                                                 into: URL(fileURLWithPath: out, isDirectory: true))
            for summary in outcome.result.summaries { print(SummaryTable.render(summary)) }
            for note in outcome.result.notes { print("note: \(note)") }
            print("merged report: \(out)/report.md")
        } catch {
            printError("\(error)")
            throw ExitCode(2)
        }
    }
}
