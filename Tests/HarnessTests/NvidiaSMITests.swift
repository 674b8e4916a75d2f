import Foundation
@testable import Harness
import Metrics
import Testing

/// nvidia-smi's CSV (`--query-gpu=timestamp,index,name,utilization.gpu,power.draw,memory.used,memory.total
/// --format=csv,noheader,nounits`), as the sampler reads it for launched deployments.
struct NvidiaSMITests {
    @Test func linesBecomeSamplesOnTheRunsTimeline() throws {
        let base = try #require(NvidiaSMISampler.wallClock("2026/12/03 05:40:01.250"))
        let text = """
            2026/12/03 05:40:01.250, 0, NVIDIA H100 80GB HBM3, 87, 512.34, 71234, 81559
            2026/12/03 05:40:01.251, 1, NVIDIA H100 80GB HBM3, 12, [N/A], 1024, 81559
            garbage line
            2026/12/03 05:40:02.250, 0, NVIDIA H100 80GB HBM3, 91, 530.00, 71240, 81559
            2026/12/03 05:40:02.251, 1, NVIDIA H100 80GB HBM3, [Not Supported], 75.5, 1024, 81559
            """
        let parsed = NvidiaSMISampler.parse(text, epochUnix: base - 10)
        #expect(parsed.skipped == 1)
        #expect(parsed.gpus.map(\.id) == ["0", "1"])
        #expect(parsed.gpus[0].model == "NVIDIA H100 80GB HBM3")
        let first = parsed.gpus[0].samples
        #expect(first.count == 2)
        #expect(abs(first[0].second - 10) < 1e-6)
        #expect(abs(first[1].second - 11) < 1e-3)
        #expect(first[1].utilizationPct == 91)
        #expect(first[0].powerW == 512.34)
        #expect(first[0].memoryUsedMiB == 71234)
        #expect(first[0].memoryTotalMiB == 81559)
        #expect(parsed.gpus[1].samples[0].powerW == nil, "[N/A] is a missing value")
        #expect(parsed.gpus[1].samples[1].utilizationPct == nil)
        // Midnight and month ends roll over like the calendar does.
        let before = try #require(NvidiaSMISampler.wallClock("2026/12/31 23:59:59.500"))
        let after = try #require(NvidiaSMISampler.wallClock("2027/01/01 00:00:00.500"))
        #expect(abs(after - before - 1) < 1e-6)
        #expect(NvidiaSMISampler.wallClock("05:40:01") == nil)
    }

    @Test func theCommandLineAsksForTheDeploymentsGPUs() {
        let sampler = NvidiaSMISampler(target: "t", executable: "/usr/bin/nvidia-smi", gpuIDs: [2, 3], intervalMs: 1000,
                                       directory: URL(fileURLWithPath: "/tmp"))
        #expect(sampler.argv == ["/usr/bin/nvidia-smi",
                                 "--query-gpu=timestamp,index,name,utilization.gpu,power.draw,memory.used,memory.total",
                                 "--format=csv,noheader,nounits", "-lms", "1000", "-i", "2,3"])
    }
}
