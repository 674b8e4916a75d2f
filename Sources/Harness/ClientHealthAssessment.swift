import Curl
import LoadGen
import Metrics

/// Judges whether the client itself limited a run, from its loops' counters.
package enum ClientHealthAssessment {
    /// An loop busier than this share of a core may be delaying the events it timestamps.
    package static let loopBusyThreshold = 0.85
    /// Loop lag p99 above this (µs) means timers fired late.
    package static let loopLagThresholdUs: UInt64 = 5_000
    /// Timestamps uncertain by more than this (ms, p99) make tail percentiles partly client time.
    package static let timestampUncertaintyThresholdMs = 0.5

    package static func assess(output: RunOutput, cpuNanoseconds: UInt64) -> ClientHealth {
        let wallNs = max(1, output.wallSeconds * 1e9)
        let loops = output.loopStatistics.enumerated().map { index, stats in
            var health = ClientHealth.LoopHealth(index: index, cpuShare: Double(stats.cpuNanoseconds) / wallNs,
                                      loopLagP99Us: stats.loopLagUpperBoundMicros(quantile: 0.99),
                                      loopLagMaxUs: stats.loopLagMaxNanoseconds / 1000, socketEvents: stats.socketEvents,
                                      timestampUncertaintyP99Us: stats.timestampUncertaintyMicros(quantile: 0.99),
                                      timestampUncertaintyMaxUs: Double(stats.stampUncertaintyMaxNanoseconds) / 1000)
            health.runQueueWaitShare = stats.runQueueWaitNanoseconds.map { Double($0) / wallNs }
            return health
        }
        var allStamps = MultiLoopStatistics()
        for stats in output.loopStatistics { allStamps.mergeStamps(stats) }
        let uncertaintyMs = allStamps.stampSamples > 0 ? allStamps.timestampUncertaintyMicros(quantile: 0.99) / 1000 : nil
        let events = output.aggregate.tokenEvents
        var warnings: [String] = []
        for loop in loops where loop.cpuShare > loopBusyThreshold {
            warnings.append(String(format: "client loop %d was busy %.0f%% of the run: the client may have been "
                                   + "the bottleneck; add --client-threads or a client machine", loop.index, loop.cpuShare * 100))
        }
        for loop in loops where loop.loopLagP99Us > loopLagThresholdUs {
            warnings.append("client loop \(loop.index) ran its timers late (loop lag p99 ≤ \(loop.loopLagP99Us) µs): "
                            + "latencies may include client delay")
        }
        if let uncertaintyMs, uncertaintyMs > timestampUncertaintyThresholdMs {
            warnings.append(String(format: "timestamps uncertain by up to %.2f ms (p99 of the buffers' stamps, above "
                                   + "the %.1f ms goal): tail percentiles such as ITL p99 include that much client "
                                   + "time; add --client-threads or a client machine", uncertaintyMs,
                                   timestampUncertaintyThresholdMs))
        }
        if let lag = output.summary.sendLagMs, output.unsentArrivals == 0, lag.p99 > 50 {
            warnings.append(String(format: "requests left the client late (send lag p99 %.0f ms) without a concurrency "
                                   + "ceiling: the client could not keep the schedule", lag.p99))
        }
        if let growth = sendLagGrowthMs(output.aggregate.sendLags), output.unsentArrivals == 0 {
            warnings.append(String(format: "send lag grew during the run (median %.1f ms in the first quarter of "
                                   + "requests, %.1f ms in the last): the client fell behind its schedule",
                                   growth.first, growth.last))
        }
        var health = ClientHealth(loops: loops, processCPUShare: Double(cpuNanoseconds) / wallNs,
                                  maxResidentMiB: Double(ProcessResources.maxResidentKiB()) / 1024,
                                  eventsPerSecond: Double(events) / max(1e-9, output.wallSeconds), warnings: warnings)
        health.timestampUncertaintyP99Ms = uncertaintyMs
        health.kernelStampedShare = allStamps.kernelStampedShare
        health.readWaitP99Ms = allStamps.readWaitMicros(quantile: 0.99).map { $0 / 1000 }
        return health
    }

    /// Median send lag (start − intended start) of the first and last quarter of open-loop requests, when it grew
    /// by more than 10 ms and more than 2×: a client that keeps falling behind, as opposed to a constant offset.
    static func sendLagGrowthMs(_ samples: [RunAggregate.SendLagSample]) -> (first: Double, last: Double)? {
        let lags = samples.sorted { $0.startMs < $1.startMs }.map(\.lagMs)
        guard lags.count >= 40 else { return nil }
        let quarter = lags.count / 4
        func median(_ slice: ArraySlice<Double>) -> Double { slice.sorted()[slice.count / 2] }
        let first = median(lags.prefix(quarter))
        let last = median(lags.suffix(quarter))
        return last > first + 10 && last > 2 * max(first, 0.5) ? (first, last) : nil
    }

    /// True when the assessment says the client, not the server, may have limited the run (`--strict` exits 1).
    package static func clientWasLimit(_ health: ClientHealth?) -> Bool {
        !(health?.warnings.isEmpty ?? true)
    }
}
