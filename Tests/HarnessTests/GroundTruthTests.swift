import Foundation
@testable import Harness
import Testing

/// The ground-truth bench (#17): a server with an exact schedule whose events carry their send time, so the
/// client's error is measured per event, not inferred.
@Suite(.serialized)
struct GroundTruthTests {
    @Test func theClientsErrorIsMeasuredPerEventAndSmallAtLightLoad() async throws {
        let m = try await GroundTruthBench.measure(streams: 50, requests: 100, tokens: 20, ttftMs: 50, itlMs: 10)
        #expect(m.failures == 0 && m.unpaired == 0, "\(m)")
        #expect(m.events == 100 * 20)
        // The schedule comes through: TTFT 50 ms (plus connect and the server's lateness), ITL 10 ms.
        // TTFT = connection and request (first byte) + the 50 ms schedule + the client error.
        #expect(abs(m.measuredTTFTp50Ms - 50 - m.firstByteP50Ms) < 3, "TTFT p50 \(m.measuredTTFTp50Ms), first byte \(m.firstByteP50Ms)")
        #expect(abs(m.measuredITLp50Ms - 10) < 0.5, "ITL p50 \(m.measuredITLp50Ms)")
        // Receive stamp − send time: loopback delivery plus the client's own delay, well under a millisecond here.
        #expect(m.clientErrorP50Ms >= 0 && m.clientErrorP50Ms < 1, "client error p50 \(m.clientErrorP50Ms)")
        #expect(m.clientErrorP99Ms < 10, "client error p99 \(m.clientErrorP99Ms)")
        #expect(m.serverLatenessP99Ms.isFinite && m.serverLatenessP99Ms >= 0)
        let table = GroundTruthBench.render([[m]])
        #expect(table.contains("| 50 | 100 |"))
    }

    @Test func theServerKeepsItsScheduleAndBindsLoopbackOnly() async throws {
        let server = try GroundTruthServer(schedule: .init(ttftNs: 5_000_000, itlNs: 2_000_000, tokens: 3))
        #expect(server.baseURL.hasPrefix("http://127.0.0.1:"))
        let lateness = server.stop()
        #expect(lateness.isEmpty)  // nothing was asked, nothing was sent
    }
}
