import Foundation
import Testing
import TestSupport

/// The real `tpbench` binary, run as a user would: bad input gets a clear message and the documented exit code,
/// never a crash; secrets never reach any output.
@Suite(.serialized)
struct CLITests {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static var binary: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("tpbench")
    }

    func tpbench(_ arguments: [String], environment: [String: String] = [:]) throws -> Result {
        let process = Process()
        process.executableURL = Self.binary
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                      stderr: String(decoding: stderr, as: UTF8.self))
    }

    func temporary(_ name: String) -> URL {
        URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("tpbench-cli-\(name)-\(UUID().uuidString)")
    }

    func expectNoCrash(_ r: Result) {
        for marker in ["Fatal error", "Stack dump", "Current stack trace", "SIGSEGV", "SIGILL"] {
            #expect(!r.stderr.contains(marker), "crashed: \(r.stderr)")
        }
    }

    @Test func missingURLIsAUsageError() throws {
        let r = try tpbench(["run"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("--url is required"))
        expectNoCrash(r)
    }

    @Test(arguments: [
        ["run", "--url", "127.0.0.1:8000"],
        ["run", "--url", "http://127.0.0.1:8000", "--concurrency", "0"],
        ["run", "--url", "http://127.0.0.1:8000", "--extra-body", "{not json"],
        ["run", "--url", "http://127.0.0.1:8000", "--fail-on", "ttft>5"],
        ["run", "--url", "http://127.0.0.1:8000", "--no-such-flag"],
        ["compare", "--workload", "x.yaml"],
    ])
    func badFlagsExitWithTwo(arguments: [String]) throws {
        let r = try tpbench(arguments)
        #expect(r.status == 2, "\(arguments): \(r.status) \(r.stderr)")
        #expect(!r.stderr.isEmpty)
        expectNoCrash(r)
    }

    @Test func badWorkloadNamesFieldAndLine() throws {
        let file = temporary("bad") .appendingPathExtension("yaml")
        try "name: bad\nload:\n  rate: -3\n  requests: 10\n  concurency: 4\n".write(to: file, atomically: true, encoding: .utf8)
        let r = try tpbench(["run", "--url", "http://127.0.0.1:9", "--workload", file.path])
        #expect(r.status == 2)
        #expect(r.stderr.contains("load.rate: must be in 0.000001...1000000, got -3 (line 3)"), "\(r.stderr)")
        #expect(r.stderr.contains("did you mean 'concurrency'"))
        expectNoCrash(r)
    }

    @Test func unreachableTargetExitsWithThree() throws {
        let r = try tpbench(["run", "--url", "http://127.0.0.1:9", "--requests", "2", "--quiet",
                             "--out", temporary("unreachable").path])
        #expect(r.status == 3, "\(r.status) \(r.stderr)")
        #expect(r.stderr.contains("cannot reach http://127.0.0.1:9"))
        expectNoCrash(r)
    }

    @Test func runWritesReportsKeepsTheKeySecretAndAppliesThresholds() async throws {
        let server = try await ScriptedServer.start(.stream(StreamScript(ttftMs: 30, itlMs: 2, tokens: 10)))
        let out = temporary("run")
        let secret = "sk-tpbench-test-SECRET-4242"
        let r = try tpbench(["run", "--url", server.baseURL, "--concurrency", "4", "--requests", "12", "--quiet",
                             "--out", out.path, "--fail-on", "ttft_p50_ms>1"],
                            environment: ["OPENAI_API_KEY": secret])
        try await server.shutdown()
        #expect(r.status == 1, "threshold must fail the run: \(r.stderr)")
        #expect(r.stderr.contains("threshold crossed: ttft_p50_ms>1.0"))
        #expect(r.stdout.contains("TTFT (ms)"))
        let files = try FileManager.default.subpathsOfDirectory(atPath: out.path)
        for name in ["manifest.json", "requests.jsonl", "result.json", "requests.csv", "summary.csv", "report.md"] {
            #expect(files.contains(name), "missing \(name)")
        }
        for file in files {
            let data = FileManager.default.contents(atPath: out.appendingPathComponent(file).path) ?? Data()
            #expect(!String(decoding: data, as: UTF8.self).contains(secret), "the API key leaked into \(file)")
        }
        #expect(!r.stdout.contains(secret) && !r.stderr.contains(secret))
    }
}
