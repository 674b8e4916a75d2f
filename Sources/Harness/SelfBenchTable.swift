import Foundation

/// The self-benchmark's table: one row per scenario, each cell the median of its runs with [min–max].
public enum SelfBenchTable {
    public static func render(_ measurements: [SelfBench.Measurement]) -> String {
        var order: [String] = []
        var groups: [String: [SelfBench.Measurement]] = [:]
        for m in measurements {
            if groups[m.scenario.name] == nil { order.append(m.scenario.name) }
            groups[m.scenario.name, default: []].append(m)
        }
        let columns: [(String, (SelfBench.Measurement) -> Double?, String)] = [
            ("engine CPU µs/event", { $0.engineCPUMicrosPerEvent }, "%.2f"),
            ("process CPU µs/event", { $0.processCPUMicrosPerEvent }, "%.2f"),
            ("events/s", { $0.eventsPerSecond }, "%.0f"),
            ("KiB/stream", { $0.memoryKiBPerStream }, "%.1f"),
            ("coalesced %", { $0.scenario.itlMs > 0 ? $0.coalescingShare * 100 : nil }, "%.2f"),
            ("stretch", { $0.scenario.itlMs > 0 ? $0.stretch : nil }, "%.3f"),
            ("TTFT overhead p50 ms", { $0.overheadMsP50 }, "%.2f"),
            ("mock lateness p99 ms", { $0.mockLatenessP99Ms }, "%.1f"),
            ("mock CPU share", { $0.mockCPUShare }, "%.2f"),
            ("failures", { Double($0.failures) }, "%.0f"),
        ]
        var lines = ["| scenario | runs | " + columns.map(\.0).joined(separator: " | ") + " |",
                     "|---|---|" + columns.map { _ in "---" }.joined(separator: "|") + "|"]
        for name in order {
            let runs = groups[name] ?? []
            let s = runs[0].scenario
            let label = s.itlMs > 0
                ? "\(s.streams) × \(s.tokens) tok @ \(format(s.itlMs, "%g")) ms" : "unpaced \(s.streams) × \(s.tokens) tok"
            var cells = [label, "\(runs.count)"]
            for (_, value, spec) in columns {
                let values = runs.compactMap(value).sorted()
                guard !values.isEmpty else { cells.append("–"); continue }
                let median = values[values.count / 2]
                cells.append(values.count > 1
                    ? "\(format(median, spec)) [\(format(values.first!, spec))–\(format(values.last!, spec))]"
                    : format(median, spec))
            }
            lines.append("| " + cells.joined(separator: " | ") + " |")
        }
        return lines.joined(separator: "\n")
    }

    static func format(_ value: Double, _ spec: String) -> String { String(format: spec, value) }
}
