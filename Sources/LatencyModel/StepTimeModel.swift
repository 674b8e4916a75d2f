/// What one engine step computes, summed over the sequences it schedules.
package struct StepWorkload: Sendable, Equatable {
    /// New tokens pushed through the model (prefill chunks plus one per decoding sequence).
    package var tokens: Int = 0
    /// Sequences whose last position is computed this step, so the LM head runs and a token is sampled.
    package var sampledSequences: Int = 0
    /// Σ new·(context before + new/2): query×key pairs of causal attention, for FLOPs.
    package var attentionPairs: Double = 0
    /// Σ (context before + new): KV entries read by attention.
    package var kvTokensRead: Double = 0
    /// Sequences scheduled (each costs `perSequenceOverhead`).
    package var sequences: Int = 0

    package init() {}

    /// Adds one sequence that computes `newTokens` positions after `contextBefore` cached ones.
    package mutating func add(newTokens: Int, contextBefore: Int, samples: Bool) {
        tokens += newTokens
        sequences += 1
        if samples { sampledSequences += 1 }
        attentionPairs += Double(newTokens) * (Double(contextBefore) + Double(newTokens) / 2)
        kvTokensRead += Double(contextBefore + newTokens)
    }

    /// `sequences` decoding sequences at `context` tokens each.
    package static func decode(sequences: Int, context: Int) -> StepWorkload {
        var w = StepWorkload()
        for _ in 0..<sequences { w.add(newTokens: 1, contextBefore: context, samples: true) }
        return w
    }
}

/// Where one step's time goes.
package struct StepTimeBreakdown: Sendable, Equatable {
    package var flops: Double
    package var bytesRead: Double
    /// FLOPs / (TP · F_dense · MFU).
    package var compute: Double
    /// (W_read + KV_read) / TP / (B_hbm · MBU).
    package var memory: Double
    /// 2 all-reduces per layer over the TP group.
    package var communication: Double
    /// t_cpu + sequences · t_seq + [TP>1] · t_sync.
    package var cpu: Double

    package var total: Double { max(compute, memory) + communication + cpu }
    package var isComputeBound: Bool { compute >= memory }
}

/// The roofline step-time formula (docs/LATENCY-MODEL.md derives each term):
/// t = max(FLOPs(T')/(TP·F·MFU), (W_read/TP + KV_read/TP)/(B·MBU)) + [TP>1]·2·L·(α(TP) + 2(TP−1)/TP·T'·h·2B/busbw)
///     + t_cpu + S·t_seq + [TP>1]·t_sync
/// where T' is the step's token count padded to the next CUDA-graph capture size and S its sequence count.
package struct StepTimeModel: Sendable {
    package let parameters: ReplicaSpec

    package init(_ parameters: ReplicaSpec) {
        self.parameters = parameters
    }

    package func flops(_ w: StepWorkload) -> Double {
        let m = parameters.model
        let linear = 2 * Double(w.tokens) * m.activeParametersPerTokenWithoutHead
        let head = 2 * Double(w.sampledSequences) * Double(m.vocab * m.hidden)
        // QKᵀ and AV: 2 matmuls × 2 FLOPs per multiply-add, per head dimension, per query×key pair.
        let attention = 4 * Double(m.layers * m.attentionHeads * m.headDim) * w.attentionPairs
        return linear + head + attention
    }

    /// Weights a step reads: all of them for a dense model; for MoE the experts its tokens touch.
    package func weightBytesRead(_ w: StepWorkload) -> Double {
        let m = parameters.model
        let mlp =
            m.isMoE
            ? m.expectedExpertsTouched(tokens: w.tokens) * m.parametersPerExpert
            : m.denseMLPParametersPerLayer
        let layers = Double(m.layers) * (m.attentionParametersPerLayer + m.routerParametersPerLayer + mlp)
        // The LM head is read in full; the embedding table only row by row (negligible).
        return (layers + m.embeddingParameters) * m.bytesPerParameter
    }

    package func breakdown(_ w: StepWorkload) -> StepTimeBreakdown {
        let p = parameters
        let tp = Double(p.tensorParallel)
        let f = flops(w)
        let padded = p.paddedTokens(w.tokens)
        let bytes = weightBytesRead(w) + w.kvTokensRead * p.model.kvBytesPerToken
        // Padded rows go through the linear layers only (not the LM head, not attention).
        let paddingFLOPs = 2 * Double(padded - w.tokens) * p.model.activeParametersPerTokenWithoutHead
        let compute = (f + paddingFLOPs) / (tp * p.gpu.denseFLOPS * p.mfu)
        let memory = bytes / tp / (p.gpu.memoryBandwidth * p.mbu)
        var communication = 0.0
        var cpu = p.cpuOverhead + Double(w.sequences) * p.perSequenceOverhead
        if p.tensorParallel > 1 {
            let activationBytes = Double(padded * p.model.hidden) * p.model.bytesPerParameter
            let perAllReduce = p.link.allReduceTime(bytes: activationBytes, tensorParallel: p.tensorParallel)
            communication = 2 * Double(p.model.layers) * perAllReduce
            cpu += p.syncOverhead
        }
        return StepTimeBreakdown(
            flops: f, bytesRead: bytes, compute: compute, memory: memory, communication: communication, cpu: cpu)
    }

    package func stepTime(_ w: StepWorkload) -> Double { breakdown(w).total }
}
