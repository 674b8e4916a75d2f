import Foundation
import Testing

/// Bad input everywhere gets a clear message and the documented exit code, never a crash or a stack trace.
@Suite(.serialized)
struct BadInputTests {
    /// Files the cases refer to, written once into a scratch directory.
    static let files: URL = {
        let dir = temporaryDirectory("inputs")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let write = { (name: String, text: String) in
            try? Data(text.utf8).write(to: dir.appendingPathComponent(name))
        }
        write("syntax.yaml", "name: [unclosed\nload: {concurrency: 2\n")
        write("types.yaml", "name: t\nload:\n  concurrency: many\n  requests: -1\n")
        write("empty.yaml", "")
        write("binary.yaml", String(decoding: [0xFF, 0xFE, 0x00, 0x01, 0x80] as [UInt8], as: UTF8.self))
        write("missing-dataset.yaml", "name: t\nprompt:\n  dataset: no-such-file.jsonl\nload: {requests: 2}\n")
        write("bad-dataset.jsonl", "{\"prompt\": \"ok\"}\nnot json at all\n")
        write("bad-dataset.yaml", "name: t\nprompt:\n  dataset: bad-dataset.jsonl\nload: {requests: 2}\n")
        write("dir-dataset.yaml", "name: t\nprompt:\n  dataset: .\nload: {requests: 2}\n")
        write("schema-type.yaml", "name: t\noutput:\n  json_schema: {type: 5}\nload: {requests: 2}\n")
        write("schema-missing.yaml", "name: t\noutput:\n  json_schema: schemas/none.json\nload: {requests: 2}\n")
        write("schema-notjson.json", "{ this is not json")
        write("schema-notjson.yaml", "name: t\noutput:\n  json_schema: schema-notjson.json\nload: {requests: 2}\n")
        write("huge.yaml", "name: t\nload:\n  concurrency: 1e400\n")
        write("range-concurrency.yaml", "name: t\nload:\n  concurrency: 1000000\n  requests: 5\n")
        write("range-timeout.yaml", "name: t\ntimeouts:\n  total: 1e300\nload: {requests: 2}\n")
        write("range-tokens.yaml", "name: t\nprompt: {tokens: 5000000}\nload: {requests: 2}\n")
        write("deploy-syntax.yaml", "deployments: [\n")
        write("deploy-nourl.yaml", "deployments:\n  - name: a\n  - name: b\n    url: http://127.0.0.1:9\n")
        write("deploy-badurl.yaml", "deployments:\n  - name: a\n    url: ftp://x\n  - name: b\n    url: http://127.0.0.1:9\n")
        write("ok.yaml", "name: ok\nprompt: {tokens: 8, calibrate: false}\nload: {concurrency: 1, requests: 1}\n")
        write("preset-bad.yaml", "kind: tpbench.preset/1\nmodel: llama-3.1-8b\ngpu: h100\nlink: nvlink4\nparameters:\n  mbu: 2\n")
        write("preset-other.yaml", "kind: tpbench.preset/1\nmodel: llama-3.1-8b\ngpu: h100\nlink: nvlink4\nparameters:\n  mbu: 0.7\n")
        return dir
    }()

    static func path(_ name: String) -> String { files.appendingPathComponent(name).path }

    static let url = ["--url", "http://127.0.0.1:9"]

