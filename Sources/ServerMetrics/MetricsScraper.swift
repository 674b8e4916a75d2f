import Curl
import Foundation
import Metrics
import NIOConcurrencyHelpers

/// Whether and where to scrape server metrics during a run (`--metrics-url`, `--no-server-metrics`).
package struct ServerMetricsSettings: Sendable, Equatable {
    package var enabled: Bool
    /// Explicit /metrics URLs; empty = `<base URL>/metrics` for each replica.
    package var urls: [String]
    package var intervalSeconds: Double

    package init(enabled: Bool = true, urls: [String] = [], intervalSeconds: Double = 1) {
        self.enabled = enabled
        self.urls = urls
        self.intervalSeconds = intervalSeconds
    }

    /// The URLs to scrape for a deployment's replicas: the overrides (`URL` for every deployment, or
    /// `NAME=URL` for one, as `compare` needs), else `/metrics` beside each base URL (a trailing `/v1` is
    /// dropped, since vLLM, SGLang, TGI and llama.cpp all serve /metrics at the root).
    package func endpoints(for baseURLs: [String], deployment: String? = nil) -> [String] {
        let overrides = urls.map(Self.split)
        let named = overrides.filter { $0.name != nil && $0.name == deployment }.map(\.url)
        if !named.isEmpty { return named }
        let shared = overrides.filter { $0.name == nil }.map(\.url)
        if !shared.isEmpty { return shared }
        return baseURLs.map { base in
            var root = base
            while root.hasSuffix("/") { root.removeLast() }
            if root.hasSuffix("/v1") { root.removeLast(3) }
            return root + "/metrics"
        }
    }

    /// `NAME=http://…` → (NAME, URL); a plain URL has no name.
    package static func split(_ entry: String) -> (name: String?, url: String) {
        guard let equals = entry.firstIndex(of: "="), !entry[..<equals].contains("/") else { return (nil, entry) }
        return (String(entry[..<equals]), String(entry[entry.index(after: equals)...]))
    }
}

/// What a `Scraper` does with the answers: each endpoint's body of a round, the round's time, and the result.
/// Called on the scraper's thread only (and `build` after it ended), so a collector needs no locks.
package protocol ScrapeCollector: AnyObject, SendableMetatype {
    associatedtype Output: Sendable
    /// One endpoint's answer in a round (nil: none came). Return false to stop scraping that endpoint.
    func record(index: Int, url: String, result: Result<FetchedResponse, any Error>?) -> Bool
    /// A round ended; `ns` is the midpoint of its requests on the monotonic clock.
    func endRound(ns: UInt64)
    /// Everything seen, on the timeline of `epochNs`.
    func build(epochNs: UInt64) -> Output
    /// The result when scraping was cancelled before it could finish.
    func cancelled() -> Output
    /// The curl multi loop could not start: nothing will be scraped.
    func loopFailed(_ error: any Error)
}

/// Server metrics: the scraper that reads vLLM/SGLang/TGI/llama.cpp /metrics.
package typealias MetricsScraper = Scraper<ServerMetricsCollector>

