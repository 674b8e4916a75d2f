import Foundation
import Harness
import LatencyModel
import LoadGen
import Metrics
import MockServer
import Report
import ServerMetrics
import Testing
import Workload

/// Servers that go away and come back, close keep-alive connections under the client, or fail a share of
/// requests in every way the mock can: the run goes on, and every request ends in exactly one class.
@Suite(.serialized)
struct RecoveryTests {
    typealias R = FaultResponses

    @Test func serverDiesDuringTheRunAndComesBack() async throws {
        let script: FaultServer.Script = { _, _ in [R.head()] + R.tokens(20, gapMs: 10) + [R.event("[DONE]"), .close] }
        var server = try await FaultServer.start(script: script)
        let port = server.port
        // Open loop, 25 req/s for 2.4 s: arrivals keep coming while the server is away.
        var spec = WorkloadSpec()
        spec.name = "dies"
        spec.model = "m"
        spec.load.rate = 25
        spec.load.arrival = .constant
        spec.load.durationS = 2.4
        spec.prompt.tokens = .fixed(8)
        spec.prompt.calibrate = false
        spec.output.maxTokens = .fixed(8)
        spec.timeouts = .tight
        let directory = temporaryDirectory("dies")
        let run = Task {
            try await RunSession.run(
                workload: spec, deployment: DeploymentSpec(name: "flaky", urls: ["http://127.0.0.1:\(port)"]),
                directory: directory,
                options: RunSession.Options(commandLine: ["test"], serverMetrics: ServerMetricsSettings(enabled: false)))
        }
        try await Task.sleep(for: .milliseconds(700))
        await server.shutdown()  // dies: streams in flight are cut, new connections refused
        try await Task.sleep(for: .milliseconds(700))
        server = try await FaultServer.start(port: port, script: script)  // comes back on the same port
        let outcome = try await run.value
        await server.shutdown()
        let records = outcome.records
        var classes: [String: Int] = [:]
        for record in records { classes[record.failure?.rawValue ?? "ok", default: 0] += 1 }
        #expect(records.count == 60, "\(classes)")
        #expect(Set(records.map(\.id)) == Set(0..<60))
        #expect(classes["ok", default: 0] >= 20, "\(classes)")
        #expect(classes["connect", default: 0] >= 5, "\(classes)")
        // Streams in flight when it died are cut (or, on a kernel that delivered FIN first, end without [DONE]);
        // a connection the dying server left half-open stalls until the idle timeout, which is its right class.
        #expect(Set(classes.keys).isSubset(of: ["ok", "connect", "truncated", "timeout-idle"]), "\(classes)")
        let logged = try RequestLog.read(from: directory.appendingPathComponent("requests.jsonl"))
        #expect(logged.records.count == 60)
        // Successes after the restart prove the client reconnects instead of sticking to dead connections.
        let lastOK = records.filter { $0.failure == nil }.map(\.startMs).max() ?? 0
        #expect(lastOK > 1400, "no success after the restart: \(classes)")
    }

    @Test func requestOnAKeepAliveConnectionTheServerClosedIsRetriedOnceAndCounted() async throws {
        // Like llama.cpp's server closing idle keep-alive connections: the second request on every connection
        // is read and the connection closed without a byte of answer.
        let body = #"{"choices":[{"index":0,"message":{"content":"a b c"},"finish_reason":"stop"}],"#
            + #""usage":{"prompt_tokens":8,"completion_tokens":3,"total_tokens":11}}"#
        let server = try await FaultServer.start { _, onConnection in
            onConnection == 0 ? R.json(body) : [.close]
        }
        defer { Task { await server.shutdown() } }
        let run = try await FaultRun.run(url: server.baseURL, requests: 8, concurrency: 1)
        run.expectAccounted(requests: 8, within: 10)
        #expect(run.classes == ["ok": 8], "\(run.message)")
        // Request 0 opens a connection; every later one first tries the pooled connection, which dies unanswered.
        let retried = run.records.filter { ($0.retries ?? 0) > 0 }.count
        #expect(retried == 7, "retries: \(run.records.map { $0.retries ?? 0 })")
        #expect(run.records.allSatisfy { ($0.retries ?? 0) <= 1 })
    }

    @Test func aFreshConnectionThatDiesUnansweredIsNotRetried() async throws {
        // No reused connection: the server itself is broken, and retrying would hide it.
        let server = try await FaultServer.start { _, _ in [.close] }
        defer { Task { await server.shutdown() } }
        let run = try await FaultRun.run(url: server.baseURL, requests: 4, concurrency: 1)
        run.expectAccounted(requests: 4, within: 10)
        #expect(run.classes == ["truncated": 4], "\(run.message)")
        // Only a request that went out on a pooled connection (here: the one the /v1/models probe left) may be
        // re-sent, once; the fresh connection it then gets dies too, and that is the answer.
        let retries = run.records.map { $0.retries ?? 0 }
        #expect(retries.allSatisfy { $0 <= 1 }, "\(retries)")
        #expect(server.counters.requests == 4 + retries.reduce(0, +))
    }

    @Test func everyMockFaultAtOnceIsAccountedFor() async throws {
        var config = MockConfiguration()
        config.fixedLatency = .init(timeToFirstTokenMs: 5, interTokenLatencyMs: 2)
        config.seed = 7
        config.faults.errorRate = 0.1
        config.faults.dropRate = 0.1
        config.faults.stallRate = 0.1
        config.faults.slowStartMs = 30
        config.faults.slowStartRate = 0.2
        config.faults.rejectWhenWaitingOver = 64
        let mock = try await MockServer.start(config)
        defer { Task { try? await mock.shutdown() } }
        let run = try await FaultRun.run(url: mock.baseURLs[0], requests: 120, concurrency: 8,
                                         timeouts: TimeoutSpec(connectS: 2, firstTokenS: 2, idleS: 0.5, totalS: 8),
                                         model: nil)
        run.expectAccounted(requests: 120, within: 30)
        let classes = run.classes
        #expect(classes["ok", default: 0] >= 60, "\(classes)")
        #expect(classes["http-5xx", default: 0] >= 3, "\(classes)")
        #expect(classes["truncated", default: 0] >= 3, "\(classes)")
        #expect(classes["timeout-idle", default: 0] >= 3, "\(classes)")
        #expect(Set(classes.keys).isSubset(of: ["ok", "http-5xx", "http-4xx", "truncated", "timeout-idle"]),
                "\(classes)")
    }

    @Test func mockEngineDeathEndsStreamsWithErrorsNotHangs() async throws {
        var config = MockConfiguration()
        config.fixedLatency = .init(timeToFirstTokenMs: 5, interTokenLatencyMs: 5)
        config.faults.engineDeathAfter = 10
        let mock = try await MockServer.start(config)
        defer { Task { try? await mock.shutdown() } }
        let run = try await FaultRun.run(url: mock.baseURLs[0], requests: 30, concurrency: 4, model: nil)
        run.expectAccounted(requests: 30, within: 15)
        let classes = run.classes
        #expect(classes["http-5xx", default: 0] >= 10, "\(classes)")
        #expect(Set(classes.keys).isSubset(of: ["ok", "http-5xx", "error-event", "truncated"]), "\(classes)")
    }
}
