import Foundation
import Metrics
import Testing
@testable import Report

/// summary.csv must agree with an independent computation from requests.csv of the same records.
@Suite struct CSVAgreementTests {
    /// Linear interpolation between closest ranks (numpy's default), written independently of `Distribution`.
    static func percentile(_ values: [Double], _ q: Double) -> Double {
        let sorted = values.sorted()
        if sorted.count == 1 { return sorted[0] }
        let position = q / 100 * Double(sorted.count - 1)
        let below = Int(position.rounded(.down))
        let above = min(below + 1, sorted.count - 1)
        return sorted[below] * (1 - (position - Double(below))) + sorted[above] * (position - Double(below))
    }

    static func written() throws
        -> (requests: [[String: String]], summary: [[String: String]], records: [RequestRecord]) {
        let records = Fixture.records()
        let directory = try Fixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try ReportWriter.write(result: Fixture.result(records), records: records, to: directory)
        let requests = try String(contentsOf: directory.appendingPathComponent("requests.csv"), encoding: .utf8)
        let summary = try String(contentsOf: directory.appendingPathComponent("summary.csv"), encoding: .utf8)
        return (CSV.table(requests), CSV.table(summary), records)
    }

    @Test func everyPercentileAgreesWithRequestsCSV() throws {
        let (requests, summary, records) = try Self.written()
        #expect(requests.count == records.count)
        // Times in the CSVs carry three decimals (µs): each side may round by 0.0005 ms, and TPOT computed from
        // rounded TTFT and E2E by up to 0.001 ms more.
        let tolerance = 0.0025
        var checked = 0
        for target in ["tp1", Fixture.awkwardTarget] {
            let ok = requests.filter { $0["target"] == target && $0["status"] == "ok" }
            #expect(!ok.isEmpty)
            func column(_ name: String) -> [Double] { ok.compactMap { $0[name].flatMap(Double.init) } }
            let tpot = ok.compactMap { row -> Double? in
                guard let e2e = row["e2e_ms"].flatMap(Double.init), let ttft = row["ttft_ms"].flatMap(Double.init),
                      let n = row["output_tokens"].flatMap(Double.init), n > 1 else { return nil }
                return (e2e - ttft) / (n - 1)
            }
            let expected: [String: [Double]] = [
                "ttft": column("ttft_ms"), "e2e": column("e2e_ms"), "tpot": tpot,
                "output_tokens": column("output_tokens"), "prompt_tokens": column("prompt_tokens"),
            ]
            for (metric, values) in expected {
                let row = try #require(summary.first { $0["target"] == target && $0["metric"] == metric },
                                       "no summary row for \(target) \(metric)")
                #expect(Int(row["count"] ?? "") == values.count, "\(target) \(metric) count")
                let independent: [String: Double] = [
                    "p50": Self.percentile(values, 50), "p90": Self.percentile(values, 90),
                    "p95": Self.percentile(values, 95), "p99": Self.percentile(values, 99),
                    "p99_9": Self.percentile(values, 99.9), "max": values.max()!,
                    "mean": values.reduce(0, +) / Double(values.count),
                ]
                for (column, value) in independent {
                    let written = try #require(row[column].flatMap(Double.init), "\(target) \(metric) \(column)")
                    #expect(abs(written - value) <= tolerance, "\(target) \(metric) \(column): \(written) vs \(value)")
                    checked += 1
                }
            }
            // The pooled ITL per event's maximum is the largest per-request maximum.
            let itl = try #require(summary.first { $0["target"] == target && $0["metric"] == "itl_event" })
            let maxITL = try #require(column("max_itl_ms").max())
            #expect(abs((Double(itl["max"] ?? "") ?? -1) - maxITL) <= tolerance)
            // Failures are rows too, with their class, and stay out of the latency counts.
            let failed = requests.filter { $0["target"] == target && $0["status"] == "failed" }
            #expect(!failed.isEmpty && failed.allSatisfy { !($0["failure_class"] ?? "").isEmpty })
        }
        #expect(checked == 2 * 5 * 7)
    }

    @Test func csvQuotingSurvivesCommasQuotesAndNewlines() throws {
        let (requests, summary, _) = try Self.written()
        #expect(requests.contains { $0["target"] == Fixture.awkwardTarget })
        #expect(summary.contains { $0["target"] == Fixture.awkwardTarget })
        #expect(requests.allSatisfy { $0.count == CSVTables.requestColumns.count })
        let row = CSVTables.row(["a", "b,c", "say \"hi\"", "two\nlines"])
        #expect(row == "a,\"b,c\",\"say \"\"hi\"\"\",\"two\nlines\"\r\n")
        #expect(CSV.parse(row) == [["a", "b,c", "say \"hi\"", "two\nlines"]])
    }

    @Test func unavailableMetricsKeepTheirRowWithEmptyCells() {
        var records = Fixture.records(count: 30)
        for index in records.indices { records[index].tokensPerEvent = nil }
        let summary = CSV.table(CSVTables.summary(Fixture.result(records)))
        let itlToken = summary.filter { $0["metric"] == "itl_token" }
        #expect(itlToken.count == 2)
        #expect(itlToken.allSatisfy { $0["count"] == "0" && $0["p50"] == "" && $0["unit"] == "ms" })
        #expect(!CSVTables.summary(Fixture.result(records)).lowercased().contains("nan"))
    }
}
