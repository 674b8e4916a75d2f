import Curl
import Foundation
import LoadGen
import Metrics
import Workload

/// `tpbench selfbench --ground-truth`: the client's own timing error against `GroundTruthServer`, whose events carry
/// the time they were sent. For every token event: error = the client's receive stamp − the server's send time
/// (same clock); the server's lateness (send − schedule) is reported beside it, so "ITL p99 − ITL" can be read as
/// server lateness plus client error.
package enum GroundTruthBench {
    package struct Measurement: Sendable, Codable, Equatable {
        package var streams: Int
        package var requests: Int
        package var tokens: Int
        package var ttftMs: Double
        package var itlMs: Double
        package var failures: Int
        /// Events whose send time could not be paired with a receive stamp (text and events disagree).
        package var unpaired: Int
        package var events: Int
        package var measuredTTFTp50Ms: Double
        /// Hand-off to libcurl → the response head (sent the moment the request was read): connect and request time.
        package var firstByteP50Ms: Double
        package var measuredITLp50Ms: Double
        package var measuredITLp99Ms: Double
        package var serverLatenessP50Ms: Double
        package var serverLatenessP99Ms: Double
        /// Receive stamp − send time, per token event (kernel delivery on loopback included).
        package var clientErrorP50Ms: Double
        package var clientErrorP99Ms: Double
        package var clientErrorMaxMs: Double
        /// The client's own "timestamps uncertain by" figure for the run (p99 over its buffers' stamps).
        package var reportedUncertaintyP99Ms: Double
        /// Share of the run the loop threads waited for a CPU (mean over loops; nil where unknown).
        package var loopRunQueueWaitShare: Double?
        /// Where the run's receive stamps came from, the share stamped with the kernel's time, and how long data
        /// waited in the kernel before the client's loop woke for it (p99).
        package var receiveTimes: ReceiveTimeSource = .kernel
        package var kernelStampedShare: Double?
        package var readWaitP99Ms: Double?
        /// ITL p99 − ITL − server lateness p99: the client's share of the ITL tail (goal ≤ 0.5 ms).
        package var itlTailExcessMs: Double { measuredITLp99Ms - itlMs - serverLatenessP99Ms }
    }

    /// Runs `requests` requests (at most `streams` in flight) of `tokens` events against a fresh ground-truth server.
    package static func measure(streams: Int, requests: Int, tokens: Int, ttftMs: Double, itlMs: Double,
                               loops: Int = 1, connectRate: Double = 2000, receiveTimes: ReceiveTimeSource = .kernel,
                               pinServer: Bool = true) async throws -> Measurement {
        // On a machine of 2+ cores the server keeps to the last one, so "client error" is the client's, not the two
        // fighting for a core (scripts/vllm/agreement.py pins its servers for the same reason).
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let server = try GroundTruthServer(schedule: .init(ttftNs: UInt64(ttftMs * 1e6), itlNs: UInt64(itlMs * 1e6),
                                                           tokens: tokens),
                                           pinToCPU: pinServer && cores >= 2 ? Int32(cores - 1) : nil)
        var spec = WorkloadSpec()
        spec.name = "ground-truth"
        spec.model = "ground-truth"
        spec.load.concurrency = streams
        spec.load.requests = requests
        spec.prompt.tokens = .fixed(8)
        spec.prompt.calibrate = false
        spec.output.maxTokens = .fixed(tokens)
        let expectedSeconds = (ttftMs + itlMs * Double(tokens)) / 1000 * Double((requests + streams - 1) / streams)
        spec.timeouts = TimeoutSpec(connectS: 10, firstTokenS: 60, idleS: 30, totalS: max(60, expectedSeconds * 4))
        var settings = RequestSettings(keepOutputText: true)  // the send times travel in the text
        settings.connectRate = connectRate
        settings.receiveTimes = receiveTimes
        let output: RunOutput
        do {
            output = try await Benchmark.run(workload: spec, target: Target(name: "ground-truth", baseURLs: [server.baseURL]),
                                             settings: settings, loopCount: loops)
        } catch {
            _ = server.stop()
            throw error
        }
        let lateness = server.stop().sorted()
        var errors: [Int64] = []
        errors.reserveCapacity(requests * tokens)
        var unpaired = 0
        for record in output.records where record.succeeded {
            let sent = (record.outputText ?? "").split(separator: " ").compactMap { UInt64($0) }
            guard sent.count == record.tokenEventOffsetsMs.count else {
                unpaired += max(sent.count, record.tokenEventOffsetsMs.count)
                continue
            }
            for (offset, sentAt) in zip(record.tokenEventOffsetsMs, sent) {
                let stamp = Double(output.epochNs) + (record.startMs + offset) * 1e6
                errors.append(Int64(stamp.rounded()) - Int64(sentAt))
            }
        }
        errors.sort()
        func quantile<T: BinaryInteger>(_ sorted: [T], _ q: Double) -> Double {
            guard !sorted.isEmpty else { return .nan }
            return Double(sorted[min(sorted.count - 1, Int((Double(sorted.count) * q).rounded(.up)) - 1)]) / 1e6
        }
        var stamps = MultiLoopStatistics()
        for stats in output.loopStatistics { stamps.mergeStamps(stats) }
        return Measurement(
            streams: streams, requests: requests, tokens: tokens, ttftMs: ttftMs, itlMs: itlMs,
            failures: output.records.filter { !$0.succeeded }.count, unpaired: unpaired, events: errors.count,
            measuredTTFTp50Ms: output.summary.ttftMs?.p50 ?? .nan,
            firstByteP50Ms: median(output.records.compactMap(\.firstByteMs)),
            measuredITLp50Ms: output.summary.itlEventMs?.p50 ?? .nan,
            measuredITLp99Ms: output.summary.itlEventMs?.p99 ?? .nan,
            serverLatenessP50Ms: quantile(lateness, 0.5), serverLatenessP99Ms: quantile(lateness, 0.99),
            clientErrorP50Ms: errors.isEmpty ? .nan : Double(errors[errors.count / 2]) / 1e6,
            clientErrorP99Ms: errors.isEmpty ? .nan : Double(errors[min(errors.count - 1, errors.count * 99 / 100)]) / 1e6,
            clientErrorMaxMs: errors.last.map { Double($0) / 1e6 } ?? .nan,
            reportedUncertaintyP99Ms: stamps.timestampUncertaintyMicros(quantile: 0.99) / 1000,
            loopRunQueueWaitShare: runQueueShare(output), receiveTimes: receiveTimes,
            kernelStampedShare: stamps.kernelStampedShare,
            readWaitP99Ms: stamps.readWaitMicros(quantile: 0.99).map { $0 / 1000 })
    }

    static func runQueueShare(_ output: RunOutput) -> Double? {
        let waits = output.loopStatistics.compactMap(\.runQueueWaitNanoseconds)
        guard !waits.isEmpty, output.wallSeconds > 0 else { return nil }
        return Double(waits.reduce(0, +)) / Double(waits.count) / (output.wallSeconds * 1e9)
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.isEmpty ? .nan : sorted[sorted.count / 2]
    }

    /// Medians of `runs` with [min–max], one row per stream count.
    package static func render(_ runs: [[Measurement]]) -> String {
        var lines = ["| streams | receive time (kernel share) | requests | TTFT p50 (sched) | first byte p50 | ITL p50 / p99 (sched) | server lateness p50 / p99 "
                     + "| client error p50 / p99 / max | ITL p99 − ITL − lateness p99 | reported uncertainty p99 "
                     + "| data waited in the kernel p99 | loop waiting for a CPU |",
                     "|---:|---|---:|---|---|---|---|---|---|---|---|---|"]
        for group in runs where !group.isEmpty {
            func cell(_ values: [Double], digits: Int = 2) -> String {
                let sorted = values.filter(\.isFinite).sorted()
                guard let low = sorted.first, let high = sorted.last else { return "n/a" }
                let f = "%.\(digits)f"
                let median = String(format: f, sorted[sorted.count / 2])
                return sorted.count > 1 ? "\(median) [\(String(format: f, low))–\(String(format: f, high))]" : median
            }
            let first = group[0]
            let share = group.compactMap(\.kernelStampedShare).map { $0 * 100 }
            let source = first.receiveTimes.rawValue + (share.isEmpty ? "" : " (\(cell(share, digits: 1))%)")
            lines.append("| \(first.streams) | \(source) | \(first.requests) | \(cell(group.map(\.measuredTTFTp50Ms))) (\(first.ttftMs)) | "
                         + "\(cell(group.map(\.firstByteP50Ms), digits: 3)) | "
                         + "\(cell(group.map(\.measuredITLp50Ms), digits: 3)) / \(cell(group.map(\.measuredITLp99Ms))) (\(first.itlMs)) | "
                         + "\(cell(group.map(\.serverLatenessP50Ms), digits: 3)) / \(cell(group.map(\.serverLatenessP99Ms))) | "
                         + "\(cell(group.map(\.clientErrorP50Ms), digits: 3)) / \(cell(group.map(\.clientErrorP99Ms))) / "
                         + "\(cell(group.map(\.clientErrorMaxMs))) | \(cell(group.map(\.itlTailExcessMs))) | "
                         + "\(cell(group.map(\.reportedUncertaintyP99Ms), digits: 3)) | "
                         + "\(cell(group.compactMap(\.readWaitP99Ms), digits: 3)) | "
                         + "\(cell(group.compactMap(\.loopRunQueueWaitShare).map { $0 * 100 }, digits: 1))% |")
        }
        let failures = runs.flatMap { $0 }.reduce(0) { $0 + $1.failures + $1.unpaired }
        return lines.joined(separator: "\n") + "\n\nAll times in ms; medians of \(runs.first?.count ?? 0) runs "
            + "[min–max]. Failed or unpaired events: \(failures).\n"
    }
}
