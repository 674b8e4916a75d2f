import Foundation
import Metrics

extension MarkdownReport {
    /// "GPUs": what the GPUs did during the run (DCGM exporter or nvidia-smi), per GPU, with energy per request.
    static func gpuSection(_ result: RunResult) -> String {
        guard let all = result.gpuTelemetry, !all.isEmpty else { return "" }
        var out = "## GPUs\n\n"
        out += "Read about once a second during the run (second 0 is the start of the load); utilization is the share "
            + "of time a kernel ran (DCGM_FI_DEV_GPU_UTIL, nvidia-smi's utilization.gpu), not how much of the GPU it "
            + "used. Energy is the mean power of all GPUs over the measured window divided by the measured rates.\n\n"
        for telemetry in all {
            out += "### Target \(Format.code(telemetry.target))\n\n"
            guard let usage = telemetry.usage else {
                out += "No GPU telemetry: " + (telemetry.notes.isEmpty ? "no sample fell in the measured window"
                    : telemetry.notes.map(MarkdownTable.escape).joined(separator: "; ")) + ".\n\n"
                continue
            }
            out += "Source \(Format.code(telemetry.source)): " + telemetry.endpoints.map(Format.code).joined(separator: ", ")
                + ".\n\n"
            var table = MarkdownTable(["GPU", "model", "samples", "utilization mean (%)", "power mean (W)",
                                       "memory used max (GiB)", "PCIe sent (GB/s)", "NVLink sent (GB/s)"])
            let seconds = result.wallSeconds
            for gpu in telemetry.gpus {
                let one = GPUUsage.summarize([gpu], from: 0, to: seconds)
                let count = GPUUsage.samples(of: gpu, from: 0, to: seconds).count
                table.add([gpu.id, MarkdownTable.escape(gpu.model ?? "n/a"), String(count),
                           Format.number(one?.utilizationPct, digits: 1), Format.number(one?.powerW, digits: 1),
                           Format.number(one?.memoryUsedGiB, digits: 1), Format.number(one?.pcieTxGBps, digits: 2),
                           Format.number(one?.nvlinkTxGBps, digits: 2)])
            }
            out += table.render() + "\n\n"
            let summary = result.summaries.first { $0.target == telemetry.target }
            var totals = MarkdownTable(["measure", "value"])
            totals.add(["GPUs", String(usage.gpus)])
            totals.add(["utilization, mean (least busy GPU)", Format.number(usage.utilizationPct, digits: 1) + " % ("
                        + Format.number(usage.minimumUtilizationPct, digits: 1) + " %)"])
            totals.add(["power, all GPUs", Format.number(usage.powerW, digits: 1) + " W"])
            totals.add(["energy over the window", Format.number(usage.energyJ.map { $0 / 3600 }, digits: 2) + " Wh"])
            totals.add(["energy / 1000 requests", Format.number(usage.energyWhPer1kRequests(
                requestsPerSecond: summary?.requestsPerSecond), digits: 2) + " Wh"])
            totals.add(["energy / 1M output tokens", Format.number(usage.energyKWhPer1MOutputTokens(
                outputTokensPerSecond: summary?.outputTokensPerSecond), digits: 3) + " kWh"])
            out += totals.render() + "\n\n"
            for note in telemetry.notes { out += "> **Note:** \(MarkdownTable.escape(note))\n\n" }
        }
        return out
    }
}
