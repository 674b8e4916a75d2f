import Foundation
import Workload

/// The demo's workload: an explicit path, else Workloads/seed-structured-output.yaml in the working directory (a
/// checkout, perhaps edited), else the copy compiled into the binary, so the demo runs from any directory.
package enum SeedWorkload {
    package static let name = "seed-structured-output"
    package static let relativePath = "Workloads/seed-structured-output.yaml"

    package static func load(path: String?) throws -> WorkloadSpec {
        if let path { return try WorkloadLoader.load(path: path) }
        if FileManager.default.isReadableFile(atPath: relativePath) { return try WorkloadLoader.load(path: relativePath) }
        return try BuiltInWorkloads.load(name)
    }
}
