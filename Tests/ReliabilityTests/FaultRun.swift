import Curl
import Foundation
import Harness
import LoadGen
import Metrics
import Report
import ServerMetrics
import Testing
import Workload

/// A persisted run against a faulty server, and what the fault matrix checks about every one of them.
struct FaultRun {
    var summary: TargetSummary
    var records: [RequestRecord]
    var directory: URL
    var wallSeconds: Double

    var classes: [String: Int] {
        var counts: [String: Int] = [:]
        for record in records { counts[record.failure?.rawValue ?? "ok", default: 0] += 1 }
        return counts
    }

    var message: String { "classes \(classes), samples \(summary.failureSamples)" }

    /// Runs a closed-loop workload through `RunSession` (manifest, requests.jsonl, reports) into a fresh directory.
    static func run(url: String, requests: Int = 6, concurrency: Int = 3, timeouts: TimeoutSpec = .tight,
                    maxEventBytes: Int = 16 << 20, keepText: Bool = false,
                    settings: RequestSettings? = nil, model: String? = "m") async throws -> FaultRun {
        var spec = WorkloadSpec()
        spec.name = "fault"
        spec.model = model
        spec.load.concurrency = concurrency
        spec.load.requests = requests
        spec.prompt.tokens = .fixed(8)
        spec.prompt.calibrate = false
        spec.output.maxTokens = .fixed(8)
        spec.timeouts = timeouts
        var requestSettings = settings ?? RequestSettings()
        requestSettings.maxEventBytes = maxEventBytes
        requestSettings.keepOutputText = keepText
        let directory = temporaryDirectory("fault")
        let started = MonotonicClock.now()
        let outcome = try await RunSession.run(
            workload: spec, deployment: DeploymentSpec(name: "faulty", urls: [url]), directory: directory,
            options: RunSession.Options(settings: requestSettings, commandLine: ["test"],
                                        serverMetrics: ServerMetricsSettings(enabled: false)))
        return FaultRun(summary: outcome.output.summary, records: outcome.records, directory: directory,
                        wallSeconds: Double(MonotonicClock.now() - started) / 1e9)
    }

    /// Every request is accounted for exactly once, in memory and on disk, and the report files exist.
    func expectAccounted(requests: Int, within seconds: Double, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(records.count == requests, "\(message)", sourceLocation: sourceLocation)
        #expect(Set(records.map(\.id)).count == requests, sourceLocation: sourceLocation)
        #expect(summary.requests == requests, sourceLocation: sourceLocation)
        #expect(summary.succeeded + summary.failed == requests, sourceLocation: sourceLocation)
        #expect(wallSeconds < seconds, "run took \(wallSeconds) s", sourceLocation: sourceLocation)
        for name in ["manifest.json", "requests.jsonl", "result.json", "requests.csv", "summary.csv", "report.md"] {
            #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent(name).path),
                    "missing \(name)", sourceLocation: sourceLocation)
        }
        let logged = (try? RequestLog.read(from: directory.appendingPathComponent(RequestLog.fileName)))?.records
        #expect(logged?.count == requests, "requests.jsonl holds \(logged?.count ?? -1)", sourceLocation: sourceLocation)
        #expect(Set(logged?.map(\.id) ?? []) == Set(records.map(\.id)), sourceLocation: sourceLocation)
        // Failures are reported, not hidden: every failed class appears in the Markdown report.
        let report = (try? String(contentsOf: directory.appendingPathComponent("report.md"), encoding: .utf8)) ?? ""
        for failure in summary.failures.keys {
            #expect(report.contains(failure), "report.md does not mention \(failure)", sourceLocation: sourceLocation)
        }
    }

    /// All requests failed with one class (and, optionally, a message containing `text`).
    func expectOnly(_ failure: FailureClass, count: Int = 6, within seconds: Double = 10, messageContains text: String? = nil,
                    sourceLocation: SourceLocation = #_sourceLocation) {
        expectAccounted(requests: count, within: seconds, sourceLocation: sourceLocation)
        #expect(classes == [failure.rawValue: count], "\(message)", sourceLocation: sourceLocation)
        if let text {
            let sample = summary.failureSamples[failure.rawValue] ?? ""
            #expect(sample.contains(text), "sample: \(sample)", sourceLocation: sourceLocation)
        }
    }
}

extension TimeoutSpec {
    /// Short limits so a hanging fault ends in about a second.
    static let tight = TimeoutSpec(connectS: 2, firstTokenS: 1, idleS: 0.6, totalS: 8)
}

func temporaryDirectory(_ name: String) -> URL {
    URL(fileURLWithPath: NSTemporaryDirectory())
        .appendingPathComponent("tpbench-rel-\(name)-\(UUID().uuidString)", isDirectory: true)
}

/// A port with nothing listening: bound, then closed.
func closedPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
    }
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}
