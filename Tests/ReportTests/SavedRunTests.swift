import Foundation
import Metrics
import Testing
@testable import Report

@Suite struct SavedRunTests {
    static func logged(_ records: [RequestRecord], in directory: URL) throws {
        let log = try RequestLog(url: directory.appendingPathComponent(RequestLog.fileName))
        for record in records { try log.append(record) }
        try log.close()
    }

    @Test func crashedRunRebuildsFromManifestAndLog() throws {
        let directory = try Fixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let records = Fixture.records(count: 50)
        try ReportWriter.writeManifest(Fixture.manifest, to: directory)
        try Self.logged(records, in: directory)
        // Killed mid-write of request 50.
        let handle = try FileHandle(forWritingTo: directory.appendingPathComponent(RequestLog.fileName))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("{\"id\":50,\"target\":\"tp1\",\"e2e".utf8))
        try handle.close()

        let saved = try SavedRun.load(path: directory)
        #expect(saved.records == records)
        #expect(saved.skippedLines == 1)
        #expect(saved.result.workloadName == "fixture")
        #expect(saved.result.summaries.reduce(0) { $0 + $1.requests } == 50)
        #expect(saved.result.summaries.first?.slo == Fixture.manifest.slo)
        #expect(saved.result.notes.contains { $0.contains("truncated") })
        #expect(saved.result.notes.contains { $0.contains("manifest.json") })
        try ReportWriter.write(result: saved.result, records: saved.records, to: saved.directory)
        let report = try String(contentsOf: directory.appendingPathComponent("report.md"), encoding: .utf8)
        #expect(report.contains("Rebuilt from manifest.json"))
    }

    @Test func finishedRunReRendersToTheSameResult() throws {
        let directory = try Fixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let records = Fixture.records(count: 80)
        let result = Fixture.result(records)
        try Self.logged(records, in: directory)
        try ReportWriter.write(result: result, records: records, to: directory)
        let before = try Data(contentsOf: directory.appendingPathComponent("summary.csv"))

        let fromDirectory = try SavedRun.load(path: directory)
        #expect(fromDirectory.result == result)
        let fromFile = try SavedRun.load(path: directory.appendingPathComponent("result.json"))
        #expect(fromFile.result == result && fromFile.records.count == 80)
        let out = directory.appendingPathComponent("again")
        try ReportWriter.write(result: fromDirectory.result, records: fromDirectory.records, to: out)
        #expect(try Data(contentsOf: out.appendingPathComponent("summary.csv")) == before)
    }

    @Test func bareLogBuildsAReportWithUnknownMetadata() throws {
        let directory = try Fixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try Self.logged(Fixture.records(count: 20), in: directory)
        let saved = try SavedRun.load(path: directory.appendingPathComponent(RequestLog.fileName))
        #expect(Set(saved.result.summaries.map(\.target)) == ["tp1", Fixture.awkwardTarget])
        #expect(saved.result.notes.first?.contains("unknown") == true)
    }

    @Test func resultAloneRendersWithoutRecords() throws {
        let directory = try Fixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = Fixture.result(Fixture.records(count: 30))
        try ReportWriter.write(result: result, records: [], to: directory)
        let saved = try SavedRun.load(path: directory.appendingPathComponent("result.json"))
        #expect(saved.result == result && saved.records.isEmpty)
    }

    @Test(arguments: ["missing", "empty-dir", "garbled-result", "wrong-schema", "not-json"])
    func badInputsAreClearErrors(kind: String) throws {
        let directory = try Fixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var path = directory
        switch kind {
        case "missing": path = directory.appendingPathComponent("nope")
        case "empty-dir": break
        case "garbled-result":
            path = directory.appendingPathComponent("result.json")
            try Data("{\"schema\": \"tpbench.result/1\", \"runID\": 3}".utf8).write(to: path)
        case "wrong-schema":
            path = directory.appendingPathComponent("result.json")
            var json = try JSONSerialization.jsonObject(
                with: ReportWriter.encodeJSON(Fixture.result([]), path: "")) as! [String: Any]
            json["schema"] = "tpbench.result/99"
            try JSONSerialization.data(withJSONObject: json).write(to: path)
        default:
            path = directory.appendingPathComponent("result.json")
            try Data("<html>".utf8).write(to: path)
        }
        let error = try #require(throws: ReportError.self) { try SavedRun.load(path: path) }
        #expect(error.description.contains(path.path))
        #expect(!error.reason.isEmpty && !error.fix.isEmpty)
    }
}