    /// (arguments, expected exit status, text the message must contain).
    static let cases: [([String], Int32, String)] = [
        // URLs
        (["run", "--url", "ftp://127.0.0.1:8000"], 2, "ftp://127.0.0.1:8000"),
        (["run", "--url", "http://"], 2, "http://"),
        (["run", "--url", "not a url"], 2, "not a url"),
        (["run", "--url", "http://127.0.0.1:99999"], 2, "99999"),
        (["run", "--url", ""], 2, "--url"),
        // flags
        (["run"] + url + ["--no-such-flag"], 2, "--no-such-flag"),
        (["run"] + url + ["--concurrency"], 2, "--concurrency"),
        (["frobnicate"], 2, "frobnicate"),
        (["run"] + url + ["--api-key", "a", "--api-key-file", "/dev/null"], 2, "not both"),
        (["run"] + url + ["--api-key-file", "/no/such/key"], 2, "/no/such/key"),
        (["run"] + url + ["--routing", "random"], 2, "random"),
        (["compare", "--workload", "x.yaml"], 2, "--deployments"),
        (["compare", "a.json", "--target", "x=http://127.0.0.1:9"], 2, "not both"),
        // numbers out of range
        (["run"] + url + ["--concurrency", "0"], 2, "concurrency"),
        (["run"] + url + ["--concurrency", "-4"], 2, "concurrency"),
        (["run"] + url + ["--requests", "0"], 2, "requests"),
        (["run"] + url + ["--rate", "nan"], 2, "rate"),
        (["run"] + url + ["--rate", "-1"], 2, "rate"),
        (["run"] + url + ["--max-tokens", "-5"], 2, "max"),
        (["run"] + url + ["--client-threads", "1000"], 2, "--client-threads"),
        (["run"] + url + ["--connect-timeout", "0"], 2, "--connect-timeout"),
        (["run"] + url + ["--idle-timeout", "inf"], 2, "--idle-timeout"),
        (["run"] + url + ["--concurrency", "99999999999999999999999"], 2, "concurrency"),
        (["run"] + url + ["--fail-on", "ttft_p95_ms>>3"], 2, "ttft_p95_ms>>3"),
        // every number has a documented range (Limits); out of it is exit 2 naming the range
        (["run"] + url + ["--connect-timeout", "1e300"], 2, "--connect-timeout must be in 0.001...86400 s"),
        (["run"] + url + ["--total-timeout", "90000"], 2, "--total-timeout must be in 0.001...86400 s"),
        (["run"] + url + ["--rate", "1e9"], 2, "--rate must be in"),
        (["run"] + url + ["--max-tokens", "2000000"], 2, "--max-tokens must be in 1...1048576"),
        (["run"] + url + ["--concurrency", "100001"], 2, "--concurrency must be in 1...100000"),
        (["run"] + url + ["--duration", "1e12"], 2, "--duration must be in 0.001...2592000 s"),
        (["run"] + url + ["--connect-rate", "1e30"], 2, "--connect-rate must be in"),
        (["run"] + url + ["--fail-on", "error_rate>0.01"], 2, "is now 'failure_pct' (percent)"),
        (["run"] + url + ["--gpu-metrics-url", "127.0.0.1:9400"], 2, "must be an http(s) URL of a DCGM exporter"),
        (["run"] + url + ["--no-gpu-metrics", "--nvidia-smi", "/x"], 2, "--no-gpu-metrics contradicts"),
        (["run"] + url + ["--workload", path("range-concurrency.yaml")], 2, "load.concurrency: must be in 1...100000"),
        (["run"] + url + ["--workload", path("range-timeout.yaml")], 2, "timeouts.total: must be in 0.001...86400 s"),
        (["run"] + url + ["--workload", path("range-tokens.yaml")], 2, "prompt.tokens: must be in 1...1048576"),
        (["mock", "--time-scale", "1e9"], 2, "--time-scale must be in (0, 1000]"),
        (["mock", "--tokens-per-event", "100000"], 2, "--tokens-per-event must be in 1...4096"),
        (["mock", "--ttft-ms", "1e300", "--itl-ms", "1"], 2, "must be in 0...3600000 ms"),
        (["workloads", "write", "no-such-workload"], 2, "no-such-workload"),
        (["mock", "--port", "70000"], 2, "70000"),
        (["mock", "--error-rate", "1.5"], 2, "--error-rate"),
        (["mock", "--tp", "0"], 2, "tp"),
        (["plan", "--candidates", "tp4"], 2, "is not tp<N>x<R>"),
        (["plan", "--gpu", "b200"], 2, "--gpu b200 is not a known preset"),
        // workload files
        (["run"] + url + ["--workload", "/no/such/workload.yaml"], 2, "/no/such/workload.yaml"),
        (["run"] + url + ["--workload", path("syntax.yaml")], 2, "syntax.yaml"),
        (["run"] + url + ["--workload", path("types.yaml")], 2, "load.concurrency"),
        (["run"] + url + ["--workload", path("empty.yaml")], 2, "empty.yaml"),
        (["run"] + url + ["--workload", path("binary.yaml")], 2, "binary.yaml"),
        (["run"] + url + ["--workload", path("huge.yaml")], 2, "load.concurrency"),
        (["run"] + url + ["--workload", files.path], 2, files.path),
        // datasets
        (["run"] + url + ["--workload", path("missing-dataset.yaml")], 2, "no-such-file.jsonl"),
        (["run"] + url + ["--workload", path("dir-dataset.yaml")], 2, "dataset"),
        // JSON schemas
        (["run"] + url + ["--workload", path("schema-type.yaml")], 2, "json_schema"),
        (["run"] + url + ["--workload", path("schema-missing.yaml")], 2, "schemas/none.json"),
        (["run"] + url + ["--workload", path("schema-notjson.yaml")], 2, "schema-notjson.json"),
        // deployment files
        (["compare", "--workload", path("ok.yaml"), "--deployments", "/no/such/deploy.yaml"], 2, "/no/such/deploy.yaml"),
        (["compare", "--workload", path("ok.yaml"), "--deployments", path("deploy-syntax.yaml")], 2, "deploy-syntax.yaml"),
        (["compare", "--workload", path("ok.yaml"), "--deployments", path("deploy-nourl.yaml")], 2, "url"),
        (["compare", "--workload", path("ok.yaml"), "--deployments", path("deploy-badurl.yaml")], 2, "ftp://x"),
        // saved results
        (["report", "/no/such/run"], 2, "/no/such/run"),
        (["report", path("bad-dataset.jsonl")], 2, "line"),
        (["compare", path("ok.yaml"), path("empty.yaml")], 2, "ok.yaml"),
        // calibrate and presets
        (["calibrate", "/no/such/run"], 2, "/no/such/run"),
        (["calibrate", path("bad-dataset.jsonl"), "--model", "llama-3.1-8b", "--gpu", "h100"], 2, "line"),
        (["calibrate", files.path, "--fit", "mbu,warp_speed"], 2, "warp_speed"),
        (["calibrate", files.path, "--gpu", "h900"], 2, "h900"),
        (["plan", "--preset", path("preset-bad.yaml")], 2, "parameters.mbu: must be in 0.01...1, got 2 (line 6)"),
        (["plan", "--preset", path("preset-other.yaml"), "--model", "qwen3-32b"], 2, "calibrated for llama-3.1-8b on h100"),
        (["mock", "--preset", "/no/such/preset.yaml"], 2, "/no/such/preset.yaml"),
        // unreachable target
        (["run", "--url", "http://127.0.0.1:9", "--requests", "1", "--quiet"], 3, "cannot reach http://127.0.0.1:9"),
    ]

