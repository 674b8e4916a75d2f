import Foundation
import Metrics
import Testing
import Workload

/// The fault matrix of docs/RELIABILITY.md: each misbehaviour ends on time in the right failure class, every
/// request is accounted for in memory, in requests.jsonl and in the report.
@Suite(.serialized)
struct FaultMatrixTests {
    typealias R = FaultResponses

    func serve(_ steps: [FaultStep]) async throws -> FaultServer {
        try await FaultServer.start { _, _ in steps }
    }

    @Test func refusedConnection() async throws {
        let run = try await FaultRun.run(url: "http://127.0.0.1:\(try closedPort())")
        run.expectOnly(.connect, within: 5)
    }

    @Test func resetMidStream() async throws {
        let server = try await serve([R.head()] + R.tokens(3, finish: false) + [.reset])
        defer { Task { await server.shutdown() } }
        try await FaultRun.run(url: server.baseURL).expectOnly(.truncated, messageContains: "stream cut")
    }

    @Test func stallMidStreamForeverHitsTheIdleTimeout() async throws {
        let server = try await serve([R.head()] + R.tokens(3, finish: false) + [.stall])
        defer { Task { await server.shutdown() } }
        // Two waves of three, each cut 0.6 s after the last byte.
        try await FaultRun.run(url: server.baseURL).expectOnly(.timeoutIdle, within: 6)
    }

    @Test func headersThenNothingHitsTheFirstTokenTimeout() async throws {
        let server = try await serve([R.head(), .stall])
        defer { Task { await server.shutdown() } }
        let timeouts = TimeoutSpec(connectS: 2, firstTokenS: 0.5, idleS: 5, totalS: 8)
        try await FaultRun.run(url: server.baseURL, timeouts: timeouts).expectOnly(.timeoutFirstToken, within: 6)
    }

    @Test func acceptThenSilenceHitsTheFirstTokenTimeout() async throws {
        let server = try await serve([.stall])
        defer { Task { await server.shutdown() } }
        try await FaultRun.run(url: server.baseURL).expectOnly(.timeoutFirstToken, within: 6)
    }

