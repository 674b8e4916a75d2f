#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A latency-model parameter `tpbench calibrate` can fit, in the units its preset file and tables use.
package enum FreeParameter: String, CaseIterable, Sendable, Codable {
    case mfu
    case mbu
    case stepOverhead = "step_overhead_ms"
    case perSequenceOverhead = "per_sequence_overhead_us"
    case tpSyncOverhead = "tp_sync_overhead_ms"
    case allReduceLatency = "all_reduce_latency_us"
    case busBandwidth = "bus_bandwidth_gbps"
    case requestOverhead = "request_overhead_ms"
    case promptTokenOverhead = "prompt_token_overhead_us"
    case apiServerCost = "api_server_ms"

    /// What `calibrate` fits unless told otherwise: the per-sequence cost is left out because only runs at very
    /// different batch sizes and equal step counts tell it from the per-step cost, the per-prompt-token one because
    /// only runs at different prompt lengths tell it from the fixed request overhead, and the API server's because
    /// only runs that queue for it (more requests a second than it serves) show it.
    package static let standard: [FreeParameter] = [
        .mfu, .mbu, .stepOverhead, .tpSyncOverhead, .allReduceLatency, .busBandwidth, .requestOverhead,
    ]

    package var name: String { rawValue }

    /// Only runs at TP > 1 carry information about these.
    package var needsTensorParallel: Bool { [.tpSyncOverhead, .allReduceLatency, .busBandwidth].contains(self) }

    /// The range a fit may move in (a value outside is not physical).
    package var bounds: ClosedRange<Double> {
        switch self {
        case .mfu, .mbu: return 0.01...1
        case .stepOverhead, .tpSyncOverhead, .requestOverhead, .apiServerCost: return 0.001...100
        case .perSequenceOverhead: return 0.01...10_000
        case .promptTokenOverhead: return 0.0001...1000
        case .allReduceLatency: return 0.1...100_000
        case .busBandwidth: return 0.01...10_000
        }
    }

    /// What a preset file may hold: the fit's range, with 0 allowed for costs (a cost the fit left at its preset).
    package var allowedRange: ClosedRange<Double> {
        switch self {
        case .mfu, .mbu, .busBandwidth: return bounds
        default: return 0...bounds.upperBound
        }
    }

    /// A starting point for parameters whose preset value is 0 (a fit in log space cannot start at 0).
    package var nominal: Double {
        switch self {
        case .mfu: return 0.5
        case .mbu: return 0.8
        case .stepOverhead: return 1.5
        case .perSequenceOverhead: return 20
        case .tpSyncOverhead: return 1
        case .allReduceLatency: return 30
        case .busBandwidth: return 20
        case .requestOverhead: return 1
        case .promptTokenOverhead: return 0.5
        case .apiServerCost: return 5
        }
    }

    package func value(in p: ReplicaSpec) -> Double {
        switch self {
        case .mfu: return p.mfu
        case .mbu: return p.mbu
        case .stepOverhead: return p.cpuOverhead * 1e3
        case .perSequenceOverhead: return p.perSequenceOverhead * 1e6
        case .tpSyncOverhead: return p.syncOverhead * 1e3
        case .allReduceLatency: return p.link.allReduceLatencyAtTP4 * 1e6
        case .busBandwidth: return p.link.busBandwidth / 1e9
        case .requestOverhead: return p.requestOverhead * 1e3
        case .promptTokenOverhead: return p.promptTokenOverhead * 1e6
        case .apiServerCost: return p.apiServerCost * 1e3
        }
    }

    package func set(_ value: Double, in p: inout ReplicaSpec) {
        switch self {
        case .mfu: p.mfu = value
        case .mbu: p.mbu = value
        case .stepOverhead: p.cpuOverhead = value / 1e3
        case .perSequenceOverhead: p.perSequenceOverhead = value / 1e6
        case .tpSyncOverhead: p.syncOverhead = value / 1e3
        case .allReduceLatency: p.link.allReduceLatencyAtTP4 = value / 1e6
        case .busBandwidth: p.link.busBandwidth = value * 1e9
        case .requestOverhead: p.requestOverhead = value / 1e3
        case .promptTokenOverhead: p.promptTokenOverhead = value / 1e6
        case .apiServerCost: p.apiServerCost = value / 1e3
        }
    }
}

