/// Everything that decides how fast one simulated vLLM engine (one replica, TP GPUs) runs.
package struct ReplicaSpec: Sendable, Equatable, Codable {
    package var model: ModelSpec
    package var gpu: GPUSpec
    package var tensorParallel: Int
    package var link: LinkSpec
    /// Model FLOP utilisation reached by the big matmuls (prefill-bound steps).
    package var mfu: Double = 0.5
    /// Memory bandwidth utilisation reached by weight and KV reads (decode-bound steps).
    package var mbu: Double = 0.8
    /// Scheduler, sampling and Python overhead per step, in seconds.
    package var cpuOverhead: Double = 1.5e-3
    /// Extra per-step cost of coordinating TP workers (broadcast of the schedule, barrier), in seconds.
    package var syncOverhead: Double = 1e-3
    /// CPU cost per sequence scheduled in a step (input preparation, sampling, detokenising), in seconds; 0 unless
    /// calibrated, since no published measurement isolates it.
    package var perSequenceOverhead: Double = 0
    /// Time from a request's arrival at the server to the scheduler seeing it (HTTP, chat template, tokenising the
    /// prompt, the API server's hand-off to the engine, the first chunk's way back), in seconds; adds to TTFT only.
    /// 50 ms: GPUStack's vLLM v0.11.0 runs of Qwen3-8B on one H100 answer a lone 242-token chat prompt in 60.4 ms
    /// (TTFT p50) while its prefill step takes 8.5 ms (docs/LATENCY-MODEL.md).
    package var requestOverhead: Double = 0.05
    /// What the request overhead grows by per prompt token (tokenising, copying and hashing the prompt), in seconds:
    /// 0 unless calibrated, since no published measurement isolates it (the mock's own is 0.25-0.4 µs a token).
    package var promptTokenOverhead: Double = 0
    /// The part of `requestOverhead` the replica's one API-server process spends on a request alone (parsing, chat
    /// template, tokenising, detokenising its stream), in seconds: it serves one request at a time, so past
    /// 1/apiServerCost requests a second they queue for it. 0 unless calibrated or set: the published ceilings
    /// (13.1 ms a request in vLLM PR #17546, 22.7 ms in GPUStack's 1000-request burst) differ by workload and version,
    /// and none says how much of the work comes at arrival, where the model puts it (docs/LATENCY-MODEL.md).
    package var apiServerCost: Double = 0
    /// A request's whole overhead: the fixed part and its prompt's.
    package func requestOverhead(promptTokens: Int) -> Double {
        requestOverhead + Double(max(0, promptTokens)) * promptTokenOverhead
    }
    /// What queues for the API server: `apiServerCost`, at most the whole request overhead it is part of (0 when
    /// that is 0).
    package func serialAPIServerCost(promptTokens: Int) -> Double {
        min(apiServerCost, requestOverhead(promptTokens: promptTokens))
    }
    /// Largest batch (in tokens) vLLM captures a CUDA graph for; smaller batches run padded to the next captured
    /// size. nil = vLLM's default, min(2 · max_num_seqs, 512); 0 = eager mode, no padding.
    package var cudaGraphMaxTokens: Int? = nil
    package var maxNumBatchedTokens: Int
    package var maxNumSeqs: Int
    package var gpuMemoryUtilization: Double = 0.9
    package var blockSize: Int = 16
    /// Per-GPU memory held back for activations, CUDA graphs and NCCL buffers (vLLM profiles this; ~2 GB is typical).
    package var activationReserveBytes: Double = 2e9
    /// Relative standard deviation of seeded multiplicative step-time jitter (0 = deterministic).
    package var stepJitter: Double = 0

    package init(model: ModelSpec, gpu: GPUSpec, tensorParallel: Int = 1, link: LinkSpec = .nvlink4) {
        self.model = model
        self.gpu = gpu
        self.tensorParallel = tensorParallel
        self.link = link
        // vLLM's defaults for large- and small-memory devices.
        self.maxNumBatchedTokens = gpu.isLargeMemory ? 8192 : 2048
        self.maxNumSeqs = gpu.isLargeMemory ? 1024 : 256
    }

    /// The batch size a step of `tokens` tokens runs at: the next CUDA-graph capture size when it fits under the
    /// largest, else `tokens` (vLLM's capture sizes: 1, 2, 4, then every 8 to 248, then every 16 up to the largest).
    package func paddedTokens(_ tokens: Int) -> Int {
        let largest = cudaGraphMaxTokens ?? min(2 * maxNumSeqs, 512)
        guard tokens > 0, tokens <= largest else { return tokens }
        if tokens <= 2 { return tokens }
        if tokens <= 4 { return 4 }
        let padded = tokens < 256 ? (tokens + 7) / 8 * 8 : (tokens + 15) / 16 * 16
        return min(padded, largest)
    }

    /// KV heads held by one GPU; heads are replicated when there are fewer than TP.
    package var kvHeadsPerGPU: Int { max(1, (model.kvHeads + tensorParallel - 1) / tensorParallel) }

    /// Bytes left for KV cache on one GPU after weights and reserve.
    package var kvCacheBytesPerGPU: Double {
        gpu.memoryBytes * gpuMemoryUtilization - model.weightBytes / Double(tensorParallel) - activationReserveBytes
    }

    /// KV blocks of `blockSize` tokens the engine can hold (0 or less means the model does not fit).
    package var kvBlocks: Int {
        let bytesPerTokenPerGPU = Double(2 * model.layers * kvHeadsPerGPU * model.headDim) * model.bytesPerParameter
        let tokens = kvCacheBytesPerGPU / bytesPerTokenPerGPU
        return tokens <= 0 ? 0 : Int(tokens) / blockSize
    }

    /// Checks that the configuration can run at all; returns a sentence for the user when it cannot.
    package func validationProblem() -> String? {
        if !(1...1024).contains(tensorParallel) { return "tensor parallel size must be in 1...1024 (got \(tensorParallel))" }
        if model.attentionHeads % tensorParallel != 0 {
            return "\(model.name) has \(model.attentionHeads) attention heads, not divisible by TP=\(tensorParallel)"
        }
        if !(mfu > 0 && mfu <= 1) { return "MFU must be in (0, 1] (got \(mfu))" }
        if !(mbu > 0 && mbu <= 1) { return "MBU must be in (0, 1] (got \(mbu))" }
        if !(gpuMemoryUtilization > 0 && gpuMemoryUtilization <= 1) {
            return "gpu_memory_utilization must be in (0, 1] (got \(gpuMemoryUtilization))"
        }
        if !(1...16_777_216).contains(maxNumBatchedTokens) || !(1...1_048_576).contains(maxNumSeqs) {
            return "max_num_batched_tokens must be in 1...16777216 and max_num_seqs in 1...1048576"
        }
        if !(cpuOverhead >= 0 && cpuOverhead <= 10) || !(syncOverhead >= 0 && syncOverhead <= 10) {
            return "the per-step CPU and sync overheads must be in 0...10000 ms"
        }
        if !(perSequenceOverhead >= 0 && perSequenceOverhead <= 0.1) {
            return "the per-sequence overhead must be in 0...100000 µs"
        }
        if !(requestOverhead >= 0 && requestOverhead <= 10) {
            return "the per-request overhead must be in 0...10000 ms"
        }
        if !(promptTokenOverhead >= 0 && promptTokenOverhead <= 1e-3) {
            return "the request overhead per prompt token must be in 0...1000 µs"
        }
        if !(apiServerCost >= 0 && apiServerCost <= 10) {
            return "the API server's cost per request must be in 0...10000 ms"
        }
        if let largest = cudaGraphMaxTokens, !(0...65_536).contains(largest) {
            return "the largest CUDA-graph batch must be in 0...65536 tokens (0 = eager), got \(largest)"
        }
        if !(stepJitter >= 0 && stepJitter <= 1) { return "step jitter must be in 0...1 (got \(stepJitter))" }
        if kvBlocks * blockSize < model.maxModelLength / 64 {
            let gb = (model.weightBytes / Double(tensorParallel) / 1e9 * 10).rounded() / 10
            return "\(model.name) needs \(gb) GB of weights per GPU at TP=\(tensorParallel); "
                + "\(gpu.displayName) leaves too little for the KV cache: use a larger TP or a larger GPU"
        }
        return nil
    }
}
