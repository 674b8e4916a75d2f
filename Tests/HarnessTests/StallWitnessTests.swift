import Testing

/// The excuse timing tests take from the machine's stalls: only a stall where a measured time built up its
/// lateness (on the way out, or when the event was due) excuses it, and only for the lateness past the bound.
struct StallWitnessTests {
    static let start: UInt64 = 1_000_000_000
    static func stall(atMs: Double, forMs: Double) -> StallWitness.Stall {
        StallWitness.Stall(fromNs: start + UInt64(atMs * 1e6), toNs: start + UInt64((atMs + forMs) * 1e6))
    }

    @Test func aStallWhereTheLatenessBuiltUpExcusesItAndOneInTheIdleWaitDoesNot() {
        // TTFT nominal 100 ms, measured 103.1 ms: 1.1 ms past a 2 ms bound to account for.
        let onTheWayOut = [Self.stall(atMs: 0.2, forMs: 2.9)]
        let whenDue = [Self.stall(atMs: 100.1, forMs: 2.9)]
        let idle = [Self.stall(atMs: 50, forMs: 2.9)]
        let tooShort = [Self.stall(atMs: 0.2, forMs: 0.6)]
        func explains(_ stalls: [StallWitness.Stall], _ measured: Double = 103.1) -> Bool {
            stalls.explain(measuredMs: measured, nominalMs: 100, boundMs: 2, startNs: Self.start)
        }
        #expect(explains(onTheWayOut) && explains(whenDue))
        #expect(!explains(idle), "a stall while both sides wait delays nothing")
        #expect(!explains(tooShort), "0.6 ms of stall does not account for 1.1 ms past the bound")
        #expect(!explains(onTheWayOut, 96.9), "no stall makes a measurement early")
        #expect(!explains([], 103.1))
        #expect(abs(onTheWayOut.overlapMs(fromNs: Self.start, toNs: Self.start + 1_200_000) - 1.0) < 1e-9)
    }
}
