import Foundation
import Testing
import Yams

/// No cluster is available here: the Kubernetes manifests are checked structurally, so a broken edit fails CI.
struct DeployManifestTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    func load(_ name: String) throws -> [String: Any] {
        let url = Self.root.appendingPathComponent("deploy/kubernetes/\(name)")
        let text = try String(contentsOf: url, encoding: .utf8)
        return try #require(try Yams.load(yaml: text) as? [String: Any], "\(name) is not a YAML mapping")
    }

    func path(_ object: Any?, _ keys: String...) -> Any? {
        var current = object
        for key in keys {
            if let index = Int(key), let array = current as? [Any] {
                current = array.indices.contains(index) ? array[index] : nil
            } else {
                current = (current as? [String: Any])?[key]
            }
        }
        return current
    }

    @Test func shardsJobIsAnIndexedJobRunningOneShardPerPod() throws {
        let job = try load("shards-job.yaml")
        #expect(job["apiVersion"] as? String == "batch/v1")
        #expect(job["kind"] as? String == "Job")
        #expect(path(job, "spec", "completionMode") as? String == "Indexed")
        let completions = try #require(path(job, "spec", "completions") as? Int)
        #expect(path(job, "spec", "parallelism") as? Int == completions)
        let container = path(job, "spec", "template", "spec", "containers", "0")
        let env = (path(container, "env") as? [[String: Any]]) ?? []
        let shards = env.first { $0["name"] as? String == "SHARDS" }?["value"] as? String
        #expect(shards == String(completions), "SHARDS must equal completions")
        let args = ((path(container, "args") as? [String]) ?? []).joined(separator: " ")
        #expect(args.contains("--shard \"$((JOB_COMPLETION_INDEX + 1))/$SHARDS\""))
        #expect(args.contains("--start-at \"$START_AT\""))
        #expect(args.contains("--workload /config/workload.yaml"))
        #expect(args.contains("--out \"/results/shard-"))
        #expect(path(job, "spec", "template", "spec", "restartPolicy") as? String == "Never")
        let mounts = ((path(container, "volumeMounts") as? [[String: Any]]) ?? []).compactMap { $0["mountPath"] as? String }
        #expect(Set(mounts) == ["/config", "/results"])
        let volumes = (path(job, "spec", "template", "spec", "volumes") as? [[String: Any]]) ?? []
        #expect(volumes.contains { path($0, "configMap", "name") as? String == "tpbench-workload" })
        #expect(volumes.contains { path($0, "persistentVolumeClaim", "claimName") as? String == "tpbench-results" })
    }

    @Test func mergeJobAndSupportingObjectsMatch() throws {
        let merge = try load("merge-job.yaml")
        let args = ((path(merge, "spec", "template", "spec", "containers", "0", "args") as? [String]) ?? [])
            .joined(separator: " ")
        #expect(args.contains("tpbench merge /results/shard-* --out /results/merged"))
        let config = try load("configmap.yaml")
        #expect(config["kind"] as? String == "ConfigMap" && path(config, "metadata", "name") as? String == "tpbench-workload")
        let workload = try #require(path(config, "data", "workload.yaml") as? String)
        #expect(workload.contains("json_schema: extraction-record.json"))
        #expect(path(config, "data", "extraction-record.json") != nil)
        let pvc = try load("results-pvc.yaml")
        #expect(pvc["kind"] as? String == "PersistentVolumeClaim")
        #expect((path(pvc, "spec", "accessModes") as? [String]) == ["ReadWriteMany"])
    }
}
