import Dispatch
import Foundation
import LoadGen
import NIOConcurrencyHelpers

/// Ctrl-C and SIGTERM: the first stops new requests and lets those in flight finish (cancelling them after a
/// grace period), so the full report is still written; the second exits at once, after the records of finished
/// requests still queued for requests.jsonl are written (up to 2 s).
final class InterruptHandler: @unchecked Sendable {  // sources are immutable after init; state is behind a lock
    /// TPBENCH_INTERRUPT_GRACE_S overrides it, so tests can watch the cancel path without waiting 10 s.
    static let graceSeconds = ProcessInfo.processInfo.environment["TPBENCH_INTERRUPT_GRACE_S"]
        .flatMap(Double.init).map { max(0, $0) } ?? 10.0
    private let state = NIOLockedValueBox<(runners: [LoadRunner], count: Int)>(([], 0))
    private let sources: [any DispatchSourceSignal]

    init() {
        signal(SIGINT, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        var sources: [any DispatchSourceSignal] = []
        let queue = DispatchQueue(label: "tpbench.signals")
        for number in [SIGINT, SIGTERM] {
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            sources.append(source)
        }
        self.sources = sources
        for source in sources {
            source.setEventHandler { [weak self] in self?.interrupt() }
            source.resume()
        }
    }

    var interrupted: Bool { state.withLockedValue { $0.count > 0 } }

    func watch(_ runner: LoadRunner) {
        state.withLockedValue { $0.runners.append(runner) }
    }

    private func interrupt() {
        let (runners, count) = state.withLockedValue { state -> ([LoadRunner], Int) in
            state.count += 1
            return (state.runners, state.count)
        }
        if count >= 2 {
            // Records of requests that already finished may still be on their way to disk (a few ms at most).
            for runner in runners { runner.drainRecords() }
            FileHandle.standardError.write(Data("\ninterrupted again: exiting now (requests.jsonl is complete up to here)\n".utf8))
            exit(130)
        }
        FileHandle.standardError.write(Data(("\ninterrupted: no new requests; waiting up to "
            + "\(String(format: "%g", Self.graceSeconds)) s for those in flight, then writing the report (Ctrl-C again to quit now)\n").utf8))
        for runner in runners { runner.stopIssuing() }
        DispatchQueue.global().asyncAfter(deadline: .now() + Self.graceSeconds) {
            for runner in runners { runner.cancel() }
        }
    }
}
