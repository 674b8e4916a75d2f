import Foundation
import LoadGen
import Metrics
import NIOConcurrencyHelpers
import Workload

/// Live progress: redrawn in place a few times a second on a terminal, a plain line every few seconds otherwise.
final class ProgressReporter: Sendable {
    private struct Counters {
        var done = 0
        var failed = 0
        /// (completion time s, output tokens) of recent requests, for rates over the last seconds.
        var recent: [(Double, Int)] = []
        /// All TTFTs so far, in flat memory however long the run.
        var ttfts = LatencyHistogram()
        var runner: LoadRunner?
        var stopped = false
    }

    private let counters = NIOLockedValueBox<Counters>(Counters())
    private let total: Int?
    private let duration: Double?
    private let isTerminal = isatty(STDERR_FILENO) != 0
    private let startedAt = Date()

    init(plan: LoadPlan) {
        total = plan.maxRequests
        duration = plan.durationS
    }

    func start(runner: LoadRunner) {
        counters.withLockedValue { $0.runner = runner }
        let thread = Thread { [self] in
            var lastLine = Date.distantPast
            while !self.counters.withLockedValue({ $0.stopped }) {
                Thread.sleep(forTimeInterval: 0.25)
                if self.isTerminal || Date().timeIntervalSince(lastLine) >= 5 {
                    self.draw(final: false)
                    lastLine = Date()
                }
            }
        }
        thread.name = "tpbench-progress"
        thread.start()
    }

    func record(_ record: RequestRecord) {
        let now = Date().timeIntervalSince(startedAt)
        counters.withLockedValue { c in
            c.done += 1
            if !record.succeeded { c.failed += 1 }
            c.recent.append((now, record.outputTokens))
            if c.recent.count > 4096 { c.recent.removeFirst(c.recent.count - 4096) }
            if let ttft = record.ttftMs { c.ttfts.record(milliseconds: ttft) }
        }
    }

    func stop() {
        let wasRunning = counters.withLockedValue { c -> Bool in
            let was = !c.stopped && c.runner != nil
            c.stopped = true
            return was
        }
        if wasRunning { draw(final: true) }
    }

    private func draw(final: Bool) {
        let elapsed = Date().timeIntervalSince(startedAt)
        let (done, failed, recent, ttfts, inFlight) = counters.withLockedValue {
            ($0.done, $0.failed, $0.recent.filter { $0.0 >= elapsed - 5 }, $0.ttfts, $0.runner?.inFlight ?? 0)
        }
        let window = min(5, max(0.001, elapsed))
        let rps = Double(recent.count) / window
        let tokps = Double(recent.reduce(0) { $0 + $1.1 }) / window
        let ttft = ttfts.count == 0 ? "n/a" : String(format: "%.0f ms", ttfts.percentileMs(50))
        var progress = "\(done)"
        if let total { progress += "/\(total)" }
        if let duration { progress += String(format: " (%.0f/%.0f s)", elapsed, duration) }
        let line = "  \(progress) done, \(inFlight) in flight, \(String(format: "%.1f", rps)) req/s, "
            + "\(String(format: "%.0f", tokps)) tok/s, TTFT p50 \(ttft), \(failed) failed"
        let out = isTerminal ? "\r\u{1B}[2K" + line + (final ? "\n" : "") : line + "\n"
        FileHandle.standardError.write(Data(out.utf8))
    }
}

/// "calibrating prompts 37/500" on stderr while prompts are counted by the server's tokenizer: a line every
/// 2 s (and at the end), redrawn in place on a terminal.
final class CalibrationProgress: Sendable {
    private let last = NIOLockedValueBox<Date>(.distantPast)
    private let isTerminal = isatty(STDERR_FILENO) != 0

    func update(_ done: Int, _ total: Int) {
        let now = Date()
        let due = last.withLockedValue { last -> Bool in
            guard done == total || now.timeIntervalSince(last) >= (isTerminal ? 0.2 : 2) else { return false }
            last = now
            return true
        }
        guard due else { return }
        let line = "calibrating prompts against the server's tokenizer \(done)/\(total)"
        let end = done == total ? "\n" : ""
        FileHandle.standardError.write(Data((isTerminal ? "\r\(line)\u{1B}[K\(end)" : "\(line)\n").utf8))
    }
}
