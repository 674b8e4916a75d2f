import Foundation
import SeededRandom

/// The load shape resolved into phases on a timeline (seconds from the start of the run).
package struct LoadPlan: Sendable, Equatable {
    package enum Kind: Sendable, Equatable {
        /// Open loop: arrivals whose rate goes linearly from `from` to `to` req/s over the phase.
        case open(from: Double, to: Double)
        /// Closed loop: keep this many requests in flight.
        case closed(Int)
    }

    package struct Phase: Sendable, Equatable {
        package var start: Double
        /// nil: until the request limit is reached.
        package var end: Double?
        package var kind: Kind
    }

    package var phases: [Phase]
    /// Upper bound on requests in flight during open phases (requests wait, never dropped).
    package var concurrencyCeiling: Int?
    package var maxRequests: Int?
    /// Stop issuing after this time (seconds).
    package var durationS: Double?

    /// Resolves a workload's load section.
    package init(_ load: LoadSpec) {
        concurrencyCeiling = nil
        maxRequests = load.requests
        durationS = load.durationS
        if !load.stages.isEmpty {
            var start = 0.0
            phases = load.stages.map { stage in
                defer { start += stage.durationS }
                let kind: Kind = stage.rate.map { .open(from: $0, to: $0) } ?? .closed(stage.concurrency ?? 1)
                return Phase(start: start, end: start + stage.durationS, kind: kind)
            }
            concurrencyCeiling = load.concurrency
            durationS = min(load.durationS ?? .infinity, start)
        } else if let ramp = load.rampUp {
            phases = [Phase(start: 0, end: ramp.durationS, kind: .open(from: ramp.from, to: ramp.to))]
            concurrencyCeiling = load.concurrency
            durationS = min(load.durationS ?? .infinity, ramp.durationS)
        } else if let rate = load.rate {
            phases = [Phase(start: 0, end: load.durationS, kind: .open(from: rate, to: rate))]
            concurrencyCeiling = load.concurrency
        } else {
            phases = [Phase(start: 0, end: load.durationS, kind: .closed(load.concurrency ?? 1))]
        }
        if durationS == .infinity { durationS = nil }
    }

    /// The plan of a whole workload: a trace's replay (one open phase over its arrivals, at most `requests` of
    /// them, `concurrency` as a ceiling), or the load section's shape.
    package init(_ workload: WorkloadSpec) {
        guard let trace = workload.trace else {
            self.init(workload.load)
            return
        }
        let count = min(trace.rows.count, workload.load.requests ?? .max)
        let last = trace.rows[count - 1].timeS
        let meanRate = last > 0 ? Double(count) / last : Double(count)
        self.init(phases: [Phase(start: 0, end: nil, kind: .open(from: meanRate, to: meanRate))],
                  concurrencyCeiling: workload.load.concurrency, maxRequests: count, durationS: workload.load.durationS)
    }

    package init(phases: [Phase], concurrencyCeiling: Int?, maxRequests: Int?, durationS: Double?) {
        self.phases = phases
        self.concurrencyCeiling = concurrencyCeiling
        self.maxRequests = maxRequests
        self.durationS = durationS
    }

    /// The phase active at time `t`, if any.
    package func phase(at t: Double) -> Phase? {
        phases.last { $0.start <= t && ($0.end.map { t < $0 } ?? true) }
    }

    /// True when every phase is closed-loop (then no arrival schedule is needed).
    package var isClosedOnly: Bool {
        phases.allSatisfy { if case .closed = $0.kind { return true } else { return false } }
    }

    /// Largest number of requests the plan keeps in flight at once, if bounded.
    package var peakConcurrency: Int? {
        var peak = concurrencyCeiling ?? 0
        for phase in phases {
            if case .closed(let n) = phase.kind { peak = max(peak, n) } else if concurrencyCeiling == nil { return nil }
        }
        return peak
    }
}

