import Foundation
import Yams

/// A deployment to benchmark: a name, its replicas' base URLs, and what it costs and runs on.
public struct DeploymentSpec: Sendable, Equatable {
    public var name: String
    public var urls: [String]
    public var tensorParallel: Int?
    public var gpus: Int?
    public var gpu: String?
    public var interconnect: String?
    public var costPerGPUHour: Double?
    public var costPerHour: Double?
    public var labels: [String: String]

    public init(name: String, urls: [String], tensorParallel: Int? = nil, gpus: Int? = nil, gpu: String? = nil,
                interconnect: String? = nil, costPerGPUHour: Double? = nil, costPerHour: Double? = nil,
                labels: [String: String] = [:]) {
        self.name = name
        self.urls = urls
        self.tensorParallel = tensorParallel
        self.gpus = gpus
        self.gpu = gpu
        self.interconnect = interconnect
        self.costPerGPUHour = costPerGPUHour
        self.costPerHour = costPerHour
        self.labels = labels
    }

    /// Parses `NAME=URL[,URL...]` from `--target`.
    public static func parseTarget(_ text: String) throws -> DeploymentSpec {
        let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
            throw WorkloadError(file: "--target", issues: [WorkloadIssue(
                path: "--target", line: nil, message: "expected NAME=URL[,URL...], got '\(text)', e.g. "
                    + "--target tp1=http://127.0.0.1:8000")])
        }
        return DeploymentSpec(name: parts[0], urls: parts[1].split(separator: ",").map {
            String($0).trimmingCharacters(in: .whitespaces)
        })
    }
}

/// Loads a deployments file:
/// ```yaml
/// deployments:
///   - name: tp1
///     urls: [http://127.0.0.1:8000]
///     tensor_parallel: 1
///     gpus: 1
///     gpu: H200
///     interconnect: none
///     cost_per_gpu_hour: 3.5
/// ```
public enum DeploymentLoader {
    static let keys = ["name", "urls", "url", "tensor_parallel", "gpus", "gpu", "interconnect", "cost_per_gpu_hour",
                       "cost_per_hour", "labels"]

    public static func load(path: String) throws -> [DeploymentSpec] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw WorkloadError(file: path, issues: [WorkloadIssue(path: "", line: nil,
                                                                   message: "cannot read the file; check the path")])
        }
        return try parse(text, file: path)
    }

    public static func parse(_ text: String, file: String = "<inline>") throws -> [DeploymentSpec] {
        let root: Node?
        do { root = try Yams.compose(yaml: text) } catch {
            throw WorkloadError(file: file, issues: [WorkloadIssue(path: "", line: nil, message: "not valid YAML: \(error)")])
        }
        var reader = NodeReader()
        var result: [DeploymentSpec] = []
        guard let root, let top = reader.mapping(root, "", allowed: ["deployments"]), let list = top["deployments"] else {
            reader.fail("deployments", root, "the file needs a 'deployments:' list")
            throw WorkloadError(file: file, issues: reader.issues)
        }
        guard case .sequence(let items) = list, !items.isEmpty else {
            reader.fail("deployments", list, "must be a non-empty list of deployments")
            throw WorkloadError(file: file, issues: reader.issues)
        }
        for (i, item) in items.enumerated() {
            let path = "deployments[\(i)]"
            guard let f = reader.mapping(item, path, allowed: keys) else { continue }
            let name = reader.string(f["name"], "\(path).name")
            if f["name"] == nil { reader.fail("\(path).name", item, "every deployment needs a name") }
            var urls: [String] = []
            if let node = f["urls"] {
                if case .sequence(let seq) = node {
                    for (j, u) in seq.enumerated() { if let s = reader.string(u, "\(path).urls[\(j)]") { urls.append(s) } }
                } else if let s = reader.string(node, "\(path).urls") {
                    urls = [s]
                }
            }
            if let single = reader.string(f["url"], "\(path).url") { urls.append(single) }
            if urls.isEmpty { reader.fail("\(path).urls", item, "needs at least one base URL, e.g. http://127.0.0.1:8000") }
            for url in urls where !(url.hasPrefix("http://") || url.hasPrefix("https://")) {
                reader.fail("\(path).urls", item, "'\(url)' must start with http:// or https://")
            }
            var labels: [String: String] = [:]
            if let node = f["labels"], case .mapping(let mapping) = node {
                for (k, v) in mapping { if let key = k.string, let value = v.string { labels[key] = value } }
            }
            let spec = DeploymentSpec(
                name: name ?? "deployment-\(i + 1)", urls: urls,
                tensorParallel: reader.int(f["tensor_parallel"], "\(path).tensor_parallel", in: Limits.gpus),
                gpus: reader.int(f["gpus"], "\(path).gpus", in: Limits.gpus),
                gpu: reader.string(f["gpu"], "\(path).gpu"),
                interconnect: reader.string(f["interconnect"], "\(path).interconnect"),
                costPerGPUHour: reader.double(f["cost_per_gpu_hour"], "\(path).cost_per_gpu_hour", in: Limits.costPerHour),
                costPerHour: reader.double(f["cost_per_hour"], "\(path).cost_per_hour", in: Limits.costPerHour),
                labels: labels)
            if result.contains(where: { $0.name == spec.name }) {
                reader.fail("\(path).name", item, "'\(spec.name)' is used twice; names must be unique")
            }
            result.append(spec)
        }
        guard reader.issues.isEmpty else { throw WorkloadError(file: file, issues: reader.issues) }
        return result
    }
}
