import Foundation
import Testing
@testable import Workload

/// Parses a workload text (relative paths from the temporary directory).
func load(_ yaml: String) throws -> WorkloadSpec {
    try WorkloadLoader.parse(yaml, file: "test.yaml", baseDirectory: URL(fileURLWithPath: NSTemporaryDirectory()))
}

/// The problems a workload text has (none: it loads).
func issues(_ yaml: String) -> [WorkloadIssue] {
    do {
        _ = try load(yaml)
        return []
    } catch let error as WorkloadError {
        return error.issues
    } catch {
        return [WorkloadIssue(path: "?", line: nil, message: "\(error)")]
    }
}

@Test func fullWorkloadParses() throws {
    let spec = try load("""
        name: seed
        api: chat
        model: Qwen/Qwen3-30B-A3B
        prompt:
          tokens: {mean: 1000, stddev: 100, min: 500, max: 1500}
          system: You extract records.
          prefix_tokens: 200
        output:
          max_tokens: 500
          min_tokens: 10
          ignore_eos: true
          temperature: 0
          json_schema: {type: object, properties: {a: {type: string}}, required: [a]}
        load: {rate: 10, arrival: gamma, burstiness: 0.5, concurrency: 64, duration: 5m, warmup: 10s, cooldown: 2s}
        slo: {ttft_ms: 1000, itl_ms: 50}
        seed: 7
        timeouts: {connect: 5s, first_token: 2m, idle: 30, total: 1h}
        extra_body: {top_k: 20}
        """)
    #expect(spec.name == "seed")
    #expect(spec.prompt.tokens == .normal(mean: 1000, stddev: 100, min: 500, max: 1500))
    #expect(spec.prompt.prefixTokens == 200)
    #expect(spec.output.maxTokens == .fixed(500))
    #expect(spec.output.ignoreEOS == true)
    #expect(spec.output.jsonSchema != nil)
    #expect(spec.load.rate == 10 && spec.load.arrival == .gamma && spec.load.burstiness == 0.5)
    #expect(spec.load.concurrency == 64 && spec.load.durationS == 300 && spec.load.warmupS == 10)
    #expect(spec.slo.ttftMs == 1000 && spec.slo.itlMs == 50)
    #expect(spec.seed == 7)
    #expect(spec.timeouts.firstTokenS == 120 && spec.timeouts.totalS == 3600 && spec.timeouts.idleS == 30)
    #expect(spec.extraBody?["top_k"] == .number(20))
}

@Test func jsonWorkloadParses() throws {
    let spec = try load(#"{"name": "j", "load": {"concurrency": 4, "requests": 8}, "prompt": {"tokens": {"uniform": [10, 20]}}}"#)
    #expect(spec.load.concurrency == 4 && spec.load.requests == 8)
    #expect(spec.prompt.tokens == .uniform(10, 20))
}

@Test func negativeRateNamesFieldAndLine() {
    let found = issues("""
        name: x
        load:
          rate: -3
          requests: 10
        """)
    #expect(found.count == 1)
    #expect(found.first?.path == "load.rate")
    #expect(found.first?.line == 3)
    #expect(found.first?.description == "load.rate: must be in 0.000001...1000000, got -3 (line 3)")
}

@Test func unknownKeyGetsDidYouMean() {
    let found = issues("""
        load:
          concurency: 10
          requests: 10
        """)
    #expect(found.contains { $0.path == "load.concurency" && $0.message.contains("did you mean 'concurrency'") && $0.line == 2 })
}

@Test func wrongTypeIsReported() {
    let found = issues("""
        load:
          concurrency: "ten"
          requests: 10
        """)
    #expect(found.contains { $0.path == "load.concurrency" && $0.message.contains("whole number") && $0.line == 2 })
}

@Test func missingSchemaFileIsReported() {
    let found = issues("""
        output:
          json_schema: schemas/does-not-exist.json
        load: {concurrency: 1, requests: 1}
        """)
    #expect(found.contains { $0.path == "output.json_schema" && $0.message.contains("not found") && $0.line == 2 })
}

@Test func invalidSchemaIsReported() {
    let found = issues("""
        output:
          json_schema: {type: 12}
        load: {concurrency: 1, requests: 1}
        """)
    #expect(found.contains { $0.path == "output.json_schema" && $0.message.contains("invalid JSON schema") })
}

@Test func everyProblemIsReportedAtOnce() {
    let found = issues("""
        api: grpc
        load: {rate: 0, requests: -1, arrival: weibull}
        slo: {ttft: 5}
        """)
    let paths = Set(found.map(\.path))
    #expect(paths.isSuperset(of: ["api", "load.rate", "load.requests", "load.arrival", "slo.ttft"]), "\(found)")
}

@Test func malformedYAMLIsAnError() {
    #expect(!issues("load: {concurrency: [1, 2").isEmpty)
    #expect(!issues("").isEmpty)
}

@Test func stagesNeedRateOrConcurrency() {
    let found = issues("""
        load:
          stages:
            - {rate: 5, duration: 10s}
            - {duration: 10s}
            - {rate: 5, concurrency: 3, duration: 1s}
        """)
    #expect(found.contains { $0.path == "load.stages[1]" })
    #expect(found.contains { $0.path == "load.stages[2]" })
}
