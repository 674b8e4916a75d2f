import Testing

@testable import LatencyModel

@Suite struct StepTimeModelTests {
    let qwen = ModelSpec.qwen3_30b_a3b

    @Test func qwen3MoEParameterCountsMatchTheModelCard() {
        // Qwen3-30B-A3B: 30.5B total, 3.3B activated (model card); ours excludes norms.
        #expect(abs(qwen.totalParameters / 1e9 - 30.5) < 0.3)
        // Activated without the LM head: 48·(18.87M attention + 0.26M router + 8·4.72M experts) ≈ 2.73B.
        #expect(abs(qwen.activeParametersPerTokenWithoutHead / 1e9 - 2.73) < 0.02)
        // 2 (K,V) · 48 layers · 4 heads · 128 · 2 bytes.
        #expect(qwen.kvBytesPerToken == 98_304)
    }

    @Test func expectedExpertsTouchedSaturates() {
        #expect(abs(qwen.expectedExpertsTouched(tokens: 1) - 8) < 1e-9)
        // 128·(1−(120/128)^100) = 127.80
        #expect(abs(qwen.expectedExpertsTouched(tokens: 100) - 127.80) < 0.01)
        #expect(ModelSpec.llama3_1_8b.expectedExpertsTouched(tokens: 100) == 0)
    }

    @Test func decodeStepOnOneH200IsAbout20ms() {
        // Hand computation: W_read = (48·(18.87M + 0.26M + 127.8·4.72M) + 311M)·2 B = 60.4 GB;
        // KV_read = 100·1250·98304 B = 12.3 GB; (60.4 + 12.3) GB / (4.8 TB/s · 0.8) = 18.9 ms;
        // compute 0.7 TFLOP / (989 T · 0.5) = 1.4 ms (memory-bound); + 1.5 ms CPU = 20.4 ms.
        let model = StepTimeModel(ReplicaSpec(model: qwen, gpu: .h200))
        let b = model.breakdown(.decode(sequences: 100, context: 1250))
        #expect(abs(b.memory - 0.0189) < 0.0005)
        #expect(b.compute < 0.002)
        #expect(b.communication == 0)
        #expect(abs(b.total - 0.0204) < 0.001)
    }

    @Test func decodeStepAtTP4OverNVLinkIsAbout8ms() {
        // memory 18.9/4 = 4.73 ms; comm 96 all-reduces · (10 µs + 1.5·409.6 kB/360 GB/s = 1.7 µs) = 1.12 ms;
        // CPU 1.5 + sync 1 ms ⇒ 8.35 ms.
        let model = StepTimeModel(ReplicaSpec(model: qwen, gpu: .h200, tensorParallel: 4, link: .nvlink4))
        let b = model.breakdown(.decode(sequences: 100, context: 1250))
        #expect(abs(b.memory - 0.00473) < 0.0002)
        #expect(abs(b.communication - 0.00112) < 0.00005)
        #expect(abs(b.total - 0.00835) < 0.0005)
    }

    @Test func degradedPCIeIsDominatedByAllReduceLatency() {
        // 96 · (600 µs + 1.5·409.6 kB/45 GB/s = 13.7 µs) = 58.9 ms.
        let model = StepTimeModel(ReplicaSpec(model: qwen, gpu: .h200, tensorParallel: 4, link: .pcieDegraded))
        let b = model.breakdown(.decode(sequences: 100, context: 1250))
        #expect(abs(b.communication - 0.0589) < 0.0005)
    }

    @Test func allReduceLatencyScalesWithRingHops() {
        let link = LinkSpec.nvlink4
        #expect(link.allReduceLatency(tensorParallel: 1) == 0)
        #expect(abs(link.allReduceLatency(tensorParallel: 2) - 10e-6 / 3) < 1e-12)
        #expect(abs(link.allReduceLatency(tensorParallel: 4) - 10e-6) < 1e-12)
        #expect(abs(link.allReduceLatency(tensorParallel: 8) - 10e-6 * 14 / 6) < 1e-12)
    }

    @Test func fullPrefillChunkIsComputeBound() {
        // 8192 tokens: 2·8192·2.73B = 44.7 TFLOP (+ attention, + 8 LM-head rows) ≈ 47 TFLOP / 494.5 TFLOP/s ≈ 95 ms.
        var w = StepWorkload()
        for _ in 0..<8 { w.add(newTokens: 1024, contextBefore: 0, samples: true) }
        let b = StepTimeModel(ReplicaSpec(model: qwen, gpu: .h200)).breakdown(w)
        #expect(b.isComputeBound)
        #expect(b.compute > 0.085 && b.compute < 0.105)
    }

    @Test func defaultsFollowDeviceMemory() {
        let big = ReplicaSpec(model: .llama3_1_8b, gpu: .h100)
        #expect(big.maxNumBatchedTokens == 8192 && big.maxNumSeqs == 1024)
        let small = ReplicaSpec(model: .llama3_1_8b, gpu: .l40s)
        #expect(small.maxNumBatchedTokens == 2048 && small.maxNumSeqs == 256)
    }

    @Test func kvCapacityComesFromMemoryLeftAfterWeights() {
        let p = ReplicaSpec(model: qwen, gpu: .h200)
        // (141·0.9 − 61.1 − 2) GB / 98304 B ≈ 649k tokens ≈ 40.5k blocks.
        #expect(p.kvBlocks > 39_000 && p.kvBlocks < 42_000)
        let tp4 = ReplicaSpec(model: qwen, gpu: .h200, tensorParallel: 4)
        #expect(tp4.kvBlocks > 4 * p.kvBlocks)
        #expect(ReplicaSpec(model: .llama3_1_70b, gpu: .a10g).validationProblem() != nil)
        #expect(ReplicaSpec(model: qwen, gpu: .h200).validationProblem() == nil)
    }
}
