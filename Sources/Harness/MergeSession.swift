import Foundation
import Metrics
import Report

/// Merges the results of shards of one workload (`tpbench run --shard i/n`) into one result and report.
/// Records are the source of truth: every figure is recomputed from the union of the shards' records on a common
/// timeline, which for histograms is exactly HdrHistogram addition (checked). Each shard's client health is kept.
package enum MergeSession {
    package struct ShardSummary: Sendable, Codable, Equatable {
        package var path: String
        package var shard: String?
        package var requests: Int
        package var clientHealth: ClientHealth?
        package var offsetMs: Double
    }

    package struct Outcome: Sendable {
        package var result: RunResult
        package var records: [RequestRecord]
        package var shards: [ShardSummary]
    }

    package struct MergeError: Error, Sendable, CustomStringConvertible {
        package var message: String
        package var description: String { "tpbench merge: \(message)" }
    }

    package static func merge(_ paths: [URL], into directory: URL) throws -> Outcome {
        guard !paths.isEmpty else { throw MergeError(message: "give the shard run directories or result.json files") }
        let runs = try paths.map { try SavedRun.load(path: $0) }
        let names = Set(runs.map(\.result.workloadName))
        guard names.count == 1 else {
            throw MergeError(message: "the results come from different workloads (\(names.sorted().joined(separator: ", ")))")
        }
        // Shards started at (nearly) the same moment; align their timelines on the wall clock anyway.
        let epochs = runs.map { run in run.result.targets.first?.labels["epoch_unix_ms"].flatMap(Double.init) }
        let origin = epochs.compactMap { $0 }.min()
        var records: [RequestRecord] = []
        var shards: [ShardSummary] = []
        var seen = Set<String>()
        for (run, epoch) in zip(runs, epochs) {
            let offset = origin.flatMap { o in epoch.map { $0 - o } } ?? 0
            for var record in run.records {
                let key = "\(record.target)#\(record.id)"
                guard seen.insert(key).inserted else {
                    throw MergeError(message: "request \(record.id) of \(record.target) appears in two inputs: "
                                     + "the same shard twice, or runs that were not shards of one workload")
                }
                record.startMs += offset
                record.intendedStartMs = record.intendedStartMs.map { $0 + offset }
                records.append(record)
            }
            shards.append(ShardSummary(path: run.directory.path, shard: run.result.targets.first?.labels["shard"],
                                       requests: run.records.count, clientHealth: run.result.clientHealth,
                                       offsetMs: offset))
        }
        records.sort { $0.id < $1.id }
        let first = runs[0].result
        let targets = first.targets.map { target -> TargetDescription in
            var target = target
            target.labels["shard"] = nil
            target.labels["epoch_unix_ms"] = origin.map { String(format: "%.3f", $0) }
            return target
        }
        var notes = ["merged from \(runs.count) shard results: " + shards.map { ($0.shard ?? "?") + " (\($0.requests) requests)" }
            .joined(separator: ", ")]
        for shard in shards {
            for warning in shard.clientHealth?.warnings ?? [] { notes.append("shard \(shard.shard ?? "?"): \(warning)") }
        }
        let result = RunResult.build(
            runID: directory.lastPathComponent, startedAt: runs.map(\.result.startedAt).min() ?? first.startedAt,
            wallSeconds: runs.map(\.result.wallSeconds).max() ?? 0, workloadName: first.workloadName,
            workload: first.workload, targets: targets, environment: first.environment, records: records,
            slo: first.summaries.first?.slo, clientHealth: nil, notes: notes)
        try checkHistograms(merged: result, runs: runs)
        try ReportWriter.write(result: result, records: records, to: directory)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try encoder.encode(shards).write(to: directory.appendingPathComponent("shards.json"))
        return Outcome(result: result, records: records, shards: shards)
    }

    /// Nothing lost or added: each shard's records rebuild the histograms its result.json holds (what the shard
    /// measured while it ran; a shard killed before writing it has only its records), and the merged histograms
    /// are the sum of the shards', bucket by bucket.
    static func checkHistograms(merged: RunResult, runs: [SavedRun]) throws {
        for run in runs {
            guard let saved = run.savedHistograms else { continue }
            for (target, metrics) in saved {
                for (metric, histogram) in metrics where run.result.histograms[target]?[metric] != histogram {
                    let rebuilt = run.result.histograms[target]?[metric]?.count ?? 0
                    throw MergeError(message: "\(run.directory.path): the \(metric) histogram of \(target) in "
                                     + "result.json (\(histogram.count) values) does not match what requests.jsonl "
                                     + "rebuilds (\(rebuilt) values); was requests.jsonl edited, cut or replaced? "
                                     + "Merge the run's original files")
                }
            }
        }
        for (target, metrics) in merged.histograms {
            for (metric, histogram) in metrics {
                var sum = LatencyHistogram()
                for run in runs { if let h = run.result.histograms[target]?[metric] { sum.merge(h) } }
                guard sum == histogram else {
                    throw MergeError(message: "the merged \(metric) histogram of \(target) (\(histogram.count) values) "
                                     + "does not equal the sum of the shards' (\(sum.count) values)")
                }
            }
        }
    }
}
