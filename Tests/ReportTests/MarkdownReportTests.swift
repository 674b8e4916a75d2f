import Foundation
import Metrics
import Testing
@testable import Report

@Suite struct MarkdownReportTests {
    static func render(_ records: [RequestRecord] = Fixture.records(), health: Bool = true) throws -> String {
        let directory = try Fixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try ReportWriter.write(result: Fixture.result(records, health: health), records: records, to: directory)
        return try String(contentsOf: directory.appendingPathComponent("report.md"), encoding: .utf8)
    }

    static func hasNonFiniteText(_ text: String) -> Bool {
        text.range(of: #"(?i)\b(nan|-?inf(inity)?)\b"#, options: .regularExpression) != nil
    }

    @Test func containsEverySection() throws {
        let report = try Self.render()
        for heading in ["# tpbench report: fixture", "## Summary", "### Target `tp1`", "## Input and output tokens",
                        "## Failures", "## Schema validity", "## Client health", "## Replicas", "## Charts",
                        "## Notes", "## Run manifest", "## Metric definitions"] {
            #expect(report.contains(heading + "\n"), "missing \(heading)")
        }
        for text in ["TTFT (ms)", "ITL per event (ms)", "ITL per token (ms)", "TPOT (ms)", "E2E (ms)", "req/s",
                     "output throughput", "peak output throughput", "goodput", "SLO attainment", "error rate",
                     "http-5xx", "timeout-idle", "Service Unavailable", "> **Warning:** loop 0 loop lag",
                     "![TTFT CDF (successful requests)](charts/ttft-cdf.svg)", "charts/itl-event-distribution.svg",
                     "charts/ttft-over-time.svg", "charts/output-tokens-per-second.svg",
                     "charts/requests-in-flight.svg", "`tpbench run --workload fixture.yaml`", "| seed ", "42",
                     "tpbench version", "[^ttft]:", "[^itl-event]:", "[^tpot]:", "AIPerf", "ICL", "GuideLLM",
                     "cost per 1M output tokens", "TTFT from intended start (ms)", "http://127.0.0.1:8002"] {
            #expect(report.contains(text), "missing \(text)")
        }
    }

    @Test(arguments: [0, 1, 5, 240])
    func neverShowsNaNOrInfinity(count: Int) throws {
        // Zero records, one record, and a handful exercise every empty and single-value path.
        let report = try Self.render(Array(Fixture.records().prefix(count)), health: count % 2 == 0)
        #expect(!Self.hasNonFiniteText(report), "\(report)")
        #expect(report.contains("## Metric definitions"))
    }

    @Test func allFailedRunSaysSoWithoutNumbers() throws {
        let records = (0..<4).map {
            RequestRecord(id: $0, target: "tp1", replica: "r", startMs: Double($0), e2eMs: 1, httpStatus: 0,
                          failure: .connect, failureMessage: "Connection refused")
        }
        let report = try Self.render(records)
        #expect(!Self.hasNonFiniteText(report))
        #expect(report.contains("| TTFT (ms) [^ttft]"))
        #expect(report.contains("n/a"))
        #expect(report.contains("100.0% (4 of 4)"))
    }

    @Test func tablesAreAlignedInTheRawText() throws {
        let report = try Self.render()
        var block: [String] = []
        var tables = 0
        for line in report.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) + [""] {
            if line.hasPrefix("|") {
                block.append(line)
                continue
            }
            if !block.isEmpty {
                tables += 1
                let widths = Set(block.map(\.count))
                #expect(widths.count == 1, "unaligned table:\n\(block.joined(separator: "\n"))")
                let columns = Set(block.map { $0.replacingOccurrences(of: "\\|", with: "").filter { $0 == "|" }.count })
                #expect(columns.count == 1, "ragged table:\n\(block.joined(separator: "\n"))")
                block = []
            }
        }
        #expect(tables >= 10)
    }

    @Test func openLoopRowsOnlyWhenThereAreIntendedStarts() throws {
        var records = Fixture.records(count: 40)
        for index in records.indices { records[index].intendedStartMs = nil }
        let report = try Self.render(records)
        #expect(!report.contains("TTFT from intended start"))
        #expect(!report.contains("send lag"))
    }
}
