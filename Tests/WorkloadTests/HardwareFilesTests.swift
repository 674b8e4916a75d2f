import Foundation
import LatencyModel
import Testing
@testable import Workload

/// `--model config.json` and `--gpu device.yaml`: a model's own Hugging Face config gives the same shape as the
/// preset written from it, and a wrong file is an error that names the key and its line.
struct HardwareFilesTests {
    /// Qwen/Qwen3-30B-A3B-Instruct-2507's config.json, the fields tpbench reads plus some it ignores.
    static let qwenMoE = """
        {
          "architectures": ["Qwen3MoeForCausalLM"],
          "decoder_sparse_step": 1,
          "head_dim": 128,
          "hidden_size": 2048,
          "intermediate_size": 6144,
          "max_position_embeddings": 40960,
          "moe_intermediate_size": 768,
          "norm_topk_prob": true,
          "num_attention_heads": 32,
          "num_experts": 128,
          "num_experts_per_tok": 8,
          "num_hidden_layers": 48,
          "num_key_value_heads": 4,
          "rope_scaling": null,
          "tie_word_embeddings": false,
          "torch_dtype": "bfloat16",
          "vocab_size": 151936
        }
        """

    /// mistralai/Mixtral-8x7B-Instruct-v0.1's names: num_local_experts, no head_dim, no moe_intermediate_size.
    static let mixtral = """
        {"hidden_size": 4096, "intermediate_size": 14336, "max_position_embeddings": 32768,
         "num_attention_heads": 32, "num_experts_per_tok": 2, "num_hidden_layers": 32, "num_key_value_heads": 8,
         "num_local_experts": 8, "tie_word_embeddings": false, "torch_dtype": "bfloat16", "vocab_size": 32000}
        """

    @Test func aConfigGivesThePresetWrittenFromIt() throws {
        for (text, preset) in [(Self.qwenMoE, ModelSpec.qwen3_30b_a3b), (Self.mixtral, ModelSpec.mixtral_8x7b)] {
            var model = try HardwareFiles.parseModelConfig(text, file: "/m/\(preset.name)/config.json", name: "x")
            #expect(model.name == "x" && model.servedName == preset.name)
            model.name = preset.name
            model.servedName = preset.servedName
            #expect(model == preset)
        }
    }

