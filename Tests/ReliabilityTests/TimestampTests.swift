import Foundation
import Metrics
import Report
import Testing

/// Timestamps (#17): E2E is the arrival of the last event, not the end of the transfer's processing, and every
/// report says how far its timestamps may be off.
@Suite(.serialized)
struct TimestampTests {
    typealias R = FaultResponses

    @Test func endToEndIsTheLastEventsArrivalNotTheConnectionsEnd() async throws {
        // [DONE] at ~10 ms, the connection (Connection: close framing) closed 300 ms later: the answer ended at [DONE].
        let server = try await FaultServer.start { _, _ in
            [R.head()] + R.tokens(4) + [R.event("[DONE]"), .wait(300), .close]
        }
        defer { Task { await server.shutdown() } }
        let run = try await FaultRun.run(url: server.baseURL, requests: 4, concurrency: 2)
        run.expectAccounted(requests: 4, within: 10)
        #expect(run.classes == ["ok": 4], "\(run.message)")
        for record in run.records {
            let lastToken = record.tokenEventOffsetsMs.last ?? 0
            #expect(record.e2eMs - lastToken < 50, "E2E \(record.e2eMs) ms vs last token \(lastToken) ms")
            #expect(record.e2eMs >= lastToken)
        }
    }

    @Test func theReportSaysHowUncertainItsTimestampsAre() async throws {
        let server = try await FaultServer.start { _, _ in R.goodStream(tokens: 20) }
        defer { Task { await server.shutdown() } }
        let run = try await FaultRun.run(url: server.baseURL, requests: 12, concurrency: 4)
        #expect(run.classes == ["ok": 12], "\(run.message)")
        let result = try SavedRun.load(path: run.directory).result
        let health = try #require(result.clientHealth)
        let ms = try #require(health.timestampUncertaintyP99Ms)
        // Measured, and sane: a wake-up takes microseconds to a few ms (the p99 of ~300 wake-ups is the third slowest,
        // which on a busy CI machine can pass the 0.5 ms goal; the warning is then right, so it is not asserted here).
        #expect(ms > 0 && ms < 50, "\(ms) ms")
        #expect(health.loops.allSatisfy { ($0.timestampUncertaintyMaxUs ?? -1) >= 0 })
        let report = try String(contentsOf: run.directory.appendingPathComponent("report.md"), encoding: .utf8)
        #expect(report.contains("timestamps uncertain by up to (p99)"))
        // The warning appears exactly when the figure passes the goal.
        #expect(health.warnings.contains { $0.contains("timestamps uncertain") } == (ms > 0.5), "\(health.warnings)")
    }
}
