import ArgumentParser
import Foundation
import Report

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Re-render a run's report files from its saved results.",
        discussion: """
            PATH is a run directory (requests.jsonl with manifest.json or result.json), a result.json, or a bare \
            requests.jsonl, e.g. one left by a run that was killed. Writes result.json, requests.csv, summary.csv, \
            report.md and charts/*.svg, recomputing every figure from the request records when they are present.
            Example: tpbench report Reports/20250101T120000Z-seed-structured-output
            """
    )

    @Argument(help: "Run directory, result.json or requests.jsonl.")
    var path: String

    @Option(help: "Directory for the report files (default: the run directory).")
    var out: String?

    func run() throws {
        do {
            let saved = try SavedRun.load(path: URL(fileURLWithPath: path))
            let directory = out.map { URL(fileURLWithPath: $0, isDirectory: true) } ?? saved.directory
            try ReportWriter.write(result: saved.result, records: saved.records, to: directory)
            if saved.skippedLines > 0 {
                printError("warning: skipped \(saved.skippedLines) truncated line(s) at the end of requests.jsonl")
            }
            print("wrote \(directory.appendingPathComponent(ReportWriter.markdownFile).path) "
                  + "(\(saved.records.count) requests)")
        } catch let error as ReportError {
            printError("\(error)")
            throw ExitCode(2)
        }
    }
}
