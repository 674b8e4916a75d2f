#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The shape of a transformer, as its `config.json` gives it; enough to count FLOPs, weight bytes and KV bytes.
package struct ModelSpec: Sendable, Equatable, Codable {
    package var name: String
    /// The id the server answers to (`/v1/models`).
    package var servedName: String
    package var layers: Int
    package var hidden: Int
    package var attentionHeads: Int
    package var kvHeads: Int
    package var headDim: Int
    /// Dense MLP width; unused when `experts > 0`.
    package var intermediate: Int
    /// Routed experts per layer (0 for a dense model).
    package var experts: Int
    /// Experts each token is routed to.
    package var expertsPerToken: Int
    package var moeIntermediate: Int
    package var vocab: Int
    package var tiedEmbeddings: Bool
    package var maxModelLength: Int
    /// Bytes per weight and per KV element (bf16 = 2).
    package var bytesPerParameter: Double

    package init(
        name: String, servedName: String, layers: Int, hidden: Int, attentionHeads: Int, kvHeads: Int,
        headDim: Int, intermediate: Int, experts: Int = 0, expertsPerToken: Int = 0, moeIntermediate: Int = 0,
        vocab: Int, tiedEmbeddings: Bool = false, maxModelLength: Int, bytesPerParameter: Double = 2
    ) {
        self.name = name
        self.servedName = servedName
        self.layers = layers
        self.hidden = hidden
        self.attentionHeads = attentionHeads
        self.kvHeads = kvHeads
        self.headDim = headDim
        self.intermediate = intermediate
        self.experts = experts
        self.expertsPerToken = expertsPerToken
        self.moeIntermediate = moeIntermediate
        self.vocab = vocab
        self.tiedEmbeddings = tiedEmbeddings
        self.maxModelLength = maxModelLength
        self.bytesPerParameter = bytesPerParameter
    }

    package var isMoE: Bool { experts > 0 }

    /// q, k, v and o projections of one layer.
    package var attentionParametersPerLayer: Double {
        let q = Double(hidden * attentionHeads * headDim)
        let kv = Double(2 * hidden * kvHeads * headDim)
        let o = Double(attentionHeads * headDim * hidden)
        return q + kv + o
    }

    /// gate, up and down projections of one expert (or of the dense MLP).
    package var parametersPerExpert: Double { Double(3 * hidden * moeIntermediate) }
    package var denseMLPParametersPerLayer: Double { Double(3 * hidden * intermediate) }
    package var routerParametersPerLayer: Double { isMoE ? Double(hidden * experts) : 0 }
    package var embeddingParameters: Double { Double(vocab * hidden) }

    /// Every weight, as loaded into GPU memory.
    package var totalParameters: Double {
        let mlp = isMoE ? Double(experts) * parametersPerExpert : denseMLPParametersPerLayer
        let perLayer = attentionParametersPerLayer + mlp + routerParametersPerLayer
        let heads = tiedEmbeddings ? embeddingParameters : 2 * embeddingParameters
        return Double(layers) * perLayer + heads
    }

    /// Weights one token multiplies through, excluding the LM head (applied only to sampled positions).
    package var activeParametersPerTokenWithoutHead: Double {
        let mlp = isMoE ? Double(expertsPerToken) * parametersPerExpert : denseMLPParametersPerLayer
        return Double(layers) * (attentionParametersPerLayer + mlp + routerParametersPerLayer)
    }

    /// K and V of one token across all layers.
    package var kvBytesPerToken: Double {
        Double(2 * layers * kvHeads * headDim) * bytesPerParameter
    }

    package var weightBytes: Double { totalParameters * bytesPerParameter }

    /// Expected number of distinct experts per layer touched by `tokens` tokens routed uniformly:
    /// E·(1−(1−k/E)^T).
    package func expectedExpertsTouched(tokens: Int) -> Double {
        guard isMoE, tokens > 0 else { return 0 }
        let e = Double(experts)
        let missProbability = 1 - Double(expertsPerToken) / e
        return e * (1 - pow(missProbability, Double(tokens)))
    }
}

extension ModelSpec {
    /// From Qwen/Qwen3-30B-A3B's config.json (all 48 layers are MoE; `intermediate_size` 6144 is unused).
    package static let qwen3_30b_a3b = ModelSpec(
        name: "qwen3-30b-a3b", servedName: "Qwen/Qwen3-30B-A3B-Instruct-2507", layers: 48, hidden: 2048,
        attentionHeads: 32, kvHeads: 4, headDim: 128, intermediate: 6144, experts: 128, expertsPerToken: 8,
        moeIntermediate: 768, vocab: 151_936, maxModelLength: 40_960)
    /// From Qwen/Qwen3-32B's config.json.
    package static let qwen3_32b = ModelSpec(
        name: "qwen3-32b", servedName: "Qwen/Qwen3-32B", layers: 64, hidden: 5120, attentionHeads: 64, kvHeads: 8,
        headDim: 128, intermediate: 25_600, vocab: 151_936, maxModelLength: 40_960)
    /// From Qwen/Qwen3-14B's config.json.
    package static let qwen3_14b = ModelSpec(
        name: "qwen3-14b", servedName: "Qwen/Qwen3-14B", layers: 40, hidden: 5120, attentionHeads: 40, kvHeads: 8,
        headDim: 128, intermediate: 17_408, vocab: 151_936, maxModelLength: 40_960)
    /// From Qwen/Qwen3-8B's config.json.
    package static let qwen3_8b = ModelSpec(
        name: "qwen3-8b", servedName: "Qwen/Qwen3-8B", layers: 36, hidden: 4096, attentionHeads: 32, kvHeads: 8,
        headDim: 128, intermediate: 12_288, vocab: 151_936, maxModelLength: 40_960)
    /// From meta-llama/Llama-3.1-8B-Instruct's config.json.
    package static let llama3_1_8b = ModelSpec(
        name: "llama-3.1-8b", servedName: "meta-llama/Llama-3.1-8B-Instruct", layers: 32, hidden: 4096,
        attentionHeads: 32, kvHeads: 8, headDim: 128, intermediate: 14_336, vocab: 128_256, maxModelLength: 131_072)
    /// From meta-llama/Llama-3.1-70B-Instruct's config.json.
    package static let llama3_1_70b = ModelSpec(
        name: "llama-3.1-70b", servedName: "meta-llama/Llama-3.1-70B-Instruct", layers: 80, hidden: 8192,
        attentionHeads: 64, kvHeads: 8, headDim: 128, intermediate: 28_672, vocab: 128_256, maxModelLength: 131_072)

    /// From mistralai/Mixtral-8x7B-Instruct-v0.1's config.json (8 experts, 2 per token, 14336 wide).
    package static let mixtral_8x7b = ModelSpec(
        name: "mixtral-8x7b", servedName: "mistralai/Mixtral-8x7B-Instruct-v0.1", layers: 32, hidden: 4096,
        attentionHeads: 32, kvHeads: 8, headDim: 128, intermediate: 14_336, experts: 8, expertsPerToken: 2,
        moeIntermediate: 14_336, vocab: 32_000, maxModelLength: 32_768)

    package static let presets: [ModelSpec] = [
        qwen3_30b_a3b, qwen3_32b, qwen3_14b, qwen3_8b, llama3_1_8b, llama3_1_70b, mixtral_8x7b,
    ]

    package static func preset(named name: String) -> ModelSpec? {
        let key = name.lowercased()
        return presets.first { $0.name == key || $0.servedName.lowercased() == key }
    }
}