    /// A listener whose accept queue is full drops SYNs, so connects hang: the connect timeout (the engine's sweep
    /// keeps it, not libcurl) ends each as timeout-connect.
    @Test func aConnectThatHangsHitsTheConnectTimeout() async throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        #expect(listen(listener, 0) == 0)
        // Two connections fill the queue of one (never accepted); later SYNs are dropped.
        let fillers = (0..<2).map { _ -> Int32 in
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            _ = fcntl(fd, F_SETFL, O_NONBLOCK)
            _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, length) } }
            return fd
        }
        defer {
            for fd in fillers { close(fd) }
            close(listener)
        }
        try await Task.sleep(for: .milliseconds(100))
        let timeouts = TimeoutSpec(connectS: 0.5, firstTokenS: 5, idleS: 5, totalS: 8)
        let port = Int(UInt16(bigEndian: address.sin_port))
        try await FaultRun.run(url: "http://127.0.0.1:\(port)", timeouts: timeouts).expectOnly(.timeoutConnect, within: 4)
    }

    @Test func slowTrickleHitsTheTotalTimeout() async throws {
        // A byte every 100 ms never trips the idle limit; the total limit still ends it.
        let trickle = (0..<400).flatMap { _ in [FaultStep.wait(100), .text(": ping\n\n")] }
        let server = try await serve([R.head()] + R.tokens(1, finish: false) + trickle)
        defer { Task { await server.shutdown() } }
        let timeouts = TimeoutSpec(connectS: 2, firstTokenS: 5, idleS: 1, totalS: 1.5)
        try await FaultRun.run(url: server.baseURL, timeouts: timeouts).expectOnly(.timeoutTotal, within: 8)
    }

    static let errorCases: [(status: String, body: String, expected: FailureClass, message: String)] = [
        ("500 Internal Server Error",
         #"{"error":{"message":"CUDA out of memory","type":"InternalServerError","code":500}}"#, .http5xx,
         "CUDA out of memory"),
        ("503 Service Unavailable", "upstream connect error", .http5xx, "HTTP 503"),
        ("400 Bad Request", #"{"object":"error","message":"max_tokens is too large","type":"BadRequestError"}"#,
         .http4xx, "max_tokens is too large"),
        ("404 Not Found", "", .http4xx, "HTTP 404"),
        ("401 Unauthorized", #"{"error":{"message":"invalid api key"}}"#, .http4xx, "invalid api key"),
    ]

    @Test(arguments: errorCases.indices)
    func httpErrors(index: Int) async throws {
        let c = Self.errorCases[index]
        let server = try await serve(R.json(c.body, status: c.status))
        defer { Task { await server.shutdown() } }
        try await FaultRun.run(url: server.baseURL).expectOnly(c.expected, messageContains: c.message)
    }

    @Test func tooManyRequestsWithRetryAfter() async throws {
        let body = #"{"error":{"message":"rate limited","type":"RateLimitError","code":429}}"#
        let server = try await serve(R.json(body, status: "429 Too Many Requests", extra: ["Retry-After: 2"]))
        defer { Task { await server.shutdown() } }
        let run = try await FaultRun.run(url: server.baseURL)
        run.expectOnly(.http4xx, messageContains: "HTTP 429: rate limited")
        // Requests are not retried behind the user's back: the server said no, that is the measurement.
        #expect(server.counters.requests == 6)
        #expect(run.summary.failureSamples["http-4xx"]?.contains("retry after 2") == true, "\(run.message)")
    }

    @Test func malformedJSONEvent() async throws {
        let server = try await serve([R.head()] + R.tokens(2, finish: false)
                                     + [R.event(#"{"choices":[{"delta":{"content":"oops"#), R.event("[DONE]"), .close])
        defer { Task { await server.shutdown() } }
        try await FaultRun.run(url: server.baseURL).expectOnly(.malformedEvent)
    }

    @Test func malformedSSEFraming() async throws {
        // Bytes, but no `data:` field ever: not an event stream at all.
        let server = try await serve([R.head(), .text("dta: {\"choices\":[]}\n\nfoo bar\n\n"), .close])
        defer { Task { await server.shutdown() } }
        try await FaultRun.run(url: server.baseURL).expectOnly(.malformedEvent, messageContains: "no SSE data event")
    }

    @Test func inBandErrorEvent() async throws {
        let error = #"{"error":{"message":"engine overloaded","type":"InternalServerError","code":500}}"#
        let server = try await serve([R.head()] + R.tokens(2, finish: false) + [R.event(error), R.event("[DONE]"), .close])
        defer { Task { await server.shutdown() } }
        try await FaultRun.run(url: server.baseURL).expectOnly(.errorEvent, messageContains: "engine overloaded")
    }

    @Test func gigantic10MBEventIsBoundedAndFailsAsEventTooLarge() async throws {
        let line = "data: {\"choices\":[{\"delta\":{\"content\":\"" + String(repeating: "x", count: 10 << 20)
        let server = try await serve([R.head()] + R.tokens(1, finish: false) + [.text(line), .stall])
        defer { Task { await server.shutdown() } }
        let before = residentBytes()
        let run = try await FaultRun.run(url: server.baseURL, maxEventBytes: 1 << 20)
        run.expectOnly(.eventTooLarge, messageContains: "1048576")
        // Six 10 MB lines must not all be buffered: the client keeps at most the bound per request.
        let growth = residentBytes() - before
        #expect(growth < 48 << 20, "RSS grew \(growth >> 20) MiB")
    }

    @Test func gigantic10MBJSONBodyIsBounded() async throws {
        let body = #"{"choices":[{"message":{"content":""# + String(repeating: "y", count: 10 << 20) + #""}}]}"#
        let server = try await serve(R.json(body))
        defer { Task { await server.shutdown() } }
        try await FaultRun.run(url: server.baseURL, maxEventBytes: 1 << 20).expectOnly(.eventTooLarge)
    }

    @Test func nonUTF8BytesInsideContentAreCountedNotFatal() async throws {
        let bad: [UInt8] = Array("data: {\"choices\":[{\"delta\":{\"content\":\"".utf8) + [0xFF, 0xFE, 0xC3, 0x28]
            + Array("\"},\"finish_reason\":\"stop\"}]}\n\n".utf8)
        let server = try await serve([R.head()] + R.tokens(2, finish: false) + [.send(bad), R.event("[DONE]"), .close])
        defer { Task { await server.shutdown() } }
        let run = try await FaultRun.run(url: server.baseURL, keepText: true)
        run.expectAccounted(requests: 6, within: 10)
        #expect(run.classes == ["ok": 6], "\(run.message)")
        #expect(run.records.allSatisfy { $0.tokenEventOffsetsMs.count == 3 })
        #expect(run.records.allSatisfy { $0.outputText?.contains("\u{FFFD}") == true })
    }

    @Test func nonUTF8GarbageEventIsMalformed() async throws {
        let garbage: [UInt8] = Array("data: ".utf8) + [0xFF, 0x00, 0xFE, 0x80, 0x7B] + Array("\n\n".utf8)
        let server = try await serve([R.head(), .send(garbage), R.event("[DONE]"), .close])
        defer { Task { await server.shutdown() } }
        try await FaultRun.run(url: server.baseURL).expectOnly(.malformedEvent)
    }

    @Test func finishedButNeverDoneAndStillOpenHitsTheIdleTimeout() async throws {
        let server = try await serve([R.head()] + R.tokens(3) + [.stall])
        defer { Task { await server.shutdown() } }
        try await FaultRun.run(url: server.baseURL).expectOnly(.timeoutIdle, within: 6)
    }

    @Test func cleanCloseWithoutDoneOrFinishReasonIsTruncated() async throws {
        let server = try await serve([R.head()] + R.tokens(3, finish: false) + [.close])
        defer { Task { await server.shutdown() } }
        try await FaultRun.run(url: server.baseURL).expectOnly(.truncated, messageContains: "without [DONE]")
    }

    @Test func cleanCloseAfterFinishReasonWithoutDoneSucceeds() async throws {
        // The README's metric table: E2E ends at [DONE] "or the last event before a clean close"; a finish_reason proves the answer is complete.
        let server = try await serve([R.head()] + R.tokens(3) + [.close])
        defer { Task { await server.shutdown() } }
        let run = try await FaultRun.run(url: server.baseURL)
        run.expectAccounted(requests: 6, within: 10)
        #expect(run.classes == ["ok": 6], "\(run.message)")
    }

    @Test func htmlInsteadOfAnEventStream() async throws {
        let html = "<!DOCTYPE html><html><body><h1>Welcome to nginx!</h1></body></html>\n"
        let server = try await serve(R.json(html, contentType: "text/html; charset=utf-8"))
        defer { Task { await server.shutdown() } }
        try await FaultRun.run(url: server.baseURL).expectOnly(.malformedEvent, messageContains: "text/html")
    }
}

/// Resident set size of this process in bytes (Linux /proc), for memory-bound checks.
func residentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    return fields.count > 1 ? (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE))) : 0
}