/// Polls each endpoint every interval on its own thread and curl multi loop (so scraping never shares a loop with the
/// load's timestamps), handing every answer to its collector.
///
/// A plain thread rather than a task: it blocks between scrapes, and the run's async work must not wait on it.
package final class Scraper<Collector: ScrapeCollector>: @unchecked Sendable {
    package let endpoints: [String]
    private let collector: Collector
    private let headers: [String]
    private let insecure: Bool
    private let intervalNs: UInt64

    /// Everything below is shared between the scraper thread and callers of `finish`/`cancel`.
    private let condition = NSCondition()
    private var stopping = false
    private var finishRequest: (epochNs: UInt64, done: @Sendable (Collector.Output) -> Void)?
    private var threadStarted = false
    private var baselineTaken: (@Sendable () -> Void)?

    // Scraper-thread state (touched only by the scraper thread, or after it ended).
    private var loop: MultiLoop?
    private var abandoned: Set<Int> = []

    package init(collector: Collector, endpoints: [String], headers: [String] = [], insecure: Bool = false,
                intervalSeconds: Double = 1) {
        self.collector = collector
        self.endpoints = endpoints
        self.headers = headers
        self.insecure = insecure
        self.intervalNs = UInt64(max(0.05, intervalSeconds) * 1e9)
    }

    /// Scrapes once and returns when that scrape is done (it is the baseline for counter deltas, so it must
    /// precede the load), then keeps scraping every interval until `finish` or `cancel`.
    package func start() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            condition.lock()
            guard !threadStarted, !stopping else {
                condition.unlock()
                continuation.resume()
                return
            }
            threadStarted = true
            baselineTaken = { continuation.resume() }
            condition.unlock()
            let thread = Thread { [self] in pollLoop() }
            thread.name = "tpbench-metrics"
            thread.start()
        }
    }

    /// Stops polling after one last scrape and returns what was seen, on the timeline of `epochNs` (the run's
    /// epoch from `MonotonicClock`).
    package func finish(epochNs: UInt64) async -> Collector.Output {
        await withCheckedContinuation { continuation in
            condition.lock()
            guard threadStarted, !stopping else {
                // Never started: nothing was scraped, so building touches no thread's state. Already cancelled:
                // the thread may still be running, so report nothing rather than race it.
                let result = threadStarted ? collector.cancelled() : collector.build(epochNs: epochNs)
                condition.unlock()
                continuation.resume(returning: result)
                return
            }
            finishRequest = (epochNs, { continuation.resume(returning: $0) })
            stopping = true
            condition.signal()
            condition.unlock()
        }
    }

    /// Stops polling without a result (the run failed).
    package func cancel() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
    }

    private func pollLoop() {
        do {
            loop = try MultiLoop(index: 1000)
        } catch {
            collector.loopFailed(error)
        }
        var next = MonotonicClock.now()
        while true {
            if loop != nil { scrapeRound() }
            condition.lock()
            let taken = baselineTaken
            baselineTaken = nil
            condition.unlock()
            taken?()
            next += intervalNs
            let now = MonotonicClock.now()
            if next < now { next = now }  // a slow scrape delays the next one instead of bunching them up
            condition.lock()
            while !stopping, MonotonicClock.now() < next {
                let remaining = Double(next - min(next, MonotonicClock.now())) / 1e9
                _ = condition.wait(until: Date(timeIntervalSinceNow: remaining))
            }
            let request = finishRequest
            let stop = stopping
            condition.unlock()
            if stop {
                if let request {
                    if loop != nil { scrapeRound() }
                    loop?.shutdown()
                    request.done(collector.build(epochNs: request.epochNs))
                } else {
                    loop?.shutdown()
                }
                return
            }
        }
    }

    /// Scrapes every live endpoint concurrently, then hands the answers to the collector in endpoint order.
    private func scrapeRound() {
        guard let loop else { return }
        let live = endpoints.indices.filter { !abandoned.contains($0) }
        guard !live.isEmpty else { return }
        let started = MonotonicClock.now()
        // One result slot per endpoint, written on the loop thread before `group.leave()`, read after `wait()`.
        let results = ScrapeResults(count: live.count)
        let group = DispatchGroup()
        for (slot, index) in live.enumerated() {
            let request = TransferRequest(
                url: endpoints[index], method: "GET", headers: headers + ["Accept: text/plain"],
                timeouts: Timeouts(connectMs: 2_000, firstTokenMs: nil, idleMs: 3_000, totalMs: 5_000),
                insecure: insecure)
            group.enter()
            loop.fetch(request, maxBytes: 16 << 20) { result in
                results.set(slot, result)
                group.leave()
            }
        }
        group.wait()
        let midpoint = started + (MonotonicClock.now() - started) / 2
        for (slot, index) in live.enumerated()
        where !collector.record(index: index, url: endpoints[index], result: results.get(slot)) {
            abandoned.insert(index)
        }
        collector.endRound(ns: midpoint)
    }
}

/// A response body as Prometheus text, or why it is not one (HTTP status, transport error).
func prometheusBody(_ result: Result<FetchedResponse, any Error>?) -> (body: String?, problem: String?) {
    switch result {
    case .success(let response) where response.status == 200: return (String(decoding: response.body, as: UTF8.self), nil)
    case .success(let response): return (nil, "HTTP \(response.status)")
    case .failure(let error): return (nil, "\(error)")
    case nil: return (nil, "no answer")
    }
}