/// The figures calibration matches and plan bands: percentiles in milliseconds and completed requests per second.
package struct CalibrationFigures: Sendable, Equatable, Codable {
    /// ITL p50 is the median gap between tokens pooled over all requests: the typical decode step, free of the
    /// prefill stalls that TPOT averages in, so it pins the bandwidth and fixed step costs apart.
    package static let names = ["ttft_p50_ms", "ttft_p90_ms", "itl_p50_ms", "tpot_p50_ms", "tpot_p90_ms", "e2e_p50_ms",
                               "requests_per_s"]
    package var values: [Double]

    package init(values: [Double]) { self.values = values }

    /// From per-request samples (milliseconds; TPOT only for requests with two tokens or more), every inter-token
    /// gap, and the span from the first arrival to the last answer. Percentiles interpolate linearly between order
    /// statistics.
    package init(ttftMs: [Double], itlMs: [Double], tpotMs: [Double], e2eMs: [Double], spanSeconds: Double) {
        func percentile(_ samples: [Double], _ q: Double) -> Double {
            guard !samples.isEmpty else { return .nan }
            let sorted = samples.sorted()
            let position = q * Double(sorted.count - 1)
            let low = Int(position.rounded(.down)), high = min(low + 1, sorted.count - 1)
            return sorted[low] + (sorted[high] - sorted[low]) * (position - Double(low))
        }
        values = [percentile(ttftMs, 0.5), percentile(ttftMs, 0.9), percentile(itlMs, 0.5),
                  percentile(tpotMs, 0.5), percentile(tpotMs, 0.9),
                  percentile(e2eMs, 0.5), spanSeconds > 0 ? Double(e2eMs.count) / spanSeconds : .nan]
    }

    /// The simulated figures of a fleet run.
    package init(outcomes: [FleetSimulation.Outcome]) {
        var ttft: [Double] = [], itl: [Double] = [], tpot: [Double] = [], e2e: [Double] = []
        var first = Double.infinity, last = 0.0
        for o in outcomes where !o.dropped {
            guard let firstToken = o.tokenTimes.first, let end = o.tokenTimes.last else { continue }
            ttft.append((firstToken - o.arrival) * 1000)
            for k in o.tokenTimes.indices.dropFirst() { itl.append((o.tokenTimes[k] - o.tokenTimes[k - 1]) * 1000) }
            e2e.append((end - o.arrival) * 1000)
            if o.tokenTimes.count > 1 { tpot.append((end - firstToken) * 1000 / Double(o.tokenTimes.count - 1)) }
            first = min(first, o.arrival)
            last = max(last, end)
        }
        self.init(ttftMs: ttft, itlMs: itl, tpotMs: tpot, e2eMs: e2e, spanSeconds: last - first)
    }

    /// A figure by name (`names`), nil for an unknown name.
    package subscript(_ name: String) -> Double? { Self.names.firstIndex(of: name).map { values[$0] } }

    /// Which band a figure belongs to: ttft, tpot, e2e or throughput.
    package static func family(_ index: Int) -> String {
        ["ttft", "ttft", "tpot", "tpot", "tpot", "e2e", "throughput"][index]
    }
}

/// One measured run as calibration replays it: the deployment it ran on, the requests it sent (their prompt and
/// output lengths) and how they were sent, and the figures it measured.
package struct CalibrationRun: Sendable {
    package var name: String
    /// The deployment (model, GPU, TP, link, scheduler limits); free parameters are overwritten by the fit.
    package var parameters: ReplicaSpec
    package var replicas: Int
    package var requests: [FleetSimulation.Request]
    package var load: FleetSimulation.Load
    package var measured: CalibrationFigures

    package init(name: String, parameters: ReplicaSpec, replicas: Int, requests: [FleetSimulation.Request],
                load: FleetSimulation.Load, measured: CalibrationFigures) {
        self.name = name
        self.parameters = parameters
        self.replicas = replicas
        self.requests = requests
        self.load = load
        self.measured = measured
    }

    package func simulate(with parameters: ReplicaSpec) -> CalibrationFigures {
        CalibrationFigures(outcomes: FleetSimulation(parameters: parameters, replicas: replicas, requests: requests,
                                                     load: load).run())
    }
}

