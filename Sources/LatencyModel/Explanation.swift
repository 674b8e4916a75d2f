/// The human-readable answer to "why is this configuration slow?" printed by `tpbench mock --explain`.
package enum Explanation {
    /// Step-time breakdown for decode batches and one full prefill chunk, plus the burst experiment's outcome.
    package static func text(for p: ReplicaSpec, context: Int = 1250, batchSizes: [Int] = [1, 8, 32, 100, 256])
        -> String
    {
        let model = StepTimeModel(p)
        func ms(_ s: Double) -> String { pad(String(format1(s * 1000)), 9) }
        var out = "\(p.model.name) on \(p.tensorParallel)× \(p.gpu.displayName)"
        out += p.tensorParallel > 1 ? " over \(p.link.name) (\(p.link.summary))\n" : "\n"
        let weightsGB = p.model.weightBytes / Double(p.tensorParallel) / 1e9
        out += "weights \(format1(weightsGB)) GB per GPU, KV cache \(p.kvBlocks) blocks of \(p.blockSize) tokens "
        out += "(\(p.kvBlocks * p.blockSize) tokens), max_num_seqs \(p.maxNumSeqs), "
        out += "max_num_batched_tokens \(p.maxNumBatchedTokens)\n"
        out += "MFU \(p.mfu), MBU \(p.mbu), t_cpu \(format1(p.cpuOverhead * 1000)) ms"
        if p.tensorParallel > 1 {
            out += ", t_sync \(format1(p.syncOverhead * 1000)) ms, all-reduce α "
            out += "\(format1(p.link.allReduceLatency(tensorParallel: p.tensorParallel) * 1e6)) µs, busbw "
            out += "\(format1(p.link.busBandwidth / 1e9)) GB/s"
        }
        out += "\n\n"
        out += "step                       compute    memory      comm       cpu     total  bound\n"
        func row(_ label: String, _ w: StepWorkload) {
            let b = model.breakdown(w)
            let bound: String
            if b.communication > max(b.compute, b.memory) {
                bound = "communication"
            } else {
                bound = b.isComputeBound ? "compute" : "memory"
            }
            out += pad(label, 24, left: true) + ms(b.compute) + ms(b.memory) + ms(b.communication) + ms(b.cpu)
            out += ms(b.total) + "  " + bound + "\n"
        }
        for batch in batchSizes {
            row("decode \(batch) × \(context) ctx", .decode(sequences: batch, context: context))
        }
        var prefill = StepWorkload()
        prefill.add(newTokens: p.maxNumBatchedTokens, contextBefore: 0, samples: true)
        row("prefill \(p.maxNumBatchedTokens) tokens", prefill)
        out += "(milliseconds per engine step; every running sequence gets one token per decode step)\n\n"

        let burst = LoadSimulation(parameters: p, promptTokens: 1000, outputTokens: 500, load: .burst(count: 100)).run()
        out += "burst of 100 requests (1000-token prompts, 500 output tokens): TTFT p50 "
        out += "\(format1(burst.ttftP50 * 1000)) ms, ITL p50 \(format1(burst.itlP50 * 1000)) ms, "
        out += "\(Int(burst.outputTokensPerSecond.rounded())) output tok/s, \(burst.preemptions) preemptions\n"
        return out
    }

    static func format1(_ x: Double) -> String {
        let scaled = (x * 10).rounded() / 10
        return scaled == scaled.rounded() && abs(scaled) < 1e15 ? "\(Int(scaled)).0" : "\(scaled)"
    }

    static func pad(_ s: String, _ width: Int, left: Bool = false) -> String {
        let fill = String(repeating: " ", count: max(0, width - s.count))
        return left ? s + fill : fill + s
    }
}
