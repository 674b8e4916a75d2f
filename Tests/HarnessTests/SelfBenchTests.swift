import Curl
import Foundation
@testable import Harness
import MockServer
import Testing

@Suite(.serialized)
struct SelfBenchTests {
    /// Every way of cutting a stream in two counts the same blank lines as the whole.
    @Test func blankLinesAreCountedAcrossAnySplit() {
        let stream = Array(("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n1e2\r\ndata: {\"a\":1}\n\n"
                            + "data: {\"b\":2}\n\n\r\n10\r\ndata: [DONE]\n\n\r\n0\r\n\r\n").utf8)
        func count(_ pieces: [ArraySlice<UInt8>]) -> Int {
            var afterNewline = false
            return pieces.reduce(0) { total, piece in
                total + Array(piece).withUnsafeBytes {
                    FloorReader.countBlankLines($0, afterNewline: &afterNewline)
                }
            }
        }
        #expect(count([stream[...]]) == 3)
        for cut in 0...stream.count {
            #expect(count([stream[..<cut], stream[cut...]]) == 3, "split at \(cut)")
        }
        #expect(count(stream.map { [$0][...] }) == 3)
    }

    /// The floor reader reads every event of every stream, on the mock's schedule.
    @Test func floorReaderReadsEveryEventOnSchedule() async throws {
        var configuration = MockConfiguration()
        configuration.fixedLatency = .init(timeToFirstTokenMs: 20, interTokenLatencyMs: 10)
        let mock = try await MockServer.start(configuration)
        let port = try #require(URLComponents(string: mock.baseURLs[0])?.port)
        let body = #"{"model":"\#(configuration.servedModelNames[0])","messages":[{"role":"user","content":"hi"}],"#
            + #""max_tokens":30,"stream":true,"stream_options":{"include_usage":true}}"#
        let result = try await FloorReader.run(
            port: UInt16(port), request: FloorReader.httpRequest(path: "/v1/chat/completions", body: Array(body.utf8)),
            streams: 50, connectRate: 5000, deadlineSeconds: 30)
        try await mock.shutdown()
        #expect(result.completedStreams == 50)
        #expect(result.failures == 0)
        // Each stream: a role event, 30 token events, a usage event and [DONE].
        #expect(result.events == 50 * 33)
        // 20 ms + 29 × 10 ms of schedule plus the 10 ms connect ramp; well under a second even on a loaded box.
        #expect(result.wallSeconds >= 0.3 && result.wallSeconds < 1.5, "wall \(result.wallSeconds) s")
        #expect(result.cpuNanoseconds > 0)
    }

    /// A small selfbench run with the floor: both readers see all the token events, tpbench keeps the schedule,
    /// and the table puts the floor row and the ratio line next to tpbench's.
    @Test func selfbenchMeasuresTheClientAndTheFloor() async throws {
        var settings = SelfBench.Settings(scenarios: [
            SelfBench.Scenario(name: "40 streams", streams: 40, ttftMs: 20, itlMs: 10, tokens: 40),
        ])
        settings.repeats = 1
        settings.floor = true
        let measurements = try await SelfBench.run(settings)
        #expect(measurements.map(\.reader) == [.tpbench, .floor])
        let client = measurements[0]
        let floor = measurements[1]
        #expect(client.events == 40 * 40 && client.failures == 0)
        #expect(floor.events == 40 * 40 && floor.failures == 0)
        // E2E on schedule: 20 ms + 39 × 10 ms = 410 ms ideal.
        let stretch = try #require(client.stretch)
        #expect(stretch > 0.99 && stretch < 1.1, "stretch \(stretch)")
        #expect(client.loopCPUMicrosPerEvent > 0 && floor.loopCPUMicrosPerEvent > 0)
        #expect(floor.stretch == nil && floor.memoryKiBPerStream == nil && floor.heapKiBPerStream == nil)
        // 40 streams in flight hold libcurl's handle, connection and 2 KiB receive buffer each: well over 4 KiB per
        // stream. Here the in-process mock's allocations and the run's fixed costs are counted too (42-64 KiB seen
        // at 40 streams), so only a loose upper bound; the per-stream figure at scale is selfbench's (README).
        let heap = try #require(client.heapKiBPerStream)
        #expect(heap > 4 && heap < 512, "heap \(heap) KiB per stream")
        let table = SelfBenchTable.render(measurements)
        #expect(table.contains("40 × 40 tok @ 10 ms, floor (raw sockets)"))
        #expect(table.contains("40 streams: tpbench "))
        // The floor's row leaves the client-only columns empty instead of printing zeros.
        let floorRow = try #require(table.split(separator: "\n").first { $0.contains("floor (raw sockets)") })
        #expect(floorRow.contains("| – |"))
        // JSON (selfbench --json) encodes the floor's missing figures as absent, not as NaN (which cannot encode).
        let json = try JSONEncoder().encode(measurements)
        #expect(json.count > 100)
    }
}
