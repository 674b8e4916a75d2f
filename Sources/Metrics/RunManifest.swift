import JSON

/// What a run is, written as `manifest.json` before the first request is sent, so a run killed mid-way can still
/// be rebuilt from `manifest.json` + `requests.jsonl` (`tpbench report DIR`). Versioned: `"tpbench.manifest/1"`.
package struct RunManifest: Sendable, Codable, Equatable {
    package static let schemaID = "tpbench.manifest/1"

    package var schema: String = RunManifest.schemaID
    package var runID: String
    /// UTC, ISO 8601.
    package var startedAt: String
    package var workloadName: String
    /// The workload as run (every field after defaults and command-line overrides).
    package var workload: JSONValue
    package var targets: [TargetDescription]
    package var environment: ClientEnvironment
    package var slo: SLO?
    /// Seed of prompt synthesis and arrivals, when the run used one.
    package var seed: UInt64?

    package init(runID: String, startedAt: String, workloadName: String, workload: JSONValue,
                targets: [TargetDescription], environment: ClientEnvironment, slo: SLO? = nil, seed: UInt64? = nil) {
        self.runID = runID
        self.startedAt = startedAt
        self.workloadName = workloadName
        self.workload = workload
        self.targets = targets
        self.environment = environment
        self.slo = slo
        self.seed = seed
    }
}

extension RunResult {
    /// Builds a result from a manifest and the records of the run; `wallSeconds` defaults to the last completion
    /// on the run's timeline (what is known after a crash).
    package static func build(manifest: RunManifest, records: [RequestRecord], wallSeconds: Double? = nil,
                             clientHealth: ClientHealth? = nil, notes: [String] = []) -> RunResult {
        let wall = wallSeconds ?? (records.map(\.endMs).max() ?? 0) / 1000
        return build(runID: manifest.runID, startedAt: manifest.startedAt, wallSeconds: wall,
                     workloadName: manifest.workloadName, workload: manifest.workload, targets: manifest.targets,
                     environment: manifest.environment, records: records, slo: manifest.slo,
                     clientHealth: clientHealth, notes: notes)
    }
}
