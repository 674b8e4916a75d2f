import Foundation
import Harness
import MockServer
import Metrics
import Report
import Testing

/// n = 1, 2 and 4 shard processes of the real binary against one mock merge into what one process measures.
@Suite(.serialized)
struct ShardTests {
    static var binary: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("tpbench")
    }

    func workloadFile(_ yaml: String) throws -> URL {
        let url = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("tpbench-shard-\(UUID()).yaml")
        try yaml.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    func fixedMock(ttftMs: Double, itlMs: Double) async throws -> MockServer {
        var configuration = MockConfiguration()
        configuration.fixedLatency = .init(timeToFirstTokenMs: ttftMs, interTokenLatencyMs: itlMs)
        return try await MockServer.start(configuration)
    }

    /// Runs `count` shard processes at once (or the whole workload when count is 1) and returns their directories.
    func runShards(_ count: Int, workload: URL, url: String) throws -> [URL] {
        let root = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("tpbench-shards-\(UUID())")
        let startAt = String(Date().timeIntervalSince1970 + 1.5)
        var processes: [(Process, URL)] = []
        for index in 1...count {
            let directory = root.appendingPathComponent("shard-\(index)")
            let process = Process()
            process.executableURL = Self.binary
            process.arguments = ["run", "--url", url, "--workload", workload.path, "--quiet", "--out", directory.path,
                                 "--start-at", startAt] + (count > 1 ? ["--shard", "\(index)/\(count)"] : [])
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            processes.append((process, directory))
        }
        for (process, _) in processes {
            process.waitUntilExit()
            #expect(process.terminationStatus == 0)
        }
        return processes.map(\.1)
    }

    @Test func closedLoopShardsMergeToTheWhole() async throws {
        let mock = try await fixedMock(ttftMs: 40, itlMs: 4)
        let workload = try workloadFile("""
            name: shard-closed
            prompt: {tokens: 32}
            output: {max_tokens: 20, ignore_eos: true}
            load: {concurrency: 8, requests: 48}
            """)
        var single: RunResult?
        for count in [1, 2, 4] {
            let directories = try runShards(count, workload: workload, url: mock.baseURLs[0])
            let merged = try MergeSession.merge(directories, into: directories[0].deletingLastPathComponent()
                .appendingPathComponent("merged"))
            let summary = try #require(merged.result.summaries.first)
            #expect(summary.requests == 48, "n=\(count)")
            #expect(summary.failed == 0)
            #expect(summary.outputTokens == 48 * 20)
            #expect(Set(merged.records.map(\.id)) == Set(0..<48), "request ids are workload-wide")
            #expect(merged.shards.count == count)
            if let whole = single?.summaries.first {
                #expect(abs((summary.ttftMs?.p50 ?? 0) - (whole.ttftMs?.p50 ?? 0)) < 10, "n=\(count) TTFT p50")
                #expect(abs((summary.itlEventMs?.p50 ?? 0) - (whole.itlEventMs?.p50 ?? 0)) < 2, "n=\(count) ITL p50")
                #expect(merged.result.histograms[summary.target]?["ttft"]?.count == 48)
            } else {
                single = merged.result
            }
        }
        try await mock.shutdown()
    }

    /// A shard whose requests.jsonl lost a record no longer rebuilds the histograms its result.json holds: merge
    /// refuses instead of reporting fewer requests as if they were all there.
    @Test func mergeRefusesAShardWhoseLogDisagreesWithItsResult() async throws {
        let mock = try await fixedMock(ttftMs: 10, itlMs: 2)
        let workload = try workloadFile("""
            name: shard-tampered
            prompt: {tokens: 16}
            output: {max_tokens: 5, ignore_eos: true}
            load: {concurrency: 4, requests: 16}
            """)
        let directories = try runShards(2, workload: workload, url: mock.baseURLs[0])
        try await mock.shutdown()
        let log = directories[1].appendingPathComponent("requests.jsonl")
        let lines = try String(contentsOf: log, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 8)
        try (lines.dropLast().joined(separator: "\n") + "\n").write(to: log, atomically: true, encoding: .utf8)
        let output = directories[0].deletingLastPathComponent().appendingPathComponent("merged")
        do {
            _ = try MergeSession.merge(directories, into: output)
            Issue.record("merge accepted a shard whose requests.jsonl lost a record")
        } catch let error as MergeSession.MergeError {
            #expect(error.message.contains("shard-2"), "\(error.message)")
            #expect(error.message.contains("does not match what requests.jsonl rebuilds"), "\(error.message)")
        }
    }

    @Test func openLoopShardsOfferExactlyTheSchedule() async throws {
        let mock = try await fixedMock(ttftMs: 10, itlMs: 2)
        let workload = try workloadFile("""
            name: shard-open
            prompt: {tokens: 16}
            output: {max_tokens: 4, ignore_eos: true}
            load: {rate: 40, arrival: poisson, requests: 60}
            seed: 9
            """)
        func schedule(_ directories: [URL]) throws -> [Int: Double] {
            var byID: [Int: Double] = [:]
            for directory in directories {
                for record in try SavedRun.load(path: directory).records { byID[record.id] = record.intendedStartMs }
            }
            return byID
        }
        let whole = try schedule(try runShards(1, workload: workload, url: mock.baseURLs[0]))
        let four = try schedule(try runShards(4, workload: workload, url: mock.baseURLs[0]))
        try await mock.shutdown()
        #expect(whole.count == 60 && four.count == 60)
        for (id, intended) in whole {
            #expect(abs((four[id] ?? -1) - intended) < 0.001, "request \(id): \(intended) vs \(four[id] ?? -1)")
        }
    }
}
