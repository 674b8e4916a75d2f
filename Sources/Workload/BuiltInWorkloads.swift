import Foundation

/// The workloads and deployment files shipped under Workloads/, compiled into the binary (`BuiltInFiles`), so
/// `tpbench demo` runs from any directory and `tpbench workloads write` gives a copy to edit.
package enum BuiltInWorkloads {
    /// One shipped file.
    package struct Entry: Sendable {
        /// Path relative to Workloads/, e.g. "seed-structured-output.yaml" or "schemas/extraction-record.json".
        package let path: String
        package let text: String
        /// The first comment line of a YAML file (what it answers), empty otherwise.
        package var summary: String {
            guard let line = text.split(separator: "\n").first, line.hasPrefix("#") else { return "" }
            return line.dropFirst().trimmingCharacters(in: .whitespaces)
        }
        /// A workload or deployments file (top level, YAML), not a schema or dataset it refers to.
        package var isTopLevel: Bool { !path.contains("/") && path.hasSuffix(".yaml") }
        /// The name it is asked for by: the file name without ".yaml".
        package var name: String { path.hasSuffix(".yaml") ? String(path.dropLast(5)) : path }
    }

    package static let all: [Entry] = BuiltInFiles.files.map { Entry(path: $0.path, text: $0.text) }

    /// The workload and deployment files (not their schemas and datasets).
    package static var topLevel: [Entry] { all.filter(\.isTopLevel) }

    package static func entry(named name: String) -> Entry? {
        topLevel.first { $0.name == name || $0.path == name }
    }

    /// Writes `name` and every schema and dataset file under Workloads/ into `directory` (keeping their relative
    /// paths, so the workload's references still resolve). Existing files are left alone unless `overwrite`.
    /// - Returns: the paths written.
    @discardableResult
    package static func write(_ name: String, to directory: URL, overwrite: Bool = false) throws -> [String] {
        guard let entry = entry(named: name) else { throw unknown(name) }
        let supporting = all.filter { !$0.isTopLevel }
        var written: [String] = []
        for file in [entry] + supporting {
            let url = directory.appendingPathComponent(file.path)
            if FileManager.default.fileExists(atPath: url.path) {
                if !overwrite {
                    // A supporting file already there (from an earlier write) is kept; the workload asked for is not
                    // silently replaced.
                    if file.path == entry.path {
                        throw WorkloadError(file: url.path, issues: [WorkloadIssue(
                            path: "", line: nil, message: "already exists; pass --force to overwrite it")])
                    }
                    continue
                }
            }
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(file.text.utf8).write(to: url)
            written.append(url.path)
        }
        return written
    }

    /// Loads built-in workload `name`: its files are written to a private temporary directory (schemas and datasets
    /// are read by path) and loaded from there.
    package static func load(_ name: String) throws -> WorkloadSpec {
        guard let entry = entry(named: name) else { throw unknown(name) }
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("tpbench-builtin-\(getuid())-\(getpid())")
        do {
            try write(name, to: directory, overwrite: true)
        } catch {
            throw WorkloadError(file: "built-in \(entry.path)", issues: [WorkloadIssue(
                path: "", line: nil, message: "cannot unpack it into \(directory.path) (\(error)); "
                    + "write it out with `tpbench workloads write \(name) --to DIR` and pass --workload")])
        }
        return try WorkloadLoader.load(path: directory.appendingPathComponent(entry.path).path)
    }

    static func unknown(_ name: String) -> WorkloadError {
        WorkloadError(file: name, issues: [WorkloadIssue(
            path: "", line: nil,
            message: "is not a built-in workload; `tpbench workloads` lists them: "
                + topLevel.map(\.name).joined(separator: ", "))])
    }
}
