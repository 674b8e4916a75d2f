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
