import Curl
import Foundation
import LoadGen
import Metrics
import MockServer
import Testing
import Workload

/// `--http2` really speaks HTTP/2 (#16): prior knowledge on http:// (the mock serves h2c on its one port), ALPN on
/// https:// (Debian's nghttpd as the real HTTP/2 server), the version on every record, streams multiplexed.
@Suite(.serialized)
struct HTTP2Tests {
    func settings(freshConnections: Bool = false) -> RequestSettings {
        var settings = RequestSettings(httpVersion: .http2, insecure: true, freshConnectionPerRequest: freshConnections)
        settings.keepOutputText = false
        return settings
    }

    @Test func theMockServesCleartextHTTP2AndEveryRecordSaysSo() async throws {
        var config = MockConfiguration()
        config.fixedLatency = .init(timeToFirstTokenMs: 5, interTokenLatencyMs: 2)
        let mock = try await MockServer.start(config)
        defer { Task { try? await mock.shutdown() } }
        // libcurl before 7.89 cannot reuse a prior-knowledge connection (curl issue 10634): one stream each then.
        let fresh = !LibCurl.reusesPriorKnowledgeConnections
        let run = try await FaultRun.run(url: mock.baseURLs[0], requests: 30, concurrency: 6,
                                         timeouts: TimeoutSpec(connectS: 2, firstTokenS: 5, idleS: 5, totalS: 10),
                                         settings: settings(freshConnections: fresh), model: nil)
        run.expectAccounted(requests: 30, within: 30)
        #expect(run.classes == ["ok": 30], "\(run.message)")
        #expect(run.records.allSatisfy { $0.httpVersion == "2" }, "\(run.records.map(\.httpVersion))")
        #expect(run.summary.httpVersions == ["2": 30])
        let report = try String(contentsOf: run.directory.appendingPathComponent("report.md"), encoding: .utf8)
        #expect(report.contains("HTTP/2 (30 requests)"))
        // Over HTTP/1.1 the same mock says 1.1.
        let plain = try await FaultRun.run(url: mock.baseURLs[0], requests: 6, concurrency: 3, model: nil)
        #expect(plain.records.allSatisfy { $0.httpVersion == "1.1" })
    }

    @Test func cleartextHTTP2ThatThisLibcurlCannotCarryIsRefusedUpFront() async throws {
        guard !LibCurl.reusesPriorKnowledgeConnections else { return }  // a fixed libcurl carries it
        var spec = WorkloadSpec()
        spec.load.requests = 2
        await #expect { _ = try await Benchmark.run(workload: spec, target: Target(name: "t", baseURLs: ["http://127.0.0.1:9"]),
                                                    settings: settings()) } throws: {
            "\($0)".contains("curl issue 10634") && "\($0)".contains("https://")
        }
    }

    /// nghttpd (TLS, ALPN h2) serving a fixed SSE answer for every path: 200 requests at 50 in flight ride on one or
    /// two connections (the pacer counts connections, not streams), every record HTTP/2.
    @Test func alpnOverTLSMultiplexesStreams() async throws {
        guard let nghttpd = ["/usr/sbin/nghttpd", "/usr/bin/nghttpd"].first(where: FileManager.default.isExecutableFile),
              FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl") else {
            Issue.record("nghttpd/openssl missing: apt-get install nghttp2-server openssl (.ci/run does)")
            return
        }
        let root = temporaryDirectory("h2root")
        let answer = root.appendingPathComponent("v1/chat/completions")
        try FileManager.default.createDirectory(at: answer.deletingLastPathComponent(), withIntermediateDirectories: true)
        let sse = (0..<5).map { i in
            #"data: {"choices":[{"index":0,"delta":{"content":"t\#(i) "}\#(i == 4 ? #","finish_reason":"length""# : "")}],"usage":{"prompt_tokens":8,"completion_tokens":\#(i + 1)}}"# + "\n\n"
        }.joined() + "data: [DONE]\n\n"
        try Data(sse.utf8).write(to: answer)
        try Data(#"{"object":"list","data":[{"id":"m","object":"model"}]}"#.utf8)
            .write(to: root.appendingPathComponent("v1/models"))
        let key = root.appendingPathComponent("key.pem").path, cert = root.appendingPathComponent("cert.pem").path
        let openssl = Process()
        openssl.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        openssl.arguments = ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1",
                             "-subj", "/CN=127.0.0.1"]
        openssl.standardError = FileHandle.nullDevice
        try openssl.run()
        while openssl.isRunning { try await Task.sleep(for: .milliseconds(20)) }
        let port = try closedPort()
        let server = Process()
        server.executableURL = URL(fileURLWithPath: nghttpd)
        // nghttpd binds every address by default; --address keeps it on loopback.
        server.arguments = ["--address=127.0.0.1", "-d", root.path, String(port), key, cert]
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        // SIGKILL, not terminate(): a child spawned from a Swift-concurrency thread inherits its blocked signals, and
        // nghttpd does not unblock SIGTERM, so every run left one nghttpd listening on loopback.
        defer { kill(server.processIdentifier, SIGKILL) }
        try await Task.sleep(for: .milliseconds(500))
        let run = try await FaultRun.run(url: "https://127.0.0.1:\(port)", requests: 200, concurrency: 50,
                                         timeouts: TimeoutSpec(connectS: 2, firstTokenS: 5, idleS: 5, totalS: 10),
                                         settings: settings(), model: "m")
        run.expectAccounted(requests: 200, within: 30)
        #expect(run.classes == ["ok": 200], "\(run.message)")
        #expect(run.records.allSatisfy { $0.httpVersion == "2" })
        let opened = run.records.filter { $0.reusedConnection == false }.count
        #expect(opened >= 1 && opened <= 3, "\(opened) connections for 50 streams")
    }
}
