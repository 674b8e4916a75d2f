import Foundation
import LatencyModel
import Yams

/// Models and GPUs beyond tpbench's presets: `--model` takes a Hugging Face `config.json` (the file or its model
/// directory), `--gpu` a small YAML device file. Both are read with every problem reported by key and line.
package enum HardwareFiles {
    /// The keys of a device file.
    static let deviceKeys = ["name", "dense_tflops", "memory_bandwidth_gbps", "memory_gb", "tdp_watts"]

    /// A model preset by name, else the model a `config.json` at `nameOrPath` (or in that directory) describes; nil
    /// when it is neither a preset nor an existing path.
    package static func model(_ nameOrPath: String) throws -> ModelSpec? {
        if let preset = ModelSpec.preset(named: nameOrPath) { return preset }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: nameOrPath, isDirectory: &isDirectory) else { return nil }
        let file = isDirectory.boolValue ? (nameOrPath as NSString).appendingPathComponent("config.json") : nameOrPath
        let text = try YAMLDocument.read(file, kind: "model config",
                                         hint: "it should be a Hugging Face config.json, or the directory holding one")
        return try parseModelConfig(text, file: file, name: nameOrPath)
    }

    /// A GPU preset by name, else the device a YAML file at `nameOrPath` describes; nil when it is neither.
    package static func gpu(_ nameOrPath: String) throws -> GPUSpec? {
        if let preset = GPUSpec.preset(named: nameOrPath) { return preset }
        guard FileManager.default.fileExists(atPath: nameOrPath) else { return nil }
        let text = try YAMLDocument.read(nameOrPath, kind: "device",
                                         hint: "it should be a YAML file with " + deviceKeys.joined(separator: ", "))
        return try parseDevice(text, file: nameOrPath)
    }

    /// What `--model` accepts, for error messages.
    package static var modelChoices: String {
        ModelSpec.presets.map(\.name).joined(separator: ", ") + ", or a Hugging Face config.json (or its directory)"
    }

    /// What `--gpu` accepts, for error messages.
    package static var gpuChoices: String {
        GPUSpec.presets.map(\.name).joined(separator: ", ") + ", or a device YAML file ("
            + deviceKeys.joined(separator: ", ") + ")"
    }

    /// The transformer shape a `config.json` gives (Llama, Qwen, Mistral and Mixtral, Qwen-MoE field names).
    /// `name` identifies it (the path given); the served name is the model directory's.
    package static func parseModelConfig(_ text: String, file: String, name: String) throws -> ModelSpec {
        let node = try YAMLDocument.root(text, file: file, kind: "model config")
        var reader = NodeReader()
        // A config has many keys tpbench does not need (rope, tokens, ...): none is unknown.
        guard let f = reader.mapping(node, "", allowed: nil) else {
            throw WorkloadError(file: file, issues: reader.issues, kind: "model config")
        }
        // Bounds far beyond any model, so that FLOP and byte counts cannot overflow.
        let bounds: [String: ClosedRange<Int>] = [
            "num_hidden_layers": 1...10_000, "hidden_size": 1...1_000_000, "num_attention_heads": 1...100_000,
            "num_key_value_heads": 1...100_000, "head_dim": 1...100_000, "intermediate_size": 1...10_000_000,
            "moe_intermediate_size": 1...10_000_000, "num_experts": 0...1_000_000, "num_local_experts": 0...1_000_000,
            "n_routed_experts": 0...1_000_000, "num_experts_per_tok": 1...1_000_000, "vocab_size": 1...100_000_000,
            "max_position_embeddings": 1...1_000_000_000,
        ]
        func required(_ key: String) -> Int {
            guard let value = f[key] else {
                reader.fail(key, node, "is missing; tpbench needs it to count the model's FLOPs and bytes")
                return 1
            }
            return reader.int(value, key, in: bounds[key]) ?? 1
        }
        func optional(_ key: String) -> Int? { reader.int(f[key], key, in: bounds[key]) }
        if f["kv_lora_rank"] != nil {
            reader.fail("kv_lora_rank", f["kv_lora_rank"], "multi-head latent attention (DeepSeek) is not modelled; "
                        + "tpbench models grouped-query attention only")
        }
        let layers = required("num_hidden_layers")
        let hidden = required("hidden_size")
        let heads = required("num_attention_heads")
        let vocab = required("vocab_size")
        let kvHeads = optional("num_key_value_heads") ?? heads
        let headDim = optional("head_dim") ?? max(1, hidden / heads)
        let experts = optional("num_experts") ?? optional("num_local_experts") ?? optional("n_routed_experts") ?? 0
        let intermediate = experts > 0 ? optional("intermediate_size") ?? 0 : required("intermediate_size")
        let expertsPerToken = experts > 0 ? required("num_experts_per_tok") : 0
        if experts > 0 && expertsPerToken > experts {
            reader.fail("num_experts_per_tok", f["num_experts_per_tok"], "is \(expertsPerToken), more than the "
                        + "\(experts) experts")
        }
        if kvHeads > heads || heads % kvHeads != 0 {
            reader.fail("num_key_value_heads", f["num_key_value_heads"], "must divide num_attention_heads (\(heads)), "
                        + "got \(kvHeads)")
        }
        let moeIntermediate = experts > 0 ? optional("moe_intermediate_size") ?? intermediate : 0
        if experts > 0 && moeIntermediate == 0 {
            reader.fail("moe_intermediate_size", node, "is missing (and so is intermediate_size): an expert's width")
        }
        let maxLength = required("max_position_embeddings")
        let tied = reader.bool(f["tie_word_embeddings"], "tie_word_embeddings") ?? false
        let dtypeKey = f["torch_dtype"] != nil ? "torch_dtype" : "dtype"
        var bytes = 2.0
        if let dtype = reader.string(f[dtypeKey], dtypeKey) {
            switch dtype.lowercased() {
            case "float32", "fp32": bytes = 4
            case "bfloat16", "float16", "bf16", "fp16": bytes = 2
            default:
                reader.fail(dtypeKey, f[dtypeKey], "'\(dtype)' is not float32, bfloat16 or float16 (quantised weights "
                            + "are not modelled)")
            }
        }
        guard reader.issues.isEmpty else { throw WorkloadError(file: file, issues: reader.issues, kind: "model config") }
        let url = URL(fileURLWithPath: file)
        let served = url.lastPathComponent == "config.json" ? url.deletingLastPathComponent().lastPathComponent
            : url.deletingPathExtension().lastPathComponent
        return ModelSpec(name: name, servedName: served, layers: layers, hidden: hidden, attentionHeads: heads,
                         kvHeads: kvHeads, headDim: headDim, intermediate: intermediate, experts: experts,
                         expertsPerToken: expertsPerToken, moeIntermediate: moeIntermediate, vocab: vocab,
                         tiedEmbeddings: tied, maxModelLength: maxLength, bytesPerParameter: bytes)
    }

    /// A device file: `name`, `dense_tflops` (dense FLOP/s in the served dtype, in TFLOP/s), `memory_bandwidth_gbps`
    /// (GB/s), `memory_gb` (decimal GB), optional `tdp_watts`. Its name is the file's path, so a preset can name it again.
    package static func parseDevice(_ text: String, file: String) throws -> GPUSpec {
        let node = try YAMLDocument.root(text, file: file, kind: "device")
        var reader = NodeReader()
        guard let f = reader.mapping(node, "", allowed: deviceKeys) else {
            throw WorkloadError(file: file, issues: reader.issues, kind: "device")
        }
        func required(_ key: String, _ range: ClosedRange<Double>) -> Double {
            guard let value = f[key] else {
                reader.fail(key, node, "is missing (\(deviceKeys.dropLast().joined(separator: ", ")) are required)")
                return 1
            }
            return reader.double(value, key, in: range) ?? 1
        }
        let display = reader.string(f["name"], "name") ?? URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent
        let tflops = required("dense_tflops", 0.000_001...1_000_000)
        let bandwidth = required("memory_bandwidth_gbps", 0.001...1_000_000)
        let memory = required("memory_gb", 0.001...1_000_000)
        let tdp = reader.double(f["tdp_watts"], "tdp_watts", in: 0...100_000)
        guard reader.issues.isEmpty else { throw WorkloadError(file: file, issues: reader.issues, kind: "device") }
        return GPUSpec(name: file, displayName: display, denseFLOPS: tflops * 1e12, memoryBandwidth: bandwidth * 1e9,
                       memoryBytes: memory * 1e9, tdpWatts: tdp)
    }
}
