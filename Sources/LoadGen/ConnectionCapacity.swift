import Curl
import Foundation
import Workload

/// A concurrency the process cannot hold: each stream needs a socket, and the open-file limit caps them.
package struct ConnectionCapacityError: Error, Sendable, CustomStringConvertible {
    package let concurrency: Int
    package let openFileLimit: Int
    package let reserved: Int

    package var description: String {
        "concurrency \(concurrency) needs about \(concurrency + reserved) file descriptors but the open-file limit "
            + "is \(openFileLimit) (already raised to the hard limit). Raise it (ulimit -Hn / LimitNOFILE in "
            + "systemd / nofile in /etc/security/limits.conf), lower --concurrency, or split the load over several "
            + "tpbench processes (results merge exactly)."
    }
}

/// Paces new connections (`--connect-rate`): a token bucket on the scheduler thread, consulted only when a start
/// needs a connection the pool cannot have yet (in flight above its previous peak, or a fresh connection per
/// request). Reused keep-alive connections are never delayed.
struct ConnectPacer {
    let ratePerSecond: Double
    /// Up to ~10 ms of connections at once: small enough that the server's accept loop is not flooded.
    let burst: Double
    private var tokens: Double
    private var lastRefillNs: UInt64

    init(ratePerSecond: Double, now: UInt64) {
        self.ratePerSecond = ratePerSecond
        burst = max(1, ratePerSecond / 100)
        tokens = burst
        lastRefillNs = now
    }

    var isUnpaced: Bool { !(ratePerSecond > 0) || !ratePerSecond.isFinite }

    /// Takes a token if one is available; otherwise returns the monotonic ns at which one will be.
    mutating func take(now: UInt64) -> UInt64? {
        if isUnpaced { return nil }
        if now > lastRefillNs {
            tokens = min(burst, tokens + Double(now - lastRefillNs) / 1e9 * ratePerSecond)
            lastRefillNs = now
        }
        if tokens >= 1 {
            tokens -= 1
            return nil
        }
        return now + UInt64(((1 - tokens) / ratePerSecond * 1e9).rounded(.up))
    }
}

extension LoadRunner {
    /// Descriptors kept for everything that is not a stream: stdio, epoll/eventfd per loop, report files, an
    /// in-process mock's listening sockets, libcurl's internals.
    package static let reservedFileDescriptors = 64

    /// Raises the open-file limit to the hard limit and throws when `plan`'s peak concurrency still cannot fit.
    /// An in-process mock needs a descriptor per stream too (`mockInProcess`).
    package static func checkCapacity(plan: LoadPlan, mockInProcess: Bool = false) throws {
        guard let peak = plan.peakConcurrency, peak > 0 else { return }
        guard let limit = ProcessResources.raiseOpenFileLimit() else { return }
        let needed = peak * (mockInProcess ? 2 : 1)
        if needed + reservedFileDescriptors > limit {
            throw ConnectionCapacityError(concurrency: needed, openFileLimit: limit, reserved: reservedFileDescriptors)
        }
    }

    /// Client threads (one MultiLoop each) for a load: one per ~2500 streams (one loop ingests well over 100k events/s), at most
    /// one per core, leaving a core free when the mock runs in the same process.
    package static func defaultLoopCount(peakConcurrency: Int?, cores: Int = ProcessInfo.processInfo.activeProcessorCount,
                                          mockInProcess: Bool = false) -> Int {
        let wanted = max(1, ((peakConcurrency ?? 1) + 2499) / 2500)
        let available = max(1, mockInProcess ? cores - 1 : cores)
        return min(wanted, available)
    }
}