/// Seeded arrival times for the open phases of a plan: a unit-rate renewal process (constant, Poisson or gamma
/// gaps) mapped through the cumulative rate Λ(t), so varying rates (ramps, stages) keep the gap distribution's shape.
package struct ArrivalGenerator: Sendable {
    package let arrival: LoadSpec.Arrival
    package let burstiness: Double
    private var generator: SplitMix64
    private var unitTime = 0.0
    private var started = false
    private let segments: [Segment]
    private let shard: Shard
    /// Arrivals of the whole schedule produced so far (all shards').
    private var globalCount = 0
    /// A trace's arrival times (seconds, ascending), which replace the renewal process.
    private let times: [Double]?

    private struct Segment: Sendable {
        var start: Double
        var duration: Double  // .infinity when open-ended
        var from: Double
        var to: Double
        var unitStart: Double  // Λ at the start of the segment
    }

    package init(plan: LoadPlan, arrival: LoadSpec.Arrival, burstiness: Double, seed: UInt64,
                shard: Shard = .whole) {
        self.shard = shard
        self.times = nil
        self.arrival = arrival
        self.burstiness = burstiness
        generator = SplitMix64(seed: seed ^ 0xA771_7A15)
        var segments: [Segment] = []
        var unit = 0.0
        for phase in plan.phases {
            guard case .open(let from, let to) = phase.kind else { continue }
            let duration = phase.end.map { $0 - phase.start } ?? .infinity
            segments.append(Segment(start: phase.start, duration: duration, from: from, to: to, unitStart: unit))
            unit += duration.isFinite ? (from + to) / 2 * duration : .infinity
        }
        self.segments = segments
    }

    /// A trace's schedule: request i is due at `times[i]` seconds.
    package init(times: [Double], shard: Shard = .whole) {
        self.shard = shard
        self.times = times
        arrival = .constant
        burstiness = 1
        generator = SplitMix64(seed: 0)
        segments = []
    }

    /// The schedule of a workload's open phases: its trace's times, or seeded draws of its arrival process.
    package init(workload: WorkloadSpec, plan: LoadPlan, shard: Shard = .whole) {
        if let trace = workload.trace {
            self.init(times: trace.rows.prefix(plan.maxRequests ?? .max).map(\.timeS), shard: shard)
        } else {
            self.init(plan: plan, arrival: workload.load.arrival, burstiness: workload.load.burstiness,
                      seed: workload.seed, shard: shard)
        }
    }

    /// The next intended start time (seconds) of this generator's shard, or nil when the open phases are over.
    /// Every shard draws the whole schedule and keeps its own arrivals, so the shards' union is the schedule.
    package mutating func next() -> Double? {
        while let t = nextOfAll() {
            defer { globalCount += 1 }
            if globalCount % shard.count == shard.index { return t }
        }
        return nil
    }

    private mutating func nextOfAll() -> Double? {
        if let times { return globalCount < times.count ? times[globalCount] : nil }
        // The first request goes at the start of the first open phase, as in vLLM's benchmark and k6.
        if started { unitTime += gap() } else { started = true }
        for segment in segments {
            let local = unitTime - segment.unitStart
            let capacity = segment.duration.isFinite ? (segment.from + segment.to) / 2 * segment.duration : .infinity
            guard local < capacity else { continue }
            return segment.start + invert(local, from: segment.from, to: segment.to, duration: segment.duration)
        }
        return nil
    }

    /// Solves Λ(t) = s for a linear rate from `from` to `to` over `duration`.
    private func invert(_ s: Double, from a: Double, to b: Double, duration: Double) -> Double {
        if a == b || !duration.isFinite { return s / a }
        let slope = (b - a) / duration
        let discriminant = a * a + 2 * slope * s
        return (-a + max(0, discriminant).squareRoot()) / slope
    }

    /// A gap of the unit-rate process (mean 1).
    private mutating func gap() -> Double {
        switch arrival {
        case .constant:
            return 1
        case .poisson:
            return -log(1 - Double.random(in: 0..<1, using: &generator))
        case .gamma:
            return ArrivalGenerator.gamma(shape: burstiness, using: &generator) / burstiness
        }
    }

    /// Gamma(shape, 1) by Marsaglia–Tsang, with the shape < 1 boost.
    static func gamma<G: RandomNumberGenerator>(shape: Double, using g: inout G) -> Double {
        if shape < 1 {
            let u = Double.random(in: Double.leastNonzeroMagnitude..<1, using: &g)
            return gamma(shape: shape + 1, using: &g) * pow(u, 1 / shape)
        }
        let d = shape - 1.0 / 3.0
        let c = 1 / (9 * d).squareRoot()
        while true {
            var x: Double
            var v: Double
            repeat {
                x = normal(using: &g)
                v = 1 + c * x
            } while v <= 0
            v = v * v * v
            let u = Double.random(in: 0..<1, using: &g)
            if u < 1 - 0.0331 * x * x * x * x { return d * v }
            if log(u) < 0.5 * x * x + d * (1 - v + log(v)) { return d * v }
        }
    }

    static func normal<G: RandomNumberGenerator>(using g: inout G) -> Double {
        let u1 = Double.random(in: Double.leastNonzeroMagnitude..<1, using: &g)
        let u2 = Double.random(in: 0..<1, using: &g)
        return (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
    }
}