/// Reads vLLM/SGLang/TGI/llama.cpp /metrics into a `ServerSideMetrics` on the run's timeline.
package final class ServerMetricsCollector: ScrapeCollector {
    package let target: String
    package let endpoints: [String]
    private var rounds: [(ns: UInt64, snapshot: ServerSnapshot)] = []
    private var latest: [Int: ServerSnapshot] = [:]
    private var failures: [Int: Int] = [:]
    private var notes: [String] = []

    package init(target: String, endpoints: [String]) {
        self.target = target
        self.endpoints = endpoints
    }

    package func loopFailed(_ error: any Error) {
        notes.append("server metrics were not scraped: could not start a curl multi loop (\(error))")
    }

    package func record(index: Int, url: String, result: Result<FetchedResponse, any Error>?) -> Bool {
        let firstTry = latest[index] == nil && failures[index] == nil
        let answer = prometheusBody(result)
        var problem = answer.problem
        if let body = answer.body {
            let exposition = PrometheusExposition(parsing: body)
            let snapshot = ServerSnapshot(exposition)
            if snapshot.family != nil {
                latest[index] = snapshot
                return true
            }
            problem = exposition.samples.isEmpty
                ? "the response is not Prometheus text"
                : "none of its \(exposition.samples.count) series are vLLM, SGLang, TGI or llama.cpp metrics"
        }
        failures[index, default: 0] += 1
        if firstTry {
            // Auto-detection: a server without /metrics is normal (and not worth a scrape a second).
            notes.append("no usable server metrics at \(url) (\(problem ?? "unknown problem")); server-side "
                         + "figures are missing for it (pass --metrics-url if they are served elsewhere)")
            return false
        }
        if failures[index] == 1 {
            notes.append("scraping \(url) failed at least once mid-run (\(problem ?? "unknown problem")); "
                         + "the previous scrape stands in for missed ones")
        }
        return true
    }

    /// Records one combined sample (failed replicas keep their previous scrape, so a blip does not look like
    /// counters going backwards).
    package func endRound(ns: UInt64) {
        guard !latest.isEmpty else { return }
        rounds.append((ns, ServerSnapshot.combine(endpoints.indices.compactMap { latest[$0] })))
    }

    package func cancelled() -> ServerSideMetrics {
        ServerSideMetrics(target: target, endpoints: endpoints, family: nil, samples: [], window: nil,
                          notes: ["server metrics scraping was cancelled"])
    }

    /// The scrapes on the run's timeline, and histogram deltas from the epoch's baseline to the last scrape.
    package func build(epochNs: UInt64) -> ServerSideMetrics {
        let family = rounds.last?.snapshot.family?.rawValue
        let samples = rounds.map { round in
            let s = round.snapshot
            return ServerMetricsSample(
                second: (Double(round.ns) - Double(epochNs)) / 1e9, running: s.running, waiting: s.waiting,
                kvCacheUsage: s.kvCacheUsage, preemptions: s.preemptions, prefixCacheHits: s.prefixCacheHits,
                prefixCacheQueries: s.prefixCacheQueries, prefixCacheHitRate: s.prefixCacheHitRate)
        }
        var window: ServerLatencyWindow?
        if let last = rounds.last?.snapshot {
            let baseline = rounds.last(where: { $0.ns <= epochNs })?.snapshot ?? rounds.first?.snapshot ?? last
            window = ServerMetricsWindow.delta(from: baseline, to: last)
        }
        return ServerSideMetrics(target: target, endpoints: endpoints, family: family, samples: samples,
                                 window: window, notes: notes)
    }
}

extension Scraper where Collector == ServerMetricsCollector {
    package convenience init(target: String, endpoints: [String], headers: [String] = [], insecure: Bool = false,
                            intervalSeconds: Double = 1) {
        self.init(collector: ServerMetricsCollector(target: target, endpoints: endpoints), endpoints: endpoints,
                  headers: headers, insecure: insecure, intervalSeconds: intervalSeconds)
    }
}

/// Window arithmetic, separate from the scraper so tests can check it with hand-made snapshots.
package enum ServerMetricsWindow {
    /// Histogram and prefix-cache counter growth between two snapshots (a reset counter counts from zero).
    package static func delta(from baseline: ServerSnapshot, to last: ServerSnapshot) -> ServerLatencyWindow {
        func change(_ kind: ServerLatencyKind) -> HistogramDelta? {
            guard let end = last.latency[kind] else { return nil }
            let start = baseline.latency[kind] ?? HistogramDelta(count: 0, sumSeconds: 0)
            if end.count < start.count { return end }  // the server restarted mid-run
            return HistogramDelta(count: end.count - start.count, sumSeconds: max(0, end.sumSeconds - start.sumSeconds))
        }
        var hitRate = last.prefixCacheHitRate
        if let hits = last.prefixCacheHits, let queries = last.prefixCacheQueries {
            let dq = queries - (baseline.prefixCacheQueries ?? 0)
            let dh = hits - (baseline.prefixCacheHits ?? 0)
            hitRate = dq > 0 ? min(1, max(0, dh / dq)) : nil
        }
        return ServerLatencyWindow(
            timeToFirstToken: change(.timeToFirstToken), queue: change(.queue), prefill: change(.prefill),
            decode: change(.decode), interToken: change(.interToken), endToEnd: change(.endToEnd),
            prefixCacheHitRate: hitRate)
    }
}

/// The results of one scrape round, one slot per endpoint.
private final class ScrapeResults: @unchecked Sendable {
    // Each slot is written once on a loop thread before `group.leave()` and read after `group.wait()`; the
    // lock makes that ordering visible to ThreadSanitizer too.
    private let slots: NIOLockedValueBox<[Result<FetchedResponse, any Error>?]>

    init(count: Int) { slots = NIOLockedValueBox(Array(repeating: nil, count: count)) }

    func set(_ slot: Int, _ result: Result<FetchedResponse, any Error>) { slots.withLockedValue { $0[slot] = result } }
    func get(_ slot: Int) -> Result<FetchedResponse, any Error>? { slots.withLockedValue { $0[slot] } }
}
