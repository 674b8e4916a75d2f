import Foundation

/// The self-benchmark's table: one row per scenario, each cell the median of its runs with [min–max].
package enum SelfBenchTable {
    package static func render(_ measurements: [SelfBench.Measurement]) -> String {
        var order: [String] = []
        var groups: [String: [SelfBench.Measurement]] = [:]
        for m in measurements {
            let key = m.scenario.name + (m.reader == .floor ? " floor" : "")
            if groups[key] == nil { order.append(key) }
            groups[key, default: []].append(m)
        }
        let columns: [(String, (SelfBench.Measurement) -> Double?, String)] = [
            ("loop CPU µs/event", { $0.loopCPUMicrosPerEvent }, "%.2f"),
            ("process CPU µs/event", { $0.processCPUMicrosPerEvent }, "%.2f"),
            ("events/s", { $0.eventsPerSecond }, "%.0f"),
            ("heap KiB/stream", { $0.heapKiBPerStream }, "%.1f"),
            ("RSS KiB/stream", { $0.memoryKiBPerStream }, "%.1f"),
            ("coalesced %", { m in m.scenario.itlMs > 0 ? m.coalescingShare.map { $0 * 100 } : nil }, "%.2f"),
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
            var label = s.itlMs > 0
                ? "\(s.streams) × \(s.tokens) tok @ \(format(s.itlMs, "%g")) ms" : "unpaced \(s.streams) × \(s.tokens) tok"
            if runs[0].reader == .floor { label += ", floor (raw sockets)" }
            var cells = [label, "\(runs.count)"]
            for (_, value, spec) in columns {
                let values = runs.compactMap(value).sorted()
                guard !values.isEmpty else { cells.append("–"); continue }
                let middle = median(values)
                cells.append(values.count > 1
                    ? "\(format(middle, spec)) [\(format(values.first!, spec))–\(format(values.last!, spec))]"
                    : format(middle, spec))
            }
            lines.append("| " + cells.joined(separator: " | ") + " |")
        }
        return (lines + floorRatios(order: order, groups: groups)).joined(separator: "\n")
    }

    /// "tpbench / floor" per scenario that has both: how much the client adds to what the kernel charges.
    static func floorRatios(order: [String], groups: [String: [SelfBench.Measurement]]) -> [String] {
        var notes: [String] = []
        for name in order {
            guard let floorRuns = groups[name + " floor"], let runs = groups[name] else { continue }
            let client = median(runs.map(\.loopCPUMicrosPerEvent))
            let floor = median(floorRuns.map(\.loopCPUMicrosPerEvent))
            guard floor > 0 else { continue }
            notes.append("\(name): tpbench " + String(format: "%.2f µs per token event, floor %.2f µs (the kernel's "
                         + "share on this machine): %.2f× the floor, %.2f µs above it",
                         client, floor, client / floor, client - floor))
        }
        return notes.isEmpty ? [] : [""] + notes
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.isEmpty ? 0 : sorted[sorted.count / 2]
    }

    static func format(_ value: Double, _ spec: String) -> String { String(format: spec, value) }
}