/// Fits free latency-model parameters to measured runs: Levenberg–Marquardt on the logarithms of the parameters,
/// minimising the squared log ratios of predicted to measured figures (so every figure counts by its relative error),
/// with the Jacobian from central differences of the simulation itself.
package struct Calibrator: Sendable {
    package struct Residual: Sendable, Equatable {
        package var run: String
        package var figure: String
        package var measured: Double
        package var predicted: Double
        /// predicted / measured − 1.
        package var relativeError: Double { predicted / measured - 1 }
    }

    package struct Fit: Sendable {
        /// Fitted values in the parameters' units, in the order of `free`.
        package var free: [FreeParameter]
        package var values: [Double]
        /// One standard error of each value, relative (0.02 = ±2 %); nil when the runs do not determine it (±100 % or
        /// more).
        package var relativeStandardErrors: [Double?]
        package var residuals: [Residual]
        package var iterations: Int
        /// Root mean square of the log residuals.
        package var rms: Double

        package func value(of parameter: FreeParameter) -> Double? {
            free.firstIndex(of: parameter).map { values[$0] }
        }

        /// Writes the fitted values into a run's parameters.
        package func apply(to parameters: inout ReplicaSpec) {
            for (p, v) in zip(free, values) { p.set(v, in: &parameters) }
        }
    }

    package var runs: [CalibrationRun]
    package var free: [FreeParameter]
    package var maxIterations = 60

    /// Leaves out parameters no run can inform (TP-only ones when every run is TP=1).
    package init(runs: [CalibrationRun], free: [FreeParameter] = FreeParameter.standard) {
        self.runs = runs
        let anyTP = runs.contains { $0.parameters.tensorParallel > 1 }
        self.free = free.filter { anyTP || !$0.needsTensorParallel }
    }

    /// Start values: each run's own (they agree on free parameters when they come from one preset), zero-valued
    /// costs replaced by a nominal value; `requestOverhead` replaces the request overhead's when given.
    func startValues(requestOverhead: Double? = nil) -> [Double] {
        guard let first = runs.first else { return [] }
        return free.map { p in
            let v = (p == .requestOverhead ? requestOverhead : nil) ?? p.value(in: first.parameters)
            return v > 0 ? min(max(v, p.bounds.lowerBound), p.bounds.upperBound) : p.nominal
        }
    }

    func figures(_ logValues: [Double], runs: [CalibrationRun]) -> [CalibrationFigures] {
        runs.map { run in
            var p = run.parameters
            for (parameter, x) in zip(free, logValues) { parameter.set(exp(x), in: &p) }
            return run.simulate(with: p)
        }
    }

    /// The residual vector: log(predicted/measured) per usable figure, plus a weak pull toward the start values that
    /// keeps parameters the runs barely inform from wandering.
    func residualVector(_ logValues: [Double], start: [Double], runs: [CalibrationRun]) -> [Double] {
        var r: [Double] = []
        for (run, predicted) in zip(runs, figures(logValues, runs: runs)) {
            for (m, p) in zip(run.measured.values, predicted.values) where m.isFinite && m > 0 {
                r.append(p.isFinite && p > 0 ? log(p / m) : 10)
            }
        }
        for (x, x0) in zip(logValues, start) { r.append(Self.priorWeight * (x - x0)) }
        return r
    }

    static let priorWeight = 1e-3

    /// Every usable figure of a run (measured, finite and positive) beside its prediction.
    static func residuals(_ run: CalibrationRun, _ predicted: CalibrationFigures) -> [Residual] {
        run.measured.values.enumerated().compactMap { i, m in
            m.isFinite && m > 0
                ? Residual(run: run.name, figure: CalibrationFigures.names[i], measured: m, predicted: predicted.values[i])
                : nil
        }
    }

    /// JᵀJ of a Jacobian stored one parameter's column per row.
    static func normalMatrix(_ jacobian: [[Double]]) -> [[Double]] {
        jacobian.map { a in jacobian.map { b in zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } } }
    }

    /// The middle value (the mean of the two middle ones for an even count); nil when empty.
    package static func median(_ values: [Double]) -> Double? {
        let s = values.sorted()
        guard !s.isEmpty else { return nil }
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }

    /// The better of two fits: one from the preset's values and, when the request overhead is free, one that starts
    /// it at its nominal 1 ms. The preset's 50 ms suits a real vLLM; a server that adds 2 ms (the mock) is a long way
    /// down in log space, and on the way a closed loop's schedule jumps between shapes, which can hold the solver in
    /// a valley with the per-step costs taking the difference.
    ///
    /// A free API-server cost also starts at the most a request can have cost it (`apiServerCeiling`): below the
    /// engine's step time a burst's requests reach the engine while it is busy and wait for the step's end anyway,
    /// so no figure moves with a small cost and a fit from one cannot climb. Of fits that agree, the first is kept,
    /// so a run the API server did not limit keeps the smaller start.
    package func fit() -> Fit {
        var starts = [startValues()]
        if free.contains(.requestOverhead) {
            starts.append(startValues(requestOverhead: FreeParameter.requestOverhead.nominal))
        }
        if let i = free.firstIndex(of: .apiServerCost), let ceiling = apiServerCeiling {
            for var start in starts {
                start[i] = min(max(ceiling, FreeParameter.apiServerCost.bounds.lowerBound),
                               FreeParameter.apiServerCost.bounds.upperBound)
                starts.append(start)
            }
        }
        var best = fit(from: starts[0])
        for start in starts.dropFirst() {
            let candidate = fit(from: start)
            if candidate.rms < best.rms { best = candidate }
        }
        return best
    }

    /// The largest API-server cost the runs allow, in ms: each replica's one server took every request it finished,
    /// so it spent at most replicas / (req/s) on each (nil when no run measured a rate).
    var apiServerCeiling: Double? {
        guard let index = CalibrationFigures.names.firstIndex(of: "requests_per_s") else { return nil }
        let bounds = runs.compactMap { run -> Double? in
            guard index < run.measured.values.count else { return nil }
            let rate = run.measured.values[index]
            return rate.isFinite && rate > 0 ? Double(run.replicas) / rate * 1e3 : nil
        }
        return bounds.min()
    }

    func fit(from startValues: [Double]) -> Fit {
        let used = runs
        let start = startValues.map { log($0) }
        let lower = free.map { log($0.bounds.lowerBound) }, upper = free.map { log($0.bounds.upperBound) }
        func clamp(_ x: [Double]) -> [Double] { x.indices.map { min(max(x[$0], lower[$0]), upper[$0]) } }
        func cost(_ r: [Double]) -> Double { r.reduce(0) { $0 + $1 * $1 } }

        var x = start
        var r = residualVector(x, start: start, runs: used)
        var c = cost(r)
        var lambda = 1e-3
        var iterations = 0
        var converged = false
        var jacobian: [[Double]] = []
        let n = free.count
        while iterations < maxIterations && n > 0 && !converged {
            iterations += 1
            // Central differences in log space: a 0.1 % change of each parameter.
            let h = 1e-3
            jacobian = (0..<n).map { k in
                var up = x, down = x
                up[k] += h
                down[k] -= h
                let ru = residualVector(up, start: start, runs: used)
                let rd = residualVector(down, start: start, runs: used)
                return zip(ru, rd).map { ($0 - $1) / (2 * h) }
            }
            // Normal equations: (JᵀJ + λ·diag(JᵀJ)) δ = −Jᵀr.
            let jtj = Self.normalMatrix(jacobian)
            let jtr = jacobian.map { column in zip(column, r).reduce(0) { $0 + $1.0 * $1.1 } }
            var improved = false
            while lambda < 1e12 {
                var damped = jtj
                for a in 0..<n { damped[a][a] += lambda * max(jtj[a][a], 1e-12) }
                guard let delta = Self.solve(damped, jtr.map { -$0 }) else { lambda *= 10; continue }
                let candidate = clamp(zip(x, delta).map { $0 + $1 })
                let rc = residualVector(candidate, start: start, runs: used)
                let cc = cost(rc)
                if cc < c {
                    let step = zip(candidate, x).map { abs($0 - $1) }.max() ?? 0
                    let gain = c - cc
                    x = candidate
                    r = rc
                    c = cc
                    lambda = max(lambda / 3, 1e-9)
                    improved = true
                    converged = step < 1e-7 || gain < 1e-14 * max(c, 1e-300) || c < 1e-20
                    break
                }
                lambda *= 4
            }
            if !improved { break }
        }

        let residuals = zip(used, figures(x, runs: used)).flatMap { Self.residuals($0, $1) }
        // Standard errors from the last Jacobian, scaled by the residual variance.
        var errors = [Double?](repeating: nil, count: n)
        if !jacobian.isEmpty {
            let variance = c / Double(max(1, residuals.count - n))
            if let inverse = Self.invert(Self.normalMatrix(jacobian)) {
                for k in 0..<n where inverse[k][k] > 0 {
                    let se = (variance * inverse[k][k]).squareRoot()
                    // ±100 % or more: the value could as well be half or twice as large, and what holds it is
                    // the weak pull toward the start, not the runs.
                    errors[k] = se.isFinite && se < 1 ? se : nil
                }
            }
        }
        let logs = residuals.map { log(max($0.predicted, 1e-12) / $0.measured) }
        let rms = logs.isEmpty ? 0 : (logs.reduce(0) { $0 + $1 * $1 } / Double(logs.count)).squareRoot()
        return Fit(free: free, values: x.map { exp($0) }, relativeStandardErrors: errors, residuals: residuals,
                   iterations: iterations, rms: rms)
    }

    /// For each run: fit on the others, then predict it. Needs two runs or more.
    package func leaveOneOut() -> [Residual] {
        guard runs.count > 1 else { return [] }
        var out: [Residual] = []
        for (i, run) in runs.enumerated() {
            var others = Calibrator(runs: runs.enumerated().filter { $0.offset != i }.map(\.element), free: free)
            others.maxIterations = maxIterations
            // Parameters the others cannot inform (no TP run left) keep their start values.
            let fit = others.fit()
            var p = run.parameters
            fit.apply(to: &p)
            out += Self.residuals(run, run.simulate(with: p))
        }
        return out
    }

    /// Per figure family (ttft, tpot, e2e, throughput): the root mean square relative error of `residuals`.
    package static func bands(_ residuals: [Residual]) -> [String: Double] {
        var groups: [String: [Double]] = [:]
        for r in residuals {
            guard let index = CalibrationFigures.names.firstIndex(of: r.figure), r.relativeError.isFinite else { continue }
            groups[CalibrationFigures.family(index), default: []].append(r.relativeError)
        }
        return groups.mapValues { errors in (errors.reduce(0) { $0 + $1 * $1 } / Double(errors.count)).squareRoot() }
    }

    /// Gaussian elimination with partial pivoting; nil when singular.
    static func solve(_ a: [[Double]], _ b: [Double]) -> [Double]? {
        let n = b.count
        var m = a
        var v = b
        for col in 0..<n {
            guard let pivot = (col..<n).max(by: { abs(m[$0][col]) < abs(m[$1][col]) }), abs(m[pivot][col]) > 1e-300
            else { return nil }
            m.swapAt(col, pivot)
            v.swapAt(col, pivot)
            for row in (col + 1)..<n {
                let f = m[row][col] / m[col][col]
                for k in col..<n { m[row][k] -= f * m[col][k] }
                v[row] -= f * v[col]
            }
        }
        var x = [Double](repeating: 0, count: n)
        for row in stride(from: n - 1, through: 0, by: -1) {
            var s = v[row]
            for k in (row + 1)..<n { s -= m[row][k] * x[k] }
            x[row] = s / m[row][row]
        }
        return x.allSatisfy(\.isFinite) ? x : nil
    }

    static func invert(_ a: [[Double]]) -> [[Double]]? {
        let n = a.count
        var columns: [[Double]] = []
        for k in 0..<n {
            var e = [Double](repeating: 0, count: n)
            e[k] = 1
            guard let c = solve(a, e) else { return nil }
            columns.append(c)
        }
        return (0..<n).map { i in (0..<n).map { j in columns[j][i] } }
    }
}