    @Test(arguments: cases.indices)
    func badInput(index: Int) async throws {
        let (arguments, expected, text) = Self.cases[index]
        let out = temporaryDirectory("bad").path
        let full = arguments.first == "run" ? arguments + ["--out", out] : arguments
        let r = try await CLIProcess.run(full, seconds: 20)
        #expect(r.status == expected, "\(arguments): status \(String(describing: r.status)), stderr: \(r.stderr)")
        #expect(r.stderr.contains(text), "\(arguments): message lacks '\(text)': \(r.stderr)")
        #expect(!r.stderr.isEmpty && r.stderr.count < 4000, "\(arguments): \(r.stderr.count) chars of stderr")
        expectNoCrash(r.stderr)
    }

    /// A server that accepts POST /tokenize (and /metrics) and never answers: the probes give up within the run's
    /// --total-timeout, the console says what it waits for, and the load still runs (uncalibrated).
    @Test func aHungProbeIsBoundedAndSaid() async throws {
        let server = try await FaultServer.start(others: [.stall]) { _, _ in FaultResponses.goodStream(tokens: 3) }
        defer { Task { await server.shutdown() } }
        let started = Date()
        let r = try await CLIProcess.run(["run", "--url", server.baseURL, "--requests", "4", "--concurrency", "2",
                                          "--prompt-tokens", "8", "--max-tokens", "3", "--total-timeout", "2",
                                          "--out", temporaryDirectory("hung").path], seconds: 40)
        let seconds = Date().timeIntervalSince(started)
        #expect(r.status == 0, "\(String(describing: r.status)) \(r.stderr)")
        #expect(r.stderr.contains("probing \(server.baseURL): GET /v1/models, then token counting (each probe waits at most 2 s)"),
                "\(r.stderr)")
        #expect(server.counters.requests == 4)
        // Every dialect's probe and the scrape each waited at most 2 s, not the 60 s of fixed probe timeouts.
        #expect(seconds < 30, "took \(seconds) s")
        expectNoCrash(r.stderr)
    }

    @Test func badDatasetLineIsBadInputEvenOnceTheServerAnswered() async throws {
        // Dataset contents are read after the probe (the model is needed), so this needs a live server.
        let server = try await FaultServer.start { _, _ in [.close] }
        defer { Task { await server.shutdown() } }
        let r = try await CLIProcess.run(["run", "--url", server.baseURL, "--workload", Self.path("bad-dataset.yaml"),
                                          "--quiet", "--out", temporaryDirectory("ds").path])
        #expect(r.status == 2, "\(String(describing: r.status)) \(r.stderr)")
        #expect(r.stderr.contains("bad-dataset.jsonl") && r.stderr.contains("line 2"), "\(r.stderr)")
        #expect(server.counters.requests == 0)
        expectNoCrash(r.stderr)
    }

    @Test func htmlOnModelsIsNotOpenAICompatible() async throws {
        let html = "<html><head><title>Welcome to nginx!</title></head><body>It works</body></html>"
        let server = try await FaultServer.start(models: FaultResponses.json(html, contentType: "text/html")) { _, _ in
            [.close]
        }
        defer { Task { await server.shutdown() } }
        let r = try await CLIProcess.run(["run", "--url", server.baseURL, "--requests", "1", "--quiet",
                                          "--out", temporaryDirectory("html").path])
        #expect(r.status == 3, "\(String(describing: r.status)) \(r.stderr)")
        #expect(r.stderr.contains("/v1/models"), "\(r.stderr)")
        #expect(r.stderr.contains("text/html") && r.stderr.contains("Welcome to nginx"), "say what was found: \(r.stderr)")
        #expect(server.counters.requests == 0)
        expectNoCrash(r.stderr)
    }

    @Test func notFoundOnModelsIsNotOpenAICompatible() async throws {
        let server = try await FaultServer.start(models: FaultResponses.json("no", status: "404 Not Found",
                                                                            contentType: "text/plain")) { _, _ in [.close] }
        defer { Task { await server.shutdown() } }
        let r = try await CLIProcess.run(["run", "--url", server.baseURL, "--requests", "1", "--quiet",
                                          "--out", temporaryDirectory("404").path])
        #expect(r.status == 3, "\(String(describing: r.status)) \(r.stderr)")
        #expect(r.stderr.contains("HTTP 404"))
        expectNoCrash(r.stderr)
    }
}
