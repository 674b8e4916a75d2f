import Foundation
import Testing
import Workload

/// Trace files: both formats read with their times offset and scaled, windows cut, bad rows named by line.
struct TraceTests {
    func write(_ text: String, _ name: String) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("tpbench-trace-\(UUID().uuidString)-\(name)")
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    @Test func mooncakeRowsAreOffsetScaledAndWindowed() throws {
        let path = try write("""
            {"timestamp": 1000, "input_length": 1024, "output_length": 10, "hash_ids": [0, 1]}
            {"timestamp": 1500, "input_length": 700, "output_length": 20, "hash_ids": [0, 2], "session_id": "a"}
            {"timestamp": 3000, "input_length": 1536, "output_length": 30, "hash_ids": [0, 1, 3]}
            {"timestamp": 9000, "input_length": 100, "output_length": 5}
            """, "m.jsonl")
        let spec = try TraceLoader.spec(file: path, timeScale: 0.5, startS: 0.5, windowS: 2.6)
        #expect(spec.format == .mooncake)
        // Rows at 0.5 s and 2.0 s of trace time are inside [0.5, 3.1); times become (t − 0.5) × 0.5.
        #expect(spec.rows.map(\.timeS) == [0, 0.75])
        #expect(spec.rows.map(\.promptTokens) == [700, 1536])
        #expect(spec.rows[0].session == "a" && spec.rows[1].hashIDs == [0, 1, 3])
        // The whole trace: block 0 repeats in rows 2 and 3 (512 each), block 1 in row 3 (512), block 2 is partial.
        let whole = try TraceLoader.spec(file: path)
        #expect(abs(whole.repeatedBlockShare - Double(512 + 1024) / Double(1024 + 700 + 1536 + 100)) < 1e-12)
    }

    @Test func csvNeedsItsColumnsAndNamesTheBadLine() throws {
        let good = try write("time_s,prompt_tokens,output_tokens,session\n0.25,100,10,u1\n0.10,50,5,\n", "g.csv")
        let spec = try TraceLoader.spec(file: good)
        #expect(spec.format == .csv)
        #expect(spec.rows[0].timeS == 0 && abs(spec.rows[1].timeS - 0.15) < 1e-12)
        #expect(spec.rows.map(\.promptTokens) == [50, 100] && spec.rows[1].session == "u1")
        let bad = try write("time_s,prompt_tokens,output_tokens\n0,100,10\n1,ten,5\n", "b.csv")
        #expect(throws: TraceError.self) { try TraceLoader.spec(file: bad) }
        do { _ = try TraceLoader.spec(file: bad) } catch let error as TraceError {
            #expect(error.line == 3 && error.message.contains("not a number"), "\(error)")
        }
        let header = try write("when,prompt_tokens,output_tokens\n0,1,1\n", "h.csv")
        do { _ = try TraceLoader.spec(file: header); Issue.record("accepted a header without time") } catch let error as TraceError {
            #expect(error.message.contains("time_s"), "\(error)")
        }
        let empty = try write("{\"timestamp\": 0, \"input_length\": 5, \"output_length\": 1}\n", "e.jsonl")
        do { _ = try TraceLoader.spec(file: empty, startS: 10); Issue.record("empty window accepted") } catch let error as TraceError {
            #expect(error.message.contains("no request falls in the window"), "\(error)")
        }
    }

    @Test func workloadFileReadsTraceAndRefusesASecondLoadShape() throws {
        let trace = try write("{\"timestamp\": 0, \"input_length\": 5, \"output_length\": 1}\n"
                              + "{\"timestamp\": 2000, \"input_length\": 6, \"output_length\": 2}\n", "w.jsonl")
        let spec = try WorkloadLoader.parse("trace:\n  file: \(trace)\n  time_scale: 2\n  start: 0s\nload:\n  concurrency: 4\n",
                                            baseDirectory: URL(fileURLWithPath: "/"))
        #expect(spec.trace?.rows.map(\.timeS) == [0, 4])
        let plan = LoadPlan(spec)
        #expect(plan.maxRequests == 2 && plan.concurrencyCeiling == 4 && !plan.isClosedOnly)
        var arrivals = ArrivalGenerator(workload: spec, plan: plan)
        #expect([arrivals.next(), arrivals.next(), arrivals.next()] == [0, 4, nil])
        #expect(throws: WorkloadError.self) {
            try WorkloadLoader.parse("trace:\n  file: \(trace)\nload:\n  rate: 3\n  requests: 5\n",
                                     baseDirectory: URL(fileURLWithPath: "/"))
        }
        #expect(throws: WorkloadError.self) {
            try WorkloadLoader.parse("trace:\n  file: /nonexistent/x.jsonl\n", baseDirectory: URL(fileURLWithPath: "/"))
        }
    }
}
