import Foundation
import Yams

/// A deployment to benchmark: a name, its replicas' base URLs, and what it costs and runs on.
package struct DeploymentSpec: Sendable, Equatable {
    package var name: String
    package var urls: [String]
    package var tensorParallel: Int?
    package var gpus: Int?
    package var gpu: String?
    package var interconnect: String?
    package var costPerGPUHour: Double?
    package var costPerHour: Double?
    package var labels: [String: String]
    /// How tpbench starts and stops this deployment itself (`launch:`); nil for a deployment already running.
    package var launch: LaunchSpec?
    /// Copies launched (each on its own port and GPUs), routed to by tpbench's balancer.
    package var replicas: Int = 1
    /// The GPUs the launched copies share out in order (replica i gets the i-th equal slice as CUDA_VISIBLE_DEVICES).
    package var gpuIDs: [Int]?
    /// DCGM exporter URLs to scrape for this deployment's GPUs (`gpu_metrics_url`; `{port}`/`{replica}` expand per
    /// launched replica, so a mock's own /gpu-metrics works too).
    package var gpuMetricsURLs: [String] = []

    package init(name: String, urls: [String], tensorParallel: Int? = nil, gpus: Int? = nil, gpu: String? = nil,
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
    package static func parseTarget(_ text: String) throws -> DeploymentSpec {
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

/// How tpbench launches a deployment: an argv (no shell), its environment and directory, a ready check and a stop.
///
/// `{port}`, `{replica}`, `{gpus}` (the replica's CUDA_VISIBLE_DEVICES) and `{name}` in the command and environment are
/// replaced per replica. Replica i listens on `port + i`, on 127.0.0.1.
package struct LaunchSpec: Sendable, Equatable, Codable {
    package var command: [String]
    package var environment: [String: String] = [:]
    package var directory: String?
    package var port: Int
    /// GET this path until it answers `readyStatus` (vLLM, SGLang, TGI and the mock serve /health).
    package var readyPath: String = "/health"
    package var readyStatus: Int = 200
    package var readyTimeoutS: Double = 600
    /// Send one short completion once ready, so the first measured request does not pay for compilation or caches.
    package var warmup: Bool = true
    /// The signal that asks the server to stop, and how long it gets before its process group is SIGKILLed.
    package var stopSignal: String = "SIGTERM"
    package var graceS: Double = 30

    package init(command: [String], port: Int) {
        self.command = command
        self.port = port
    }

    /// Signal numbers by name (Linux).
    package static let signals: [String: Int32] = ["SIGTERM": 15, "SIGINT": 2, "SIGQUIT": 3, "SIGHUP": 1, "SIGKILL": 9,
                                                  "SIGUSR1": 10, "SIGUSR2": 12]
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
package enum DeploymentLoader {
    static let keys = ["name", "urls", "url", "tensor_parallel", "gpus", "gpu", "interconnect", "cost_per_gpu_hour",
                       "cost_per_hour", "labels", "launch", "replicas", "gpu_ids", "gpu_metrics_url"]
    static let launchKeys = ["command", "env", "cwd", "port", "ready", "warmup", "stop"]

    package static func load(path: String) throws -> [DeploymentSpec] {
        let text = try YAMLDocument.read(path, kind: "workload", hint: "check the path")
        return try parse(text, file: path)
    }

    package static func parse(_ text: String, file: String = "<inline>") throws -> [DeploymentSpec] {
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
            let replicas = reader.int(f["replicas"], "\(path).replicas", in: 1...64) ?? 1
            var gpuIDs: [Int]?
            if let node = f["gpu_ids"] {
                if case .sequence(let seq) = node {
                    gpuIDs = seq.enumerated().compactMap { j, n in reader.int(n, "\(path).gpu_ids[\(j)]", in: 0...4095) }
                    if let ids = gpuIDs, ids.isEmpty || ids.count % replicas != 0 {
                        reader.fail("\(path).gpu_ids", node, "\(ids.count) GPUs do not split evenly over \(replicas) "
                                    + "replicas; list a multiple of replicas (e.g. [0, 1, 2, 3] for 4 × 1 or 2 × 2)")
                    }
                } else {
                    reader.fail("\(path).gpu_ids", node, "must be a list of GPU indices, e.g. [0, 1, 2, 3]")
                }
            }
            let launch = f["launch"].flatMap { readLaunch($0, path: "\(path).launch", reader: &reader) }
            if let launch, urls.isEmpty {
                urls = (0..<replicas).map { "http://127.0.0.1:\(launch.port + $0)" }
            } else if launch != nil {
                reader.fail("\(path).urls", item, "a launched deployment gets its URLs from launch.port (replica i on "
                            + "http://127.0.0.1:port+i); remove urls")
            } else if f["replicas"] != nil || f["gpu_ids"] != nil {
                reader.fail("\(path).replicas", item, "replicas and gpu_ids apply to launched deployments; add launch: "
                            + "or list the running replicas' urls")
            }
            if urls.isEmpty { reader.fail("\(path).urls", item, "needs at least one base URL, e.g. http://127.0.0.1:8000") }
            for url in urls where !(url.hasPrefix("http://") || url.hasPrefix("https://")) {
                reader.fail("\(path).urls", item, "'\(url)' must start with http:// or https://")
            }
            var gpuMetrics: [String] = []
            if let node = f["gpu_metrics_url"] {
                var templates: [String] = []
                if case .sequence(let seq) = node {
                    for (j, u) in seq.enumerated() {
                        if let s = reader.string(u, "\(path).gpu_metrics_url[\(j)]") { templates.append(s) }
                    }
                } else if let s = reader.string(node, "\(path).gpu_metrics_url") {
                    templates = [s]
                }
                for template in templates {
                    let expanded = (0..<replicas).map { r in
                        template.replacingOccurrences(of: "{port}", with: String((launch?.port ?? 0) + r))
                            .replacingOccurrences(of: "{replica}", with: String(r))
                    }
                    for url in expanded where !gpuMetrics.contains(url) { gpuMetrics.append(url) }
                }
                if launch == nil, templates.contains(where: { $0.contains("{port}") || $0.contains("{replica}") }) {
                    reader.fail("\(path).gpu_metrics_url", node, "{port} and {replica} expand only for launched "
                                + "deployments; give the exporter's URL, e.g. http://127.0.0.1:9400/metrics")
                }
                for url in gpuMetrics where !(url.hasPrefix("http://") || url.hasPrefix("https://")) {
                    reader.fail("\(path).gpu_metrics_url", node, "'\(url)' must start with http:// or https://, e.g. "
                                + "http://127.0.0.1:9400/metrics (a DCGM exporter)")
                }
            }
            var labels: [String: String] = [:]
            if let node = f["labels"], case .mapping(let mapping) = node {
                for (k, v) in mapping { if let key = k.string, let value = v.string { labels[key] = value } }
            }
            var spec = DeploymentSpec(
                name: name ?? "deployment-\(i + 1)", urls: urls,
                tensorParallel: reader.int(f["tensor_parallel"], "\(path).tensor_parallel", in: Limits.gpus),
                gpus: reader.int(f["gpus"], "\(path).gpus", in: Limits.gpus),
                gpu: reader.string(f["gpu"], "\(path).gpu"),
                interconnect: reader.string(f["interconnect"], "\(path).interconnect"),
                costPerGPUHour: reader.double(f["cost_per_gpu_hour"], "\(path).cost_per_gpu_hour", in: Limits.costPerHour),
                costPerHour: reader.double(f["cost_per_hour"], "\(path).cost_per_hour", in: Limits.costPerHour),
                labels: labels)
            spec.launch = launch
            spec.replicas = replicas
            spec.gpuIDs = gpuIDs
            spec.gpuMetricsURLs = gpuMetrics
            if result.contains(where: { $0.name == spec.name }) {
                reader.fail("\(path).name", item, "'\(spec.name)' is used twice; names must be unique")
            }
            result.append(spec)
        }
        let launched = result.filter { $0.launch != nil }
        for (i, a) in launched.enumerated() {
            for b in launched[(i + 1)...] {
                let portsA = Set(a.urls), portsB = Set(b.urls)
                if !portsA.isDisjoint(with: portsB) {
                    reader.fail("deployments", nil, "'\(a.name)' and '\(b.name)' launch on the same port; give each its "
                                + "own launch.port (replicas use port, port+1, ...)")
                }
            }
        }
        guard reader.issues.isEmpty else { throw WorkloadError(file: file, issues: reader.issues) }
        return result
    }

    /// `launch: {command: [...], env: {...}, cwd: DIR, port: N, ready: {path, status, timeout_s}, warmup: true,
    /// stop: {signal: SIGTERM, grace_s: 30}}`.
    static func readLaunch(_ node: Node, path: String, reader: inout NodeReader) -> LaunchSpec? {
        guard let f = reader.mapping(node, path, allowed: launchKeys) else { return nil }
        var command: [String] = []
        if case .sequence(let seq)? = f["command"] {
            for (j, part) in seq.enumerated() {
                if let text = part.scalar?.string { command.append(text) } else {
                    reader.fail("\(path).command[\(j)]", part, "must be a string")
                }
            }
        } else {
            reader.fail("\(path).command", f["command"] ?? node, "must be a list (argv, no shell), e.g. "
                        + "[vllm, serve, MODEL, --port, \"{port}\"]")
        }
        if command.isEmpty && f["command"] != nil { reader.fail("\(path).command", node, "must not be empty") }
        guard let port = reader.int(f["port"], "\(path).port", in: 1024...65535) else {
            if f["port"] == nil { reader.fail("\(path).port", node, "needs the port the server listens on (replica i uses port+i)") }
            return nil
        }
        var spec = LaunchSpec(command: command, port: port)
        if let env = f["env"] {
            if case .mapping(let mapping) = env {
                for (k, v) in mapping {
                    guard let key = k.string, let value = v.scalar?.string else {
                        reader.fail("\(path).env", env, "must map names to strings")
                        continue
                    }
                    spec.environment[key] = value
                }
            } else {
                reader.fail("\(path).env", env, "must map names to strings, e.g. {VLLM_LOGGING_LEVEL: INFO}")
            }
        }
        spec.directory = reader.string(f["cwd"], "\(path).cwd")
        if let ready = f["ready"], let r = reader.mapping(ready, "\(path).ready", allowed: ["path", "status", "timeout_s"]) {
            if let p = reader.string(r["path"], "\(path).ready.path") {
                if p.hasPrefix("/") { spec.readyPath = p } else { reader.fail("\(path).ready.path", ready, "must start with /") }
            }
            spec.readyStatus = reader.int(r["status"], "\(path).ready.status", in: 100...599) ?? 200
            spec.readyTimeoutS = reader.double(r["timeout_s"], "\(path).ready.timeout_s", in: Limits.timeoutS) ?? 600
        }
        spec.warmup = reader.bool(f["warmup"], "\(path).warmup") ?? true
        if let stop = f["stop"], let st = reader.mapping(stop, "\(path).stop", allowed: ["signal", "grace_s"]) {
            if let name = reader.string(st["signal"], "\(path).stop.signal") {
                let upper = name.uppercased()
                let full = upper.hasPrefix("SIG") ? upper : "SIG" + upper
                if LaunchSpec.signals[full] != nil { spec.stopSignal = full } else {
                    reader.fail("\(path).stop.signal", stop, "'\(name)' is not one of "
                                + LaunchSpec.signals.keys.sorted().joined(separator: ", "))
                }
            }
            spec.graceS = reader.double(st["grace_s"], "\(path).stop.grace_s", in: 0...3600) ?? 30
        }
        return spec
    }
}
