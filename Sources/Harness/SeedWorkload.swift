import Foundation
import Workload

/// Finds and loads the seed workload for the demo: an explicit path, else Workloads/seed-structured-output.yaml
/// in the working directory or beside the tpbench binary's checkout (.build/<config>/tpbench → ../../Workloads).
public enum SeedWorkload {
    public static let relativePath = "Workloads/seed-structured-output.yaml"

    public static func load(path: String?) throws -> WorkloadSpec {
        if let path { return try WorkloadLoader.load(path: path) }
        for candidate in candidates() where FileManager.default.isReadableFile(atPath: candidate) {
            return try WorkloadLoader.load(path: candidate)
        }
        throw WorkloadError(file: relativePath, issues: [WorkloadIssue(
            path: "", line: nil,
            message: "not found in the working directory or beside the tpbench checkout; run from the repository "
                + "root or pass --workload FILE")])
    }

    static func candidates() -> [String] {
        var list = [relativePath]
        let executable = URL(fileURLWithPath: CommandLine.arguments.first ?? "").resolvingSymlinksInPath()
        var directory = executable.deletingLastPathComponent()
        for _ in 0..<4 {
            list.append(directory.appendingPathComponent(relativePath).path)
            directory = directory.deletingLastPathComponent()
        }
        return list
    }
}
