import Foundation
import Metrics

/// A run read back from disk for `tpbench report`: from a run directory, a `result.json` or a bare
/// `requests.jsonl`. When records are available the result is rebuilt from them (so a newer tpbench recomputes
/// every figure); metadata comes from result.json, else manifest.json (a run that crashed), else is unknown.
package struct SavedRun: Sendable {
    package var result: RunResult
    package var records: [RequestRecord]
    /// Truncated lines skipped at the end of requests.jsonl.
    package var skippedLines: Int
    /// Where the report files go by default: the run directory, or the directory holding the file.
    package var directory: URL
    /// The histograms as the run's result.json holds them (what the run itself measured), when there is one;
    /// `result` is rebuilt from the records, so comparing the two checks that the log and the result agree.
    package var savedHistograms: [String: [String: LatencyHistogram]]?

    static let usage = "pass a run directory (requests.jsonl with manifest.json or result.json), a result.json, "
        + "or a requests.jsonl"

    /// Loads whatever `path` holds.
    /// - Throws: `ReportError` when the path is missing, holds none of the files, or a file is not tpbench's.
    package static func load(path: URL) throws -> SavedRun {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path.path, isDirectory: &isDirectory) else {
            throw ReportError(what: "no such file or directory", path: path.path, reason: "it does not exist",
                              fix: usage)
        }
        let directory = isDirectory.boolValue ? path : path.deletingLastPathComponent()
        func existing(_ name: String) -> URL? {
            let url = directory.appendingPathComponent(name)
            return FileManager.default.fileExists(atPath: url.path) ? url : nil
        }
        let resultURL: URL?, manifestURL: URL?, logURL: URL?
        if isDirectory.boolValue {
            (resultURL, manifestURL, logURL) = (existing(ReportWriter.resultFile), existing(ReportWriter.manifestFile),
                                                existing(RequestLog.fileName))
            guard resultURL != nil || logURL != nil else {
                throw ReportError(what: "not a tpbench run directory", path: path.path,
                                  reason: "it holds neither \(RequestLog.fileName) nor \(ReportWriter.resultFile)",
                                  fix: usage)
            }
        } else if path.pathExtension == "jsonl" {
            (resultURL, manifestURL, logURL) = (nil, nil, path)
        } else {
            // A result.json: its sibling requests.jsonl, when present, supplies the records.
            (resultURL, manifestURL, logURL) = (path, nil, existing(RequestLog.fileName))
        }

        let log = try logURL.map(RequestLog.read(from:))
        let records = log?.records ?? []
        var notes: [String] = []
        if let log, log.skippedLines > 0 {
            notes.append("\(log.skippedLines) truncated line(s) at the end of requests.jsonl were skipped "
                         + "(the run was killed while writing).")
        }
        let result: RunResult
        var savedHistograms: [String: [String: LatencyHistogram]]?
        if let resultURL {
            let saved = try decode(RunResult.self, from: resultURL, expectedSchema: RunResult.schemaID) { $0.schema }
            savedHistograms = saved.histograms
            if logURL == nil {
                result = saved
            } else {
                var rebuilt = RunResult.build(
                    runID: saved.runID, startedAt: saved.startedAt, wallSeconds: saved.wallSeconds,
                    workloadName: saved.workloadName, workload: saved.workload, targets: saved.targets,
                    environment: saved.environment, records: records, slo: saved.summaries.first?.slo,
                    clientHealth: saved.clientHealth, notes: saved.notes + notes.filter { !saved.notes.contains($0) })
                // Scraped during the run, so records cannot rebuild it.
                rebuilt.serverMetrics = saved.serverMetrics
                rebuilt.gpuTelemetry = saved.gpuTelemetry
                result = rebuilt
            }
        } else if let manifestURL {
            let manifest = try decode(RunManifest.self, from: manifestURL,
                                      expectedSchema: RunManifest.schemaID) { $0.schema }
            notes.insert("Rebuilt from manifest.json and requests.jsonl: the run ended before writing result.json "
                         + "(crash or kill); it covers the \(records.count) requests that finished.", at: 0)
            result = RunResult.build(manifest: manifest, records: records, notes: notes)
        } else {
            notes.insert("Rebuilt from requests.jsonl alone: the workload, targets and client environment are "
                         + "unknown (no manifest.json or result.json beside it).", at: 0)
            let environment = ClientEnvironment(host: "unknown", cores: 0, os: "unknown", tpbenchVersion: "unknown",
                                                commandLine: [])
            result = RunResult.build(
                runID: directory.lastPathComponent, startedAt: "unknown",
                wallSeconds: (records.map(\.endMs).max() ?? 0) / 1000, workloadName: "unknown",
                workload: .null, targets: [], environment: environment, records: records, slo: nil,
                clientHealth: nil, notes: notes)
        }
        return SavedRun(result: result, records: records, skippedLines: log?.skippedLines ?? 0, directory: directory,
                        savedHistograms: savedHistograms)
    }

    private static func decode<T: Decodable>(_ type: T.Type, from url: URL, expectedSchema: String,
                                             schema: (T) -> String) throws -> T {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw ReportError(what: "cannot read file", path: url.path,
                              reason: (error as NSError).localizedDescription, fix: usage)
        }
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let value: T
        do {
            value = try decoder.decode(T.self, from: data)
        } catch {
            let reason: String
            switch error {
            case DecodingError.keyNotFound(let key, let context):
                reason = "missing field \"\((context.codingPath + [key]).map(\.stringValue).joined(separator: "."))\""
            case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context),
                 DecodingError.dataCorrupted(let context):
                reason = context.codingPath.isEmpty ? "not valid JSON"
                    : "bad value at \"\(context.codingPath.map(\.stringValue).joined(separator: "."))\""
            default:
                reason = "\(error)"
            }
            throw ReportError(what: "not a tpbench file (expected \(expectedSchema))", path: url.path, reason: reason,
                              fix: usage)
        }
        guard schema(value) == expectedSchema else {
            throw ReportError(what: "unsupported file version", path: url.path,
                              reason: "schema is \"\(schema(value))\", this tpbench reads \"\(expectedSchema)\"",
                              fix: "re-render it with the tpbench version that wrote it")
        }
        return value
    }
}
