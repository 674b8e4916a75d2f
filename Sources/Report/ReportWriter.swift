#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Metrics

/// Writes a run's report files into a directory: result.json, requests.csv, summary.csv, report.md and
/// charts/*.svg. Every file is a pure function of the result and the records.
package enum ReportWriter {
    package static let resultFile = "result.json"
    package static let manifestFile = "manifest.json"
    package static let requestsCSVFile = "requests.csv"
    package static let summaryCSVFile = "summary.csv"
    package static let markdownFile = "report.md"
    package static let chartsDirectory = "charts"

    /// Writes every report file, creating `directory` (and `charts/`) when needed; existing files are replaced.
    /// - Throws: `ReportError` naming the file that could not be written.
    package static func write(result: RunResult, records: [RequestRecord], to directory: URL) throws {
        try write(result: result, to: directory) { url in
            try write(Data(CSVTables.requests(records).utf8), to: url)
        }
    }

    /// Writes every report file, taking `requests.csv` from the run's request log one record at a time, so a run
    /// of any length is reported without its records in memory.
    package static func write(result: RunResult, requestLog: URL, to directory: URL) throws {
        try write(result: result, to: directory) { url in
            try writeStreaming(to: url) { append in try CSVTables.requests(fromLog: requestLog, append: append) }
        }
    }

    private static func write(result: RunResult, to directory: URL, requestsCSV: (URL) throws -> Void) throws {
        let charts = directory.appendingPathComponent(chartsDirectory, isDirectory: true)
        try createDirectory(charts)
        try write(try encodeJSON(result, path: directory.appendingPathComponent(resultFile).path),
                  to: directory.appendingPathComponent(resultFile))
        try requestsCSV(directory.appendingPathComponent(requestsCSVFile))
        try write(Data(CSVTables.summary(result).utf8), to: directory.appendingPathComponent(summaryCSVFile))
        var linked: [(path: String, title: String)] = []
        for chart in ReportCharts.charts(for: result) {
            try write(Data(chart.chart.render().utf8), to: charts.appendingPathComponent(chart.fileName))
            linked.append((path: "\(chartsDirectory)/\(chart.fileName)", title: chart.chart.title))
        }
        let markdown = MarkdownReport.render(result: result, charts: linked)
        try write(Data(markdown.utf8), to: directory.appendingPathComponent(markdownFile))
    }

    /// Writes a file piece by piece through a temporary sibling renamed into place at the end (atomic, as
    /// `write(_:to:)`).
    static func writeStreaming(to url: URL, _ produce: ((String) throws -> Void) throws -> Void) throws {
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).partial")
        func failure(_ reason: String) -> ReportError {
            ReportError(what: "cannot write report file", path: url.path, reason: reason,
                        fix: "free disk space or choose a writable --out directory")
        }
        guard let stream = fopen(temporary.path, "w") else { throw failure(String(cString: strerror(errno))) }
        var closed = false
        defer {
            if !closed { fclose(stream) }
            unlink(temporary.path)
        }
        try produce { text in
            var text = text
            let ok = text.withUTF8 { fwrite($0.baseAddress, 1, $0.count, stream) == $0.count }
            if !ok { throw failure(String(cString: strerror(errno))) }
        }
        closed = true
        guard fclose(stream) == 0 else { throw failure(String(cString: strerror(errno))) }
        guard rename(temporary.path, url.path) == 0 else { throw failure(String(cString: strerror(errno))) }
    }

    /// Writes `manifest.json` at the start of a run, creating the directory, so a crashed run can be rebuilt.
    package static func writeManifest(_ manifest: RunManifest, to directory: URL) throws {
        try createDirectory(directory)
        let url = directory.appendingPathComponent(manifestFile)
        try write(try encodeJSON(manifest, path: url.path), to: url)
    }

    /// The default run directory: `<reports>/<UTC timestamp>-<workload name>`, e.g.
    /// `Reports/20250101T120000Z-seed-structured-output`; unsafe characters in the name become `-`.
    package static func defaultDirectory(reportsRoot: URL, startedAt: Date, workloadName: String) -> URL {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        let safe = String(workloadName.map { $0.isLetter || $0.isNumber || "-_.".contains($0) ? $0 : "-" })
        let name = formatter.string(from: startedAt) + "-" + (safe.isEmpty ? "run" : safe)
        return reportsRoot.appendingPathComponent(name, isDirectory: true)
    }

    static func encodeJSON<T: Encodable>(_ value: T, path: String) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        // A non-finite number must not cost the whole file; strings keep it visible and decodable.
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        do {
            return try encoder.encode(value)
        } catch {
            throw ReportError(what: "cannot encode JSON", path: path, reason: "\(error)",
                              fix: "report this as a tpbench bug")
        }
    }

    static func createDirectory(_ url: URL) throws {
        do {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        } catch {
            throw ReportError(what: "cannot create the report directory", path: url.path,
                              reason: (error as NSError).localizedDescription,
                              fix: "choose a writable --out directory")
        }
    }

    static func write(_ data: Data, to url: URL) throws {
        do {
            // Atomic: a re-render interrupted half-way leaves the previous file, not half of a new one.
            try data.write(to: url, options: .atomic)
        } catch {
            throw ReportError(what: "cannot write report file", path: url.path,
                              reason: (error as NSError).localizedDescription,
                              fix: "free disk space or choose a writable --out directory")
        }
    }
}