    /// A model directory is read through its config.json; float32 weights count 4 bytes; tied embeddings count once.
    @Test func aModelDirectoryIsReadThroughItsConfig() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tiny-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try Data("""
            {"dtype": "float32", "head_dim": 64, "hidden_size": 256, "intermediate_size": 512,
             "max_position_embeddings": 16384, "num_attention_heads": 4, "num_hidden_layers": 2,
             "num_key_value_heads": 4, "tie_word_embeddings": true, "vocab_size": 2050}
            """.utf8).write(to: directory.appendingPathComponent("config.json"))
        let model = try #require(try HardwareFiles.model(directory.path))
        #expect(model.name == directory.path && model.servedName == directory.lastPathComponent)
        #expect(model.bytesPerParameter == 4 && model.tiedEmbeddings && model.experts == 0)
        #expect(model.layers == 2 && model.hidden == 256 && model.kvHeads == 4 && model.maxModelLength == 16_384)
        // 2 layers × (4 attention projections of 256×256 + 3 MLP matrices of 256×512) + one 2050×256 embedding.
        let untied = ModelSpec(name: "u", servedName: "u", layers: 2, hidden: 256, attentionHeads: 4, kvHeads: 4,
                               headDim: 64, intermediate: 512, vocab: 2050, tiedEmbeddings: false,
                               maxModelLength: 16_384, bytesPerParameter: 4)
        #expect(untied.totalParameters - model.totalParameters == 2050 * 256)
        #expect(try HardwareFiles.model(directory.appendingPathComponent("config.json").path) == model.renamed(
            directory.appendingPathComponent("config.json").path))
        // Neither a preset nor a path: nil, so the caller lists the choices.
        #expect(try HardwareFiles.model(directory.appendingPathComponent("nothing.json").path) == nil)
        #expect(try HardwareFiles.model("Qwen3-8B") == .qwen3_8b)
    }

    @Test func aWrongConfigNamesEachKeyAndLine() throws {
        let text = """
            {
              "hidden_size": 7168,
              "num_attention_heads": 128,
              "num_hidden_layers": -61,
              "kv_lora_rank": 512,
              "torch_dtype": "float8_e4m3fn",
              "vocab_size": 129280
            }
            """
        let error = try #require(throws: WorkloadError.self) {
            try HardwareFiles.parseModelConfig(text, file: "ds.json", name: "ds")
        }
        let message = "\(error)"
        for expected in ["model config ds.json", "num_hidden_layers", "(line 4)", "kv_lora_rank", "(line 5)",
                         "torch_dtype", "'float8_e4m3fn'", "(line 6)", "intermediate_size: is missing",
                         "max_position_embeddings: is missing"] {
            #expect(message.contains(expected), "\(expected) not in: \(message)")
        }
        // Numbers that would overflow the FLOP and byte counts, and shapes that cannot be, are errors too.
        let absurd = try #require(throws: WorkloadError.self) {
            try HardwareFiles.parseModelConfig("""
                {"hidden_size": 9223372036854775807, "intermediate_size": 4, "max_position_embeddings": 8,
                 "num_attention_heads": 8, "num_key_value_heads": 3, "num_hidden_layers": 2, "vocab_size": 1e40,
                 "num_experts": 4, "num_experts_per_tok": 5}
                """, file: "x.json", name: "x")
        }
        for expected in ["hidden_size: must be in 1...1000000, got 9223372036854775807", "vocab_size: must be a whole",
                         "num_key_value_heads: must divide num_attention_heads (8), got 3",
                         "num_experts_per_tok: is 5, more than the 4 experts"] {
            #expect("\(absurd)".contains(expected), "\(expected) not in: \(absurd)")
        }
        #expect(throws: WorkloadError.self) { try HardwareFiles.parseModelConfig("[1, 2]", file: "a.json", name: "a") }
        #expect(throws: WorkloadError.self) { try HardwareFiles.parseModelConfig("{\"a\": ", file: "a.json", name: "a") }
    }

    /// A device file with the L40S's datasheet figures is the L40S preset; mistakes are listed by key and line.
    @Test func aDeviceFileDescribesAGPU() throws {
        let gpu = try HardwareFiles.parseDevice("""
            name: L40S
            dense_tflops: 362
            memory_bandwidth_gbps: 864
            memory_gb: 48
            tdp_watts: 350
            """, file: "gpus/l40s.yaml")
        #expect(gpu.name == "gpus/l40s.yaml" && gpu.displayName == "L40S")
        var renamed = gpu
        renamed.name = "l40s"
        #expect(renamed == .l40s)
        let error = try #require(throws: WorkloadError.self) {
            try HardwareFiles.parseDevice("dense_tflops: -3\nmemory_gb: 48\ncolour: red\n", file: "bad.yaml")
        }
        let message = "\(error)"
        for expected in ["device bad.yaml has 3 problems", "colour: unknown key", "(line 3)",
                         "dense_tflops: must be in", "(line 1)", "memory_bandwidth_gbps: is missing"] {
            #expect(message.contains(expected), "\(expected) not in: \(message)")
        }
        #expect(try HardwareFiles.gpu("/nonexistent/gpu.yaml") == nil)
        #expect(try HardwareFiles.gpu("H100-SXM") == .h100)
    }

    /// A preset file may name its model or GPU by file; the path is kept as written, a name that is neither is an error.
    @Test func aPresetFileMayNameAModelFile() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("Dev-\(UUID().uuidString).yaml")
        try Data("name: D\ndense_tflops: 100\nmemory_bandwidth_gbps: 1000\nmemory_gb: 40\n".utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let preset = try PresetFileLoader.parse("""
            kind: tpbench.preset/1
            model: llama-3.1-8b
            gpu: \(file.path)
            link: nvlink4
            parameters: {mfu: 0.4}
            """)
        #expect(preset.gpu == file.path)
        #expect(throws: WorkloadError.self) {
            try PresetFileLoader.parse("kind: tpbench.preset/1\nmodel: /nonexistent/config.json\ngpu: h100\nlink: nvlink4\n")
        }
    }
}

extension ModelSpec {
    fileprivate func renamed(_ name: String) -> ModelSpec {
        var copy = self
        copy.name = name
        return copy
    }
}
