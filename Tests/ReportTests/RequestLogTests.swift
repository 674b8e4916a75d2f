import Foundation
import Metrics
import Testing
@testable import Report

@Suite struct RequestLogTests {
    @Test func concurrentAppendsRoundTrip() throws {
        let directory = try Fixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent(RequestLog.fileName)
        let records = Fixture.records(count: 400)
        let log = try RequestLog(url: url)
        // MultiLoop threads append concurrently; every line must come out whole.
        DispatchQueue.concurrentPerform(iterations: 4) { worker in
            for record in records where record.id % 4 == worker { try? log.append(record) }
        }
        try log.close()
        let contents = try RequestLog.read(from: url)
        #expect(contents.skippedLines == 0)
        #expect(contents.records.sorted { $0.id < $1.id } == records)
        #expect(throws: ReportError.self) { try log.append(records[0]) }
    }

    @Test func aNewRunsLogReplacesTheOneLeftInItsDirectory() throws {
        // A run into a directory that held one: its requests.csv and report must come from its own records only.
        let directory = try Fixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent(RequestLog.fileName)
        let first = try RequestLog(url: url)
        for record in Fixture.records(count: 7) { try first.append(record) }
        try first.close()
        let second = try RequestLog(url: url)
        let records = Array(Fixture.records(count: 3))
        for record in records { try second.append(record) }
        try second.close()
        #expect(try RequestLog.read(from: url).records == records)
    }

    @Test func truncatedLastLineIsSkippedAndCounted() throws {
        let directory = try Fixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent(RequestLog.fileName)
        let records = Fixture.records(count: 10)
        let log = try RequestLog(url: url)
        for record in records { try log.append(record) }
        try log.close()
        // SIGKILL mid-write: the last line stops half-way, with no newline.
        var data = try Data(contentsOf: url)
        let lastLine = try #require(data.dropLast().lastIndex(of: 0x0A))
        data = data.prefix(lastLine + 1 + 40)
        try data.write(to: url)
        let contents = try RequestLog.read(from: url)
        #expect(contents.records == Array(records.prefix(9)))
        #expect(contents.skippedLines == 1)
    }

    @Test func garbledMiddleLineIsAnErrorNamingTheLine() throws {
        let directory = try Fixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent(RequestLog.fileName)
        let good = String(decoding: try RequestLog.encode(Fixture.records(count: 1)[0]), as: UTF8.self)
        try (good + "\n{\"id\": \"x\"}\n" + good + "\n").write(to: url, atomically: true, encoding: .utf8)
        let error = try #require(throws: ReportError.self) { try RequestLog.read(from: url) }
        #expect(error.description.contains("line 2"))
        #expect(error.description.contains(url.path))
    }

    @Test func diskFullIsReportedToTheCaller() throws {
        // /dev/full accepts the open and fails every write with ENOSPC, like a full disk.
        let log = try RequestLog(url: URL(fileURLWithPath: "/dev/full"))
        let error = try #require(throws: ReportError.self) { try log.append(Fixture.records(count: 1)[0]) }
        #expect(error.description.contains("No space left on device"))
    }

    @Test func missingDirectoryIsAClearError() {
        let url = URL(fileURLWithPath: "/nonexistent-tpbench-dir/requests.jsonl")
        #expect(throws: ReportError.self) { try RequestLog(url: url) }
        #expect(throws: ReportError.self) { try RequestLog.read(from: url) }
    }
}

@Suite struct RequestsCSVFromLogTests {
    @Test func logOrderBecomesIdOrderUpToTheSortLimit() throws {
        let directory = try Fixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent(RequestLog.fileName)
        let records = Fixture.records(count: 120)
        // Completion order differs from id order.
        let completionOrder = records.sorted { $0.endMs < $1.endMs }
        #expect(completionOrder.map(\.id) != records.map(\.id))
        let log = try RequestLog(url: url)
        for record in completionOrder { try log.append(record) }
        try log.close()
        var sorted = ""
        try CSVTables.requests(fromLog: url) { sorted += $0 }
        #expect(sorted == CSVTables.requests(records))
        // Past the limit rows stream out in the log's order, one record in memory at a time.
        var streamed = ""
        try CSVTables.requests(fromLog: url, sortLimit: 50) { streamed += $0 }
        let rows = streamed.split(separator: "\r\n")
        #expect(rows.count == 121)
        #expect(rows.dropFirst().map { Int($0.prefix { $0 != "," })! } == completionOrder.map(\.id))
    }

    @Test func streamingWriterReplacesTheFileWhole() throws {
        let directory = try Fixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("requests.csv")
        try Data("old".utf8).write(to: url)
        struct Stop: Error {}
        // A failure half-way leaves the previous file and no partial file behind.
        #expect(throws: Stop.self) {
            try ReportWriter.writeStreaming(to: url) { append in
                try append("new,")
                throw Stop()
            }
        }
        #expect(try String(contentsOf: url, encoding: .utf8) == "old")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["requests.csv"])
        try ReportWriter.writeStreaming(to: url) { append in try append("a,b\r\n"); try append("1,2\r\n") }
        #expect(try String(contentsOf: url, encoding: .utf8) == "a,b\r\n1,2\r\n")
    }
}
