import Foundation
import LoadGen
import Metrics
import Testing
import Workload

/// `llamacpp_like_server.py`: llama.cpp's endpoints and stream shape with the tiny model's real BPE tokenizer.
final class LlamaCppLikeServer: @unchecked Sendable {  // immutable after init
    let process = Process()
    let url: String

    init() throws {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("llamacpp_like_server.py").path
        process.executableURL = URL(fileURLWithPath: RealServer.python!)
        process.arguments = [script, RealServer.model!, "--port", "0", "--ttft-ms", "10", "--itl-ms", "2"]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        // The first line is "listening: URL".
        var line = Data()
        while let byte = try pipe.fileHandleForReading.read(upToCount: 1), !byte.isEmpty, byte != Data("\n".utf8) {
            line.append(byte)
        }
        guard let text = String(data: line, encoding: .utf8), text.hasPrefix("listening: ") else {
            process.terminate()
            throw CocoaError(.fileReadUnknown)
        }
        url = String(text.dropFirst("listening: ".count))
    }

    deinit {
        // Not waitUntilExit: from a Swift-concurrency thread it can hang (it waits on a run loop). Foundation reaps
        // the child by itself; poll isRunning for a bounded time.
        process.terminate()
        for _ in 0..<100 where process.isRunning { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}

@Suite(.serialized, .enabled(if: RealServer.python != nil && RealServer.model != nil,
                             "set TPBENCH_VLLM_PYTHON and TPBENCH_VLLM_MODEL (scripts/test-vllm does)"))
struct LlamaCppDialectTests {
    @Test(arguments: [128, 1000, 8000])
    func promptsAreExactInLlamaCppsDialect(tokens: Int) async throws {
        let server = try LlamaCppLikeServer()
        var spec = tinyWorkload(promptTokens: tokens, maxTokens: 4, concurrency: 4, requests: 100)
        spec.prompt.system = "You are a careful assistant."
        let output = try await Benchmark.run(workload: spec, target: Target(name: "llama", baseURLs: [server.url]),
                                             settings: RequestSettings())
        // A vLLM body gets {"tokens": []} here: that must mean "wrong dialect", never a count of 0.
        #expect(output.calibration.dialect == "llama.cpp", "\(output.calibrationNote)")
        #expect(output.calibration.missed <= 1, "\(output.calibrationNote)")
        let sent = withinOne(output.records)
        #expect(sent.within >= 99, "usage.prompt_tokens within ±1 of \(tokens): \(sent.within) of 100")
        #expect(output.summary.failed == 0, "\(output.summary.failureSamples)")
    }

    @Test func itsStreamShapeDecodes() async throws {
        // First chunk content null, then tokens, a finish chunk, then choices: [] with the usage, then [DONE].
        let server = try LlamaCppLikeServer()
        let spec = tinyWorkload(promptTokens: 64, maxTokens: 20, concurrency: 2, requests: 8)
        let output = try await Benchmark.run(workload: spec, target: Target(name: "llama", baseURLs: [server.url]),
                                             settings: RequestSettings())
        #expect(output.summary.failed == 0, "\(output.summary.failureSamples)")
        for record in output.records {
            #expect(record.outputTokens == 20 && !record.outputTokensEstimated, "usage from the choices: [] chunk")
            #expect(record.tokenEventOffsetsMs.count == 20, "the role chunk with content null is no token")
            #expect(record.finishReason == "length")
            #expect(record.promptTokens == 64)
        }
        // TTFT: the server's 10 ms plus its own work; ITL: 2 ms of sleep plus Python's own per-chunk time.
        let ttft = try #require(output.summary.ttftMs)
        #expect(ttft.p50 >= 10 && ttft.p50 < 60, "TTFT p50 \(ttft.p50)")
        let itl = try #require(output.summary.itlEventMs)
        // Gaps jitter around the 2 ms sleep (a late write makes the next gap short), so the median may sit just under it.
        #expect(itl.p50 > 1.5 && itl.p50 < 8, "ITL p50 \(itl.p50)")
    }
}
