import Foundation
import Metrics
import Report
import Testing

/// Nothing measured is lost: signals, SIGKILL, unwritable and full output directories, on the real binary.
@Suite(.serialized)
struct InterruptTests {
    typealias R = FaultResponses

    /// Each request streams 8 tokens over ~0.4 s.
    static func slowServer() async throws -> FaultServer {
        try await FaultServer.start { _, _ in [R.head()] + R.tokens(8, gapMs: 50) + [R.event("[DONE]"), .close] }
    }

    func runArguments(_ server: FaultServer, out: URL, requests: Int = 1000, extra: [String] = []) -> [String] {
        ["run", "--url", server.baseURL, "--model", "m", "--concurrency", "4", "--requests", String(requests),
         "--prompt-tokens", "8", "--max-tokens", "8", "--quiet", "--no-server-metrics", "--out", out.path] + extra
    }

    func records(_ out: URL) throws -> RequestLogContents {
        try RequestLog.read(from: out.appendingPathComponent(RequestLog.fileName))
    }

    @Test(arguments: [SIGINT, SIGTERM])
    func firstSignalStopsIssuingLetsInFlightFinishAndWritesTheReport(signal: Int32) async throws {
        let server = try await Self.slowServer()
        defer { Task { await server.shutdown() } }
        let out = temporaryDirectory("sig")
        let cli = try CLIProcess(runArguments(server, out: out))
        #expect(await eventually(15) { lineCount(out.appendingPathComponent("requests.jsonl")) >= 4 })
        cli.signal(signal)
        let status = await cli.wait(seconds: 12)
        #expect(status == 130, "status \(String(describing: status)): \(cli.stderr)")
        #expect(cli.stderr.contains("interrupted: no new requests"))
        expectNoCrash(cli.stderr)
        let log = try records(out)
        #expect(log.skippedLines == 0)
        // Every request the server was sent is on disk, and those in flight finished (0.4 s < the 10 s grace).
        #expect(log.records.count == server.counters.requests)
        #expect(log.records.count < 1000)
        #expect(log.records.allSatisfy { $0.failure == nil }, "\(log.records.compactMap(\.failure))")
        for name in ["result.json", "report.md", "requests.csv"] {
            #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent(name).path), "missing \(name)")
        }
    }

    @Test func inFlightRequestsAreCancelledAfterTheGracePeriod() async throws {
        let server = try await FaultServer.start { _, _ in [R.head()] + R.tokens(1, finish: false) + [.stall] }
        defer { Task { await server.shutdown() } }
        let out = temporaryDirectory("grace")
        let cli = try CLIProcess(runArguments(server, out: out, extra: ["--idle-timeout", "60"]),
                                 environment: ["TPBENCH_INTERRUPT_GRACE_S": "0.5"])
        #expect(await eventually(15) { server.counters.requests >= 4 })
        try await Task.sleep(for: .milliseconds(200))
        cli.signal(SIGINT)
        let status = await cli.wait(seconds: 8)
        #expect(status == 130, "\(cli.stderr)")
        let log = try records(out)
        #expect(log.records.count == 4)
        #expect(log.records.allSatisfy { $0.failure == .cancelled }, "\(log.records.map(\.failure))")
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("report.md").path))
    }

    @Test func secondSignalExitsAtOnceWithTheLogIntact() async throws {
        let server = try await FaultServer.start { _, _ in [R.head()] + R.tokens(1, finish: false) + [.stall] }
        defer { Task { await server.shutdown() } }
        let out = temporaryDirectory("twice")
        let cli = try CLIProcess(runArguments(server, out: out, extra: ["--idle-timeout", "60"]))
        #expect(await eventually(15) { server.counters.requests >= 4 })
        cli.signal(SIGINT)
        try await Task.sleep(for: .milliseconds(300))
        let started = Date()
        cli.signal(SIGINT)
        let status = await cli.wait(seconds: 5)
        #expect(status == 130, "\(cli.stderr)")
        #expect(Date().timeIntervalSince(started) < 2)
        #expect(cli.stderr.contains("interrupted again"))
        let log = try records(out)  // nothing finished (all stalled): the log exists and every line decodes
        #expect(log.skippedLines == 0)
    }

    @Test func sigkillLeavesALogThatReportRebuilds() async throws {
        let server = try await Self.slowServer()
        defer { Task { await server.shutdown() } }
        let out = temporaryDirectory("kill")
        let cli = try CLIProcess(runArguments(server, out: out))
        #expect(await eventually(15) { lineCount(out.appendingPathComponent("requests.jsonl")) >= 8 })
        cli.signal(SIGKILL)
        _ = await cli.wait(seconds: 5)
        let kept = try records(out).records.count
        #expect(kept >= 8)
        #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent("report.md").path))
        let report = try await CLIProcess.run(["report", out.path])
        #expect(report.status == 0, "\(report.stderr)")
        #expect(report.stdout.contains("(\(kept) requests)"), "\(report.stdout)")
        let md = try String(contentsOf: out.appendingPathComponent("report.md"), encoding: .utf8)
        #expect(md.contains("TTFT"))
    }

    @Test func unwritableOutputDirectoryIsRejectedBeforeAnyRequest() async throws {
        let server = try await Self.slowServer()
        defer { Task { await server.shutdown() } }
        // Running as root defeats permission bits, so use a path whose parent is a regular file.
        let file = temporaryDirectory("file")
        try Data("x".utf8).write(to: file)
        let r = try await CLIProcess.run(runArguments(server, out: file.appendingPathComponent("run"), requests: 4))
        #expect(r.status == 2, "\(String(describing: r.status)) \(r.stderr)")
        #expect(r.stderr.contains("--out"), "\(r.stderr)")
        #expect(r.stderr.contains(file.path))
        expectNoCrash(r.stderr)
        #expect(server.counters.requests == 0)
    }

    @Test func fullDiskMidRunStopsTheRunWithAClearMessage() async throws {
        let server = try await Self.slowServer()
        defer { Task { await server.shutdown() } }
        // requests.jsonl → /dev/full: opening and the preflight succeed, every append fails with ENOSPC.
        let out = temporaryDirectory("full")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: out.appendingPathComponent("requests.jsonl").path,
                                                   withDestinationPath: "/dev/full")
        let r = try await CLIProcess.run(runArguments(server, out: out, requests: 200))
        #expect(r.status == 1, "\(String(describing: r.status)) \(r.stderr)")
        #expect(r.stderr.contains("No space left on device"), "\(r.stderr)")
        #expect(r.stderr.contains("free disk space"))
        expectNoCrash(r.stderr)
        // Stopped at the first failed write: the 4 in flight (and perhaps a few more already issued) finish.
        #expect(server.counters.requests < 20, "\(server.counters.requests) requests sent into the void")
    }
}
