import Foundation
import JSON
import Metrics
import SeededRandom

/// Deterministic records covering what a report must show: two targets (one with awkward CSV characters in its
/// name), two replicas, multi-token events, open-loop intended starts, failures of several classes and schema
/// verdicts.
enum Fixture {
    static let awkwardTarget = "tp4, \"big\""

    static func records(count: Int = 240, seed: UInt64 = 7) -> [RequestRecord] {
        var rng = SplitMix(seed: seed)
        var records: [RequestRecord] = []
        for id in 0..<count {
            let target = id % 3 == 0 ? awkwardTarget : "tp1"
            let replica = id % 2 == 0 ? "http://127.0.0.1:8001" : "http://127.0.0.1:8002"
            let intended = Double(id) * 25
            let start = intended + rng.uniform(0, 3)
            let ttft = 80 + rng.uniform(0, 400)
            let events = 2 + Int(rng.uniform(0, 40))
            var offsets = [ttft]
            for _ in 1..<events { offsets.append(offsets[offsets.count - 1] + 5 + rng.uniform(0, 30)) }
            let perEvent = (0..<events).map { _ in 1 + Int(rng.uniform(0, 3)) }
            let e2e = offsets[offsets.count - 1] + rng.uniform(0, 2)
            var record = RequestRecord(
                id: id, target: target, replica: replica, intendedStartMs: intended, startMs: start, e2eMs: e2e,
                tokenEventOffsetsMs: offsets, tokensPerEvent: perEvent, promptTokens: 990 + id % 20,
                outputTokens: perEvent.reduce(0, +), requestedPromptTokens: 1000, requestedMaxTokens: 200,
                finishReason: "stop")
            switch id % 17 {
            case 5:
                record = RequestRecord(id: id, target: target, replica: replica, intendedStartMs: intended,
                                       startMs: start, e2eMs: 12, httpStatus: 503, failure: .http5xx,
                                       failureMessage: "Service Unavailable | \"overloaded\"\nretry later")
            case 11:
                record.failure = .timeoutIdle
                record.failureMessage = "no bytes for 60 s"
            default:
                record.schemaVerdict = id % 13 == 0 ? .schemaViolation : .valid
                if record.schemaVerdict == .schemaViolation { record.schemaError = "/name: expected string" }
            }
            records.append(record)
        }
        return records
    }

    static let manifest = RunManifest(
        runID: "20250101T000000Z-fixture", startedAt: "2025-01-01T00:00:00Z", workloadName: "fixture",
        workload: .object(JSONObject([("name", .string("fixture")), ("seed", .number(42)),
                                      ("load", .object(JSONObject([("concurrency", .number(8))])))])),
        targets: [
            TargetDescription(name: "tp1", baseURLs: ["http://127.0.0.1:8001", "http://127.0.0.1:8002"],
                              tensorParallel: 1, gpus: 1, gpu: "H100", costPerGPUHour: 2.5),
            TargetDescription(name: awkwardTarget, baseURLs: ["http://127.0.0.1:8001"], tensorParallel: 4, gpus: 4),
        ],
        environment: ClientEnvironment(host: "bench-1", cores: 2, os: "Linux", tpbenchVersion: "0.1.0",
                                       commandLine: ["tpbench", "run", "--workload", "fixture.yaml"]),
        slo: SLO(ttftMs: 300, itlMs: 25), seed: 42)

    static func result(_ records: [RequestRecord], health: Bool = true) -> RunResult {
        let clientHealth = ClientHealth(
            loops: [.init(index: 0, cpuShare: 0.41, loopLagP99Us: 850, loopLagMaxUs: 4200, socketEvents: 9000)],
            processCPUShare: 0.52, maxResidentMiB: 48.5, eventsPerSecond: 2300,
            warnings: ["loop 0 loop lag max 4.2 ms exceeded 2 ms"])
        return RunResult.build(manifest: manifest, records: records, wallSeconds: 6.5,
                               clientHealth: health ? clientHealth : nil, notes: ["fixture run"])
    }

    static func temporaryDirectory(_ name: String = #function) throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("tpbench-report-tests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

/// SplitMix64, so fixtures are identical on every run and platform.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func uniform(_ low: Double, _ high: Double) -> Double {
        low + (high - low) * Double(next() >> 11) / Double(1 << 53)
    }
}

/// A small RFC 4180 reader, independent of the writer under test.
enum CSV {
    static func parse(_ text: String) -> [[String]] {
        var rows: [[String]] = []
        var row: [String] = []
        var field = ""
        var quoted = false
        var chars = Array(text.unicodeScalars)[...]
        while let c = chars.popFirst() {
            if quoted {
                if c == "\"" {
                    if chars.first == "\"" {
                        field.unicodeScalars.append("\"")
                        chars.removeFirst()
                    } else {
                        quoted = false
                    }
                } else {
                    field.unicodeScalars.append(c)
                }
            } else if c == "\"" {
                quoted = true
            } else if c == "," {
                row.append(field); field = ""
            } else if c == "\r" {
                continue
            } else if c == "\n" {
                row.append(field); field = ""
                rows.append(row); row = []
            } else {
                field.unicodeScalars.append(c)
            }
        }
        if !field.isEmpty || !row.isEmpty { row.append(field); rows.append(row) }
        return rows
    }

    /// Rows as dictionaries keyed by the header.
    static func table(_ text: String) -> [[String: String]] {
        let rows = parse(text)
        guard let header = rows.first else { return [] }
        return rows.dropFirst().map { Dictionary(uniqueKeysWithValues: zip(header, $0)) }
    }
}
