import Foundation

/// The plain-language conclusion of a comparison.
enum Verdict {
    static func sentences(for c: Comparison) -> [String] {
        guard let base = c.deployments.first(where: { $0.name == c.baseline }) else { return [] }
        var out: [String] = []
        for d in c.deployments where d.name != base.name {
            var worse: [String] = []
            var better: [String] = []
            for (key, label) in [("ttft_p50_ms", "TTFT p50"), ("itl_event_p50_ms", "ITL p50"), ("requests_per_s", "throughput")] {
                guard let cell = d.cells[key], let ratio = cell.ratio, let phrase = cell.phrase,
                      abs(ratio - 1) >= 0.02 else { continue }
                let lowerIsBetter = key != "requests_per_s"
                let isWorse = lowerIsBetter ? ratio > 1 : ratio < 1
                let significance = cell.significant == false ? " (not significant)" : ""
                (isWorse ? { worse.append("\(label) \(phrase)\(significance)") }
                         : { better.append("\(label) \(phrase)\(significance)") })()
            }
            var sentence = "\(d.name) vs \(base.name): "
            if worse.isEmpty && better.isEmpty {
                sentence += "no meaningful difference on TTFT, ITL or throughput."
            } else {
                // Worse first: that is what a reader deciding between deployments needs to see.
                sentence += (worse + better).joined(separator: ", ") + "."
            }
            out.append(sentence)
        }
        out += gpuSentences(c)
        // The budget question: which deployment delivers most for the same GPUs.
        if let budget = c.gpuBudget {
            let projected = c.deployments.compactMap { d in d.projection.map { (d, $0) } }
            if let best = projected.max(by: { $0.1.requestsPerSecond < $1.1.requestsPerSecond }), projected.count > 1 {
                let others = projected.filter { $0.0.name != best.0.name }
                let comparisons = others.map { other in
                    String(format: "%.1fx the throughput of %@", best.1.requestsPerSecond / max(1e-9, other.1.requestsPerSecond),
                           "\(other.1.replicas) x \(other.0.name)")
                }
                var sentence = "For \(budget) GPUs, \(best.1.replicas) x \(best.0.name) projects to "
                    + String(format: "%.2f req/s", best.1.requestsPerSecond) + ", "
                    + comparisons.joined(separator: " and ")
                if let bestCost = best.1.costPer1kRequests,
                   let worst = others.compactMap({ o in o.1.costPer1kRequests.map { (o, $0) } }).max(by: { $0.1 < $1.1 }) {
                    sentence += String(format: "; %.1fx cheaper per request than %@", worst.1 / max(1e-12, bestCost),
                                       "\(worst.0.1.replicas) x \(worst.0.0.name)")
                }
                out.append(sentence + " (a projection: replicas assumed independent, each under the measured load).")
            }
        }
        return out
    }

    /// What the GPU telemetry says: a deployment whose GPUs idle while another's are busy under the same load is
    /// waiting on something (for TP > 1, communication), not short of work; and energy per request side by side.
    static func gpuSentences(_ c: Comparison) -> [String] {
        let measured = c.deployments.compactMap { d in d.cells["gpu_util_pct"]?.value.map { (d, $0) } }
        guard measured.count >= 2, let busiest = measured.max(by: { $0.1 < $1.1 }) else { return [] }
        var out: [String] = []
        for (d, util) in measured where d.name != busiest.0.name && util < 60 && busiest.1 - util >= 15 {
            var sentence = String(format: "%@'s GPUs were busy %.0f %% of the time against %.0f %% for %@ under the "
                                  + "same load", d.name, util, busiest.1, busiest.0.name)
            if let mine = d.requestsPerSecondPerGPU, let theirs = busiest.0.requestsPerSecondPerGPU, theirs > mine {
                sentence += String(format: ", with %.1fx less throughput per GPU", theirs / max(1e-12, mine))
            }
            let tp = d.description.tensorParallel ?? 1
            if tp > 1 {
                sentence += ": they were waiting, most likely on all-reduce communication between their \(tp) GPUs"
                    + (d.description.interconnect.map { " over \($0)" } ?? "")
                let link = [d.gpu?.pcieTxGBps.map { String(format: "PCIe %.1f GB/s", $0) },
                            d.gpu?.nvlinkTxGBps.map { String(format: "NVLink %.1f GB/s", $0) }].compactMap { $0 }
                if !link.isEmpty { sentence += " (sent: " + link.joined(separator: ", ") + ")" }
                sentence += ", not short of work: more load will not raise it, a faster interconnect or fewer GPUs "
                    + "per replica will."
            } else {
                sentence += ": they were waiting on the host (scheduling, sampling, the network), not on work."
            }
            out.append(sentence)
        }
        let energy = c.deployments.compactMap { d in d.cells["energy_per_1k_requests_wh"]?.value.map { (d.name, $0) } }
        if energy.count >= 2, let best = energy.min(by: { $0.1 < $1.1 }), let worst = energy.max(by: { $0.1 < $1.1 }),
           worst.1 > best.1 * 1.05 {
            out.append(String(format: "Energy per 1000 requests: %@ %.1f Wh, %@ %.1f Wh (%.1fx).", best.0, best.1,
                              worst.0, worst.1, worst.1 / max(1e-12, best.1)))
        }
        return out
    }
}
