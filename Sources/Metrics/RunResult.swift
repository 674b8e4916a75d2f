import JSON

/// Everything one run produced except the per-request records (those live in requests.jsonl beside it).
/// Versioned and self-describing: `"schema": "tpbench.result/1"`.
package struct RunResult: Sendable, Codable, Equatable {
    package static let schemaID = "tpbench.result/1"

    package var schema: String = RunResult.schemaID
    package var runID: String
    /// UTC, ISO 8601.
    package var startedAt: String
    package var wallSeconds: Double
    package var workloadName: String
    /// The workload as run (every field after defaults and command-line overrides).
    package var workload: JSONValue
    package var targets: [TargetDescription]
    package var environment: ClientEnvironment
    package var summaries: [TargetSummary]
    /// Target name → metric name (ttft, itl_event, itl_token, tpot, e2e, send_lag) → histogram.
    package var histograms: [String: [String: LatencyHistogram]]
    /// Target name → per-second time series.
    package var timeSeries: [String: [TimeSeriesPoint]]
    package var clientHealth: ClientHealth?
    /// Caveats a reader must see (estimated tokens, calibration fallbacks, client overload, interrupted run).
    package var notes: [String]
    /// What each target's servers reported on /metrics during the run (absent in results from before it existed,
    /// or with --no-server-metrics).
    package var serverMetrics: [ServerSideMetrics]?
    /// What each target's GPUs did during the run (DCGM exporter or nvidia-smi); absent when nothing was read.
    package var gpuTelemetry: [GPUTelemetry]?

    package init(runID: String, startedAt: String, wallSeconds: Double, workloadName: String, workload: JSONValue,
                targets: [TargetDescription], environment: ClientEnvironment, summaries: [TargetSummary],
                histograms: [String: [String: LatencyHistogram]], timeSeries: [String: [TimeSeriesPoint]],
                clientHealth: ClientHealth?, notes: [String]) {
        self.runID = runID
        self.startedAt = startedAt
        self.wallSeconds = wallSeconds
        self.workloadName = workloadName
        self.workload = workload
        self.targets = targets
        self.environment = environment
        self.summaries = summaries
        self.histograms = histograms
        self.timeSeries = timeSeries
        self.clientHealth = clientHealth
        self.notes = notes
    }

    /// Builds the result's derived parts (summaries, histograms, time series) from records: one code path for
    /// live runs and for `tpbench report` re-rendering a saved requests.jsonl. Warm-up and cool-down records
    /// (`excludedAs`) are left out by `SummaryBuilder.add`, as in the live run.
    package static func build(runID: String, startedAt: String, wallSeconds: Double, workloadName: String,
                             workload: JSONValue, targets: [TargetDescription], environment: ClientEnvironment,
                             records: [RequestRecord], slo: SLO?, clientHealth: ClientHealth?,
                             notes: [String]) -> RunResult {
        let names = targets.map(\.name) + Set(records.map(\.target)).subtracting(targets.map(\.name)).sorted()
        var builders = Dictionary(uniqueKeysWithValues: names.map { ($0, SummaryBuilder(target: $0, slo: slo)) })
        for record in records { builders[record.target]?.add(record) }
        return build(runID: runID, startedAt: startedAt, wallSeconds: wallSeconds, workloadName: workloadName,
                     workload: workload, targets: targets, environment: environment,
                     builders: names.compactMap { builders[$0] }, clientHealth: clientHealth, notes: notes)
    }

    /// Builds the result from summaries gathered as the run went (`SummaryBuilder`), one per target, in order.
    package static func build(runID: String, startedAt: String, wallSeconds: Double, workloadName: String,
                             workload: JSONValue, targets: [TargetDescription], environment: ClientEnvironment,
                             builders: [SummaryBuilder], clientHealth: ClientHealth?, notes: [String]) -> RunResult {
        var histograms: [String: [String: LatencyHistogram]] = [:]
        var series: [String: [TimeSeriesPoint]] = [:]
        var summaries: [TargetSummary] = []
        for builder in builders {
            let points = builder.timeSeries
            histograms[builder.target] = builder.histograms
            series[builder.target] = points
            summaries.append(builder.summary(timeSeries: points))
        }
        return RunResult(runID: runID, startedAt: startedAt, wallSeconds: wallSeconds, workloadName: workloadName,
                         workload: workload, targets: targets, environment: environment,
                         summaries: summaries, histograms: histograms, timeSeries: series,
                         clientHealth: clientHealth, notes: notes)
    }
}

