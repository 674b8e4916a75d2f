import Foundation
import Testing
@testable import Workload

/// The shipped workloads travel inside the binary (#16): the compiled copy is the checkout's, byte for byte, and
/// loads and writes out from anywhere.
struct BuiltInWorkloadTests {
    static let workloads = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Workloads")

    @Test func theCompiledCopyIsTheCheckoutsByteForByte() throws {
        let enumerator = FileManager.default.enumerator(at: Self.workloads, includingPropertiesForKeys: [.isRegularFileKey])
        var onDisk: [String: String] = [:]
        while let url = enumerator?.nextObject() as? URL {
            guard (try url.resourceValues(forKeys: [.isRegularFileKey])).isRegularFile == true,
                  !url.lastPathComponent.hasPrefix(".") else { continue }
            let relative = String(url.standardizedFileURL.path.dropFirst(Self.workloads.standardizedFileURL.path.count + 1))
            onDisk[relative] = try String(contentsOf: url, encoding: .utf8)
        }
        let compiled = Dictionary(uniqueKeysWithValues: BuiltInFiles.files.map { ($0.path, $0.text) })
        #expect(Set(compiled.keys) == Set(onDisk.keys), "run scripts/embed-workloads")
        for (path, text) in onDisk {
            #expect(compiled[path] == text, "\(path) differs from its compiled copy: run scripts/embed-workloads")
        }
    }

    @Test func everyBuiltInWorkloadLoadsAndWritesOut() throws {
        let names = BuiltInWorkloads.topLevel.map(\.name)
        #expect(names.contains("seed-structured-output") && names.contains("chat-short"))
        for entry in BuiltInWorkloads.topLevel where !entry.name.hasPrefix("deployments-") {
            let spec = try BuiltInWorkloads.load(entry.name)
            #expect(spec.name == entry.name)
        }
        let seed = try BuiltInWorkloads.load("seed-structured-output")
        #expect(seed.output.jsonSchema != nil)  // its schema came along
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tpbench-write-\(getpid())")
        defer { try? FileManager.default.removeItem(at: directory) }
        let written = try BuiltInWorkloads.write("seed-structured-output", to: directory)
        #expect(written.contains { $0.hasSuffix("schemas/extraction-record.json") })
        let reloaded = try WorkloadLoader.load(path: directory.appendingPathComponent("seed-structured-output.yaml").path)
        #expect(reloaded.output.jsonSchema == seed.output.jsonSchema)
        // Writing again does not silently replace an edited copy.
        #expect(throws: WorkloadError.self) { try BuiltInWorkloads.write("seed-structured-output", to: directory) }
        #expect(throws: WorkloadError.self) { try BuiltInWorkloads.load("no-such") }
    }
}
