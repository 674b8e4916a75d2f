import Testing
@testable import Workload

private func arrivals(_ load: LoadSpec, seed: UInt64 = 42, count: Int) -> [Double] {
    let plan = LoadPlan(load)
    var generator = ArrivalGenerator(plan: plan, arrival: load.arrival, burstiness: load.burstiness, seed: seed)
    var times: [Double] = []
    while times.count < count, let t = generator.next() { times.append(t) }
    return times
}

private func gapStats(_ times: [Double]) -> (mean: Double, cv: Double) {
    let gaps = zip(times.dropFirst(), times).map { $0 - $1 }
    let mean = gaps.reduce(0, +) / Double(gaps.count)
    let variance = gaps.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(gaps.count - 1)
    return (mean, variance.squareRoot() / mean)
}

@Test func poissonHasRightMeanAndCV() {
    var load = LoadSpec()
    load.rate = 50
    load.arrival = .poisson
    load.requests = 5000
    let times = arrivals(load, count: 5001)
    let (mean, cv) = gapStats(times)
    #expect(abs(mean - 0.02) / 0.02 < 0.05, "mean gap \(mean)")
    #expect(abs(cv - 1) < 0.05, "CV \(cv)")
    #expect(times == arrivals(load, count: 5001), "a seeded schedule is identical run to run")
    #expect(times != arrivals(load, seed: 43, count: 5001))
}

@Test func gammaBurstinessQuarterHasCVTwo() {
    var load = LoadSpec()
    load.rate = 50
    load.arrival = .gamma
    load.burstiness = 0.25
    load.requests = 5000
    let (mean, cv) = gapStats(arrivals(load, count: 5001))
    #expect(abs(mean - 0.02) / 0.02 < 0.05, "mean gap \(mean)")
    #expect(abs(cv - 2) / 2 < 0.05, "CV \(cv)")
}

@Test func constantRateIsEvenlySpaced() {
    var load = LoadSpec()
    load.rate = 4
    load.arrival = .constant
    load.requests = 10
    let times = arrivals(load, count: 10)
    for (i, t) in times.enumerated() { #expect(abs(t - Double(i) * 0.25) < 1e-9) }
}

@Test func rampReachesItsEndRate() {
    var load = LoadSpec()
    load.rampUp = LoadSpec.Ramp(from: 10, to: 100, durationS: 20)
    load.arrival = .constant
    let times = arrivals(load, count: 100_000)
    // Λ(20) = (10 + 100) / 2 × 20 = 1100 arrivals.
    #expect(abs(times.count - 1100) <= 1)
    let lastSecond = times.filter { $0 >= 19 }.count
    let firstSecond = times.filter { $0 < 1 }.count
    #expect(abs(lastSecond - 98) <= 2, "rate near the end \(lastSecond)/s")
    #expect(abs(firstSecond - 12) <= 2, "rate near the start \(firstSecond)/s")
    #expect(times.last! < 20)
}

@Test func stagesRunInOrder() {
    var load = LoadSpec()
    load.arrival = .constant
    load.stages = [LoadSpec.Stage(rate: 2, durationS: 5), LoadSpec.Stage(concurrency: 3, durationS: 5),
                   LoadSpec.Stage(rate: 10, durationS: 5)]
    let plan = LoadPlan(load)
    #expect(plan.phases.map(\.start) == [0, 5, 10])
    #expect(plan.phase(at: 6)?.kind == .closed(3))
    #expect(plan.durationS == 15)
    let times = arrivals(load, count: 1000)
    #expect(times.filter { $0 < 5 }.count == 10)
    #expect(times.filter { $0 >= 5 && $0 < 10 }.isEmpty, "no arrivals during the closed stage")
    #expect(abs(times.filter { $0 >= 10 }.count - 50) <= 1)
}