/// A deployment as described by the user, plus what the server said about itself.
package struct TargetDescription: Sendable, Codable, Equatable {
    package var name: String
    package var baseURLs: [String]
    package var tensorParallel: Int?
    package var gpus: Int?
    package var gpu: String?
    package var interconnect: String?
    package var costPerGPUHour: Double?
    package var costPerHour: Double?
    package var labels: [String: String]
    /// Model ids from `GET /v1/models`.
    package var serverModels: [String]?
    /// How the prompts' lengths were obtained and how many missed their target (absent in older results).
    package var calibration: CalibrationSummary?

    package init(name: String, baseURLs: [String], tensorParallel: Int? = nil, gpus: Int? = nil, gpu: String? = nil,
                interconnect: String? = nil, costPerGPUHour: Double? = nil, costPerHour: Double? = nil,
                labels: [String: String] = [:], serverModels: [String]? = nil) {
        self.name = name
        self.baseURLs = baseURLs
        self.tensorParallel = tensorParallel
        self.gpus = gpus
        self.gpu = gpu
        self.interconnect = interconnect
        self.costPerGPUHour = costPerGPUHour
        self.costPerHour = costPerHour
        self.labels = labels
        self.serverModels = serverModels
    }

    /// Cost of the whole deployment per hour, from `cost_per_hour` or `cost_per_gpu_hour × gpus`.
    package var hourlyCost: Double? {
        if let costPerHour { return costPerHour }
        if let costPerGPUHour { return costPerGPUHour * Double(gpus ?? 1) }
        return nil
    }
}

/// The machine and program that measured.
package struct ClientEnvironment: Sendable, Codable, Equatable {
    package var host: String
    package var cores: Int
    package var os: String
    package var tpbenchVersion: String
    package var commandLine: [String]

    package init(host: String, cores: Int, os: String, tpbenchVersion: String, commandLine: [String]) {
        self.host = host
        self.cores = cores
        self.os = os
        self.tpbenchVersion = tpbenchVersion
        self.commandLine = commandLine
    }
}

/// How hard the client itself worked, so a reader can tell whether the numbers measure the server.
package struct ClientHealth: Sendable, Codable, Equatable {
    package struct LoopHealth: Sendable, Codable, Equatable {
        package var index: Int
        /// Loop thread CPU time / wall time (1.0 = one full core).
        package var cpuShare: Double
        package var loopLagP99Us: UInt64
        package var loopLagMaxUs: UInt64
        package var socketEvents: UInt64
        /// p99 and max over the loop's buffers of how far their receive stamp may be off (under 1 µs for the
        /// kernel's receive time; see `ReceiveStamp` in Sources/Curl). Nil in older results.
        package var timestampUncertaintyP99Us: Double?
        package var timestampUncertaintyMaxUs: Double?
        /// Share of the run the loop thread waited for a CPU while runnable (nil where unknown).
        package var runQueueWaitShare: Double? = nil

        package init(index: Int, cpuShare: Double, loopLagP99Us: UInt64, loopLagMaxUs: UInt64, socketEvents: UInt64,
                    timestampUncertaintyP99Us: Double? = nil, timestampUncertaintyMaxUs: Double? = nil) {
            self.index = index
            self.cpuShare = cpuShare
            self.loopLagP99Us = loopLagP99Us
            self.loopLagMaxUs = loopLagMaxUs
            self.socketEvents = socketEvents
            self.timestampUncertaintyP99Us = timestampUncertaintyP99Us
            self.timestampUncertaintyMaxUs = timestampUncertaintyMaxUs
        }
    }

    package var loops: [LoopHealth]
    /// Whole process CPU time / wall time.
    package var processCPUShare: Double
    package var maxResidentMiB: Double
    /// Token events parsed per second of wall time.
    package var eventsPerSecond: Double
    /// p99 over every loop's buffers of how far a receive stamp may be off (ms); nil in older results.
    package var timestampUncertaintyP99Ms: Double? = nil
    /// Share of buffers stamped with the kernel's receive time (`--receive-time kernel`); nil in older results.
    package var kernelStampedShare: Double? = nil
    /// p99 of how long data waited in the kernel before the client's loop woke for it (ms): what stamping at
    /// wake-up would have added; nil without kernel receive times.
    package var readWaitP99Ms: Double? = nil
    package var warnings: [String]

    package init(loops: [LoopHealth], processCPUShare: Double, maxResidentMiB: Double, eventsPerSecond: Double,
                warnings: [String]) {
        self.loops = loops
        self.processCPUShare = processCPUShare
        self.maxResidentMiB = maxResidentMiB
        self.eventsPerSecond = eventsPerSecond
        self.warnings = warnings
    }

    private enum CodingKeys: String, CodingKey {
        case loops, processCPUShare, maxResidentMiB, eventsPerSecond, timestampUncertaintyP99Ms, kernelStampedShare
        case readWaitP99Ms, warnings
    }

    /// Results written before the client's loops had their own name called them "engines".
    private enum LegacyKeys: String, CodingKey { case engines }

    package init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        if let loops = try c.decodeIfPresent([LoopHealth].self, forKey: .loops) {
            self.loops = loops
        } else {
            loops = try decoder.container(keyedBy: LegacyKeys.self).decode([LoopHealth].self, forKey: .engines)
        }
        processCPUShare = try c.decode(Double.self, forKey: .processCPUShare)
        maxResidentMiB = try c.decode(Double.self, forKey: .maxResidentMiB)
        eventsPerSecond = try c.decode(Double.self, forKey: .eventsPerSecond)
        timestampUncertaintyP99Ms = try c.decodeIfPresent(Double.self, forKey: .timestampUncertaintyP99Ms)
        kernelStampedShare = try c.decodeIfPresent(Double.self, forKey: .kernelStampedShare)
        readWaitP99Ms = try c.decodeIfPresent(Double.self, forKey: .readWaitP99Ms)
        warnings = try c.decode([String].self, forKey: .warnings)
    }
}
