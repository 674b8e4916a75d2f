import Curl
import Foundation
import NIOConcurrencyHelpers
import ThreadPriority

/// An independent witness of the machine's stalls: a thread that asks to wake every 250 µs, at a real-time
/// priority above the client's own threads (so they cannot delay it), and notes every wake-up more than 0.5 ms
/// late. Such a stretch is one in which no thread of this process could run: the hypervisor or the host took the
/// virtual CPUs (2 shared cores here), or the kernel did. A send that was late inside one measures the machine,
/// not the client; one that was late while the witness ran on time is the client's own lateness.
final class StallWitness: @unchecked Sendable {
    struct Stall {
        /// From the witness's last wake-up on time to the late one (MonotonicClock ns).
        var fromNs: UInt64
        var toNs: UInt64
    }

    static let periodNs: UInt64 = 250_000
    static let lateNs: UInt64 = 500_000

    private let state = NIOLockedValueBox<(running: Bool, stalls: [Stall])>((true, []))
    private let finished = DispatchSemaphore(value: 0)
    /// Why the witness could not run real-time (nil: it did); without it, it would see the client's threads as stalls.
    private(set) var realtimeProblem: String?

    init() {
        let ready = DispatchSemaphore(value: 0)
        let thread = Thread { [self] in
            realtimeProblem = RealtimeScheduling.enterForCurrentThread(priority: 2)
            ready.signal()
            watch()
            finished.signal()
        }
        thread.name = "stall-witness"
        thread.start()
        ready.wait()
    }

    /// Stops watching; the stalls seen.
    func stop() -> [Stall] {
        state.withLockedValue { $0.running = false }
        finished.wait()
        return state.withLockedValue { $0.stalls }
    }

    private func watch() {
        var last = MonotonicClock.now()
        while state.withLockedValue({ $0.running }) {
            let due = last + Self.periodNs
            var wait = timespec(tv_sec: Int(due / 1_000_000_000), tv_nsec: Int(due % 1_000_000_000))
            while clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &wait, nil) == EINTR {}
            let woke = MonotonicClock.now()
            if woke > due + Self.lateNs {
                state.withLockedValue { $0.stalls.append(Stall(fromNs: last, toNs: woke)) }
            }
            last = woke
        }
    }
}

extension [StallWitness.Stall] {
    /// Milliseconds of these stalls inside [fromNs, toNs].
    func overlapMs(fromNs: UInt64, toNs: UInt64) -> Double {
        reduce(0) { sum, stall in
            let from = Swift.max(stall.fromNs, fromNs)
            let to = Swift.min(stall.toNs, toNs)
            return to > from ? sum + Double(to - from) / 1e6 : sum
        }
    }

    /// Whether the machine's stalls account for a measured time's lateness past `boundMs` against the server's
    /// known schedule (`nominalMs` after a start at `startNs`). Lateness builds up in two places only: on the way
    /// out (from the start stamp to the server's clock starting: the first `late` ms) and when the event is due
    /// (from its nominal time to its arrival); a stall anywhere else is idle time that delays nothing. Early is
    /// never excused: no stall makes a measurement early.
    func explain(measuredMs: Double, nominalMs: Double, boundMs: Double, startNs: UInt64) -> Bool {
        let late = measuredMs - nominalMs
        guard late >= boundMs else { return false }
        func ns(_ ms: Double) -> UInt64 { startNs &+ UInt64(Swift.max(0, ms) * 1e6) }
        let slack = 0.5
        let onTheWayOut = overlapMs(fromNs: startNs, toNs: ns(late + slack))
        let whenDue = overlapMs(fromNs: ns(Swift.max(late + slack, nominalMs - slack)), toNs: ns(measuredMs))
        return onTheWayOut + whenDue >= late - boundMs
    }

    /// "at 512.3 ms for 2.41 ms, ..." from the run's time origin, for failure messages.
    func describe(since epochNs: UInt64) -> String {
        map { "at \(String(format: "%.1f", Double(Int64(bitPattern: $0.fromNs &- epochNs)) / 1e6)) ms for "
            + "\(String(format: "%.2f", Double($0.toNs &- $0.fromNs) / 1e6)) ms" }.joined(separator: ", ")
    }
}
