import CCurl
import Curl
import Foundation
import JSON
import LoadGen
import Metrics
import MockServer
import Workload

/// `tpbench selfbench`: the client against the mock in fixed-latency mode, to show the client is not the limit.
///
/// Each scenario holds N streams (one request each, exactly `tokens` events) against a mock whose schedule is known,
/// and reports what the client cost and how faithfully it timed events. The mock runs as a child process by
/// default, so process CPU and RSS are the client's alone; in-process is available for tests.
package enum SelfBench {
    package struct Scenario: Sendable, Codable, Equatable {
        package var name: String
        package var streams: Int
        package var ttftMs: Double
        /// 0 = unpaced: the mock writes as fast as it can (up to 32 events per stream per tick).
        package var itlMs: Double
        package var tokens: Int
        package init(name: String, streams: Int, ttftMs: Double, itlMs: Double, tokens: Int) {
            self.name = name
            self.streams = streams
            self.ttftMs = ttftMs
            self.itlMs = itlMs
            self.tokens = tokens
        }
    }

    package struct Settings: Sendable {
        package var scenarios: [Scenario]
        package var repeats = 3
        package var loops = 1
        package var connectRate = 2000.0
        /// Where the client's receive stamps come from (the kernel's time costs one peek per socket read).
        package var receiveTimes: ReceiveTimeSource = .kernel
        /// Path of a tpbench executable to run `tpbench mock` as a child process; nil runs the mock in-process.
        package var mockExecutable: String?
        /// After each paced run, read the same streams from the same mock with `FloorReader` (the kernel's
        /// share of a token event on this machine).
        package var floor = false
        package init(scenarios: [Scenario]) { self.scenarios = scenarios }

        /// The issue-7 set: paced scenarios keep the mock near 50k events/s (what one core of a 2-core box
        /// sustains next to the client), each lasting about `seconds` of streaming.
        package static func standard(streams: [Int], seconds: Double, unpaced: Bool) -> [Scenario] {
            var list = streams.map { n -> Scenario in
                let itl = max(20, Double(n) / 50)
                return Scenario(name: "\(n) streams", streams: n, ttftMs: 20, itlMs: itl,
                                tokens: max(10, Int(seconds * 1000 / itl)))
            }
            if unpaced {
                list.append(Scenario(name: "unpaced", streams: 64, ttftMs: 0, itlMs: 0, tokens: 20_000))
            }
            return list
        }
    }

    /// Who read the streams: tpbench's loop, or the floor reader (raw sockets, no libcurl, no parsing).
    package enum Reader: String, Sendable, Codable {
        case tpbench, floor
    }

    /// One run of one scenario.
    package struct Measurement: Sendable, Codable, Equatable {
        package var scenario: Scenario
        package var reader: Reader = .tpbench
        package var failures: Int
        package var events: Int
        package var wallSeconds: Double
        /// Loop-thread CPU / token events (for the floor: its thread's CPU / the token events of its streams).
        package var loopCPUMicrosPerEvent: Double
        /// Whole-process CPU / token events (loops, scheduler, records; the mock only when in-process).
        package var processCPUMicrosPerEvent: Double?
        /// Token events / (last event − first request start).
        package var eventsPerSecond: Double
        /// Peak RSS growth during the run / streams (KiB); includes what the allocator keeps for reuse, so it
        /// depends on what ran before.
        package var memoryKiBPerStream: Double?
        /// Growth of heap bytes in use (malloc's count, all arenas) when the first stream ends, i.e. with every
        /// stream in flight and nearly all its events in, / streams (KiB): what the client holds per in-flight
        /// stream, stable from run to run. Records waiting to be written after a burst of endings are not in it.
        package var heapKiBPerStream: Double?
        /// Share of inter-event gaps under half the server's gap.
        package var coalescingShare: Double?
        /// E2E p50 / the schedule's E2E (TTFT + (tokens − 1) × ITL).
        package var stretch: Double?
        /// TTFT − the server's scheduled TTFT, p50 and p99 (ms).
        package var overheadMsP50: Double?
        package var overheadMsP99: Double?
        package var mockLatenessP99Ms: Double?
        package var mockCPUShare: Double?
    }

    /// Runs every scenario `repeats` times, interleaved (a slow moment hits all scenarios alike).
    package static func run(_ settings: Settings, log: @Sendable (String) -> Void = { _ in }) async throws
        -> [Measurement]
    {
        var results: [Measurement] = []
        for round in 1...max(1, settings.repeats) {
            for scenario in settings.scenarios {
                log("selfbench round \(round)/\(settings.repeats): \(scenario.name) (\(scenario.streams) streams × "
                    + "\(scenario.tokens) tokens, ITL \(scenario.itlMs) ms) …")
                for m in try await measure(scenario, settings: settings) {
                    log("  " + summaryLine(m))
                    results.append(m)
                }
            }
        }
        return results
    }

    static func summaryLine(_ m: Measurement) -> String {
        if m.reader == .floor {
            return String(format: "floor (raw sockets, no libcurl, no parsing): %d token events, %.2f µs/event "
                          + "thread CPU, failures %d", m.events, m.loopCPUMicrosPerEvent, m.failures)
        }
        return String(format: "%d events, %.1f s, %.2f µs/event loop CPU, %.0f events/s, heap %.1f KiB/stream "
               + "(RSS %.1f), coalesced %.2f%%, stretch %.3f, overhead p50 %.2f ms, failures %d",
               m.events, m.wallSeconds, m.loopCPUMicrosPerEvent, m.eventsPerSecond, m.heapKiBPerStream ?? 0,
               m.memoryKiBPerStream ?? 0, (m.coalescingShare ?? 0) * 100, m.stretch ?? 0, m.overheadMsP50 ?? 0, m.failures)
    }

    /// Runs one scenario: tpbench's measurement, then the floor's when asked for (same mock, same streams).
    static func measure(_ scenario: Scenario, settings: Settings) async throws -> [Measurement] {
        let mock = try await SelfBenchMock.start(scenario: scenario, executable: settings.mockExecutable)
        var spec = WorkloadSpec()
        spec.name = "selfbench"
        spec.load.concurrency = scenario.streams
        spec.load.requests = scenario.streams
        spec.prompt.tokens = .fixed(16)
        spec.prompt.calibrate = false
        spec.output.maxTokens = .fixed(scenario.tokens)
        spec.timeouts.connectS = 60
        try LoadRunner.checkCapacity(plan: LoadPlan(spec), mockInProcess: mock.inProcess)
        var requestSettings = RequestSettings()
        requestSettings.connectRate = settings.connectRate
        requestSettings.receiveTimes = settings.receiveTimes
        requestSettings.continuousUsage = false

        let sampler = MemorySampler()
        let baselineResidentKiB = MemorySampler.residentKiB()
        let baselineHeapKiB = MemorySampler.heapKiB()
        sampler.start()
        let cpuBefore = ProcessResources.cpuNanoseconds()
        let mockCPUBefore = mock.cpuNanoseconds()
        let output = try await Benchmark.run(workload: spec, target: Target(name: "mock", baseURLs: [mock.baseURL]),
                                             settings: requestSettings, loopCount: settings.loops,
                                             onRecord: { _ in sampler.firstStreamEnded() })
        let processCPU = ProcessResources.cpuNanoseconds() - cpuBefore
        let mockCPU = mock.cpuNanoseconds().map { $0 - (mockCPUBefore ?? 0) }
        let peak = sampler.stop()
        let lateness = await mock.latenessP99Ms()
        var floor: Measurement?
        if settings.floor && scenario.itlMs > 0 {
            do {
                floor = try await measureFloor(scenario, mock: mock, settings: settings)
            } catch {
                try? await mock.stop()
                throw error
            }
        }
        try await mock.stop()

        let records = output.records
        let events = records.reduce(0) { $0 + $1.tokenEventOffsetsMs.count }
        let loopCPU = output.loopStatistics.reduce(UInt64(0)) { $0 + $1.cpuNanoseconds }
        var gaps = 0
        var coalesced = 0
        let half = scenario.itlMs / 2
        var firstStart = Double.infinity
        var lastEvent = 0.0
        var ttftOverheads: [Double] = []
        var e2es: [Double] = []
        for record in records where record.failure == nil {
            let offsets = record.tokenEventOffsetsMs
            for i in offsets.indices.dropFirst() {
                gaps += 1
                if offsets[i] - offsets[i - 1] < half { coalesced += 1 }
            }
            firstStart = min(firstStart, record.startMs)
            lastEvent = max(lastEvent, record.startMs + (offsets.last ?? 0))
            if let first = offsets.first { ttftOverheads.append(first - scenario.ttftMs) }
            e2es.append(record.e2eMs)
        }
        let ideal = scenario.ttftMs + Double(max(0, scenario.tokens - 1)) * scenario.itlMs
        let window = max(1e-9, (lastEvent - firstStart) / 1000)
        let measurement = Measurement(
            scenario: scenario, failures: records.filter { $0.failure != nil }.count, events: events,
            wallSeconds: output.wallSeconds,
            loopCPUMicrosPerEvent: Double(loopCPU) / 1000 / Double(max(1, events)),
            processCPUMicrosPerEvent: Double(processCPU) / 1000 / Double(max(1, events)),
            eventsPerSecond: Double(events) / window,
            memoryKiBPerStream: Double(max(0, peak.residentKiB - baselineResidentKiB)) / Double(scenario.streams),
            heapKiBPerStream: peak.inFlightHeapKiB.map { Double(max(0, $0 - baselineHeapKiB)) / Double(scenario.streams) },
            coalescingShare: scenario.itlMs > 0 ? Double(coalesced) / Double(max(1, gaps)) : 0,
            stretch: ideal > 0 ? percentile(e2es, 0.5) / ideal : 0,
            overheadMsP50: percentile(ttftOverheads, 0.5), overheadMsP99: percentile(ttftOverheads, 0.99),
            mockLatenessP99Ms: lateness,
            mockCPUShare: mockCPU.map { Double($0) / 1e9 / max(1e-9, output.wallSeconds) })
        return [measurement] + (floor.map { [$0] } ?? [])
    }

    /// The floor reader on the same streams: the request tpbench sent (model, prompt size, max_tokens, stream
    /// with usage), over plain sockets with `Connection: close`.
    static func measureFloor(_ scenario: Scenario, mock: SelfBenchMock, settings: Settings) async throws
        -> Measurement
    {
        guard let port = URLComponents(string: mock.baseURL)?.port.flatMap(UInt16.init(exactly:)) else {
            throw FloorReader.Failure(description: "no port in the mock's address \(mock.baseURL)")
        }
        let body = JSONValue.object(JSONObject([
            ("model", .string(MockConfiguration().servedModelNames[0])),
            ("messages", .array([.object(JSONObject([
                ("role", .string("user")), ("content", .string("selfbench floor reader sixteen tokens of prompt text here")),
            ]))])),
            ("max_tokens", .number(Double(scenario.tokens))), ("stream", .bool(true)),
            ("stream_options", .object(JSONObject([("include_usage", .bool(true))]))),
        ]))
        let request = FloorReader.httpRequest(path: "/v1/chat/completions", body: Array(body.serialized().utf8))
        let mockCPUBefore = mock.cpuNanoseconds()
        let ideal = (scenario.ttftMs + Double(scenario.tokens) * scenario.itlMs) / 1000
        let result = try await FloorReader.run(
            port: port, request: request, streams: scenario.streams, connectRate: settings.connectRate,
            deadlineSeconds: 60 + 3 * ideal + Double(scenario.streams) / max(1, settings.connectRate))
        let mockCPU = mock.cpuNanoseconds().map { $0 - (mockCPUBefore ?? 0) }
        // The same denominator as tpbench's figure: token events (each stream also has role, usage and [DONE]).
        let tokenEvents = result.completedStreams * scenario.tokens
        return Measurement(
            scenario: scenario, reader: .floor, failures: result.failures, events: tokenEvents,
            wallSeconds: result.wallSeconds,
            loopCPUMicrosPerEvent: Double(result.cpuNanoseconds) / 1000 / Double(max(1, tokenEvents)),
            processCPUMicrosPerEvent: nil, eventsPerSecond: Double(result.events) / max(1e-9, result.wallSeconds),
            memoryKiBPerStream: nil, heapKiBPerStream: nil, coalescingShare: nil, stretch: nil, overheadMsP50: nil, overheadMsP99: nil,
            mockLatenessP99Ms: nil,
            mockCPUShare: mockCPU.map { Double($0) / 1e9 / max(1e-9, result.wallSeconds) })
    }

    static func percentile(_ values: [Double], _ q: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * q).rounded()))]
    }
}

/// Samples the process's resident set every 50 ms on its own thread and keeps the peak; reads the heap in use
/// (malloc's count) once, when the first stream ends, which is when every stream is in flight with nearly all its
/// events. Not periodically: mallinfo2 walks every arena under its lock, which would stall the loop's mallocs.
final class MemorySampler: @unchecked Sendable {
    struct Peaks {
        var residentKiB = 0
        /// Heap in use when the first stream ended (nil until then).
        var inFlightHeapKiB: Int?
    }

    private let lock = NSLock()
    private var peak = Peaks()
    private var running = true
    private let done = DispatchSemaphore(value: 0)

    /// Current RSS from /proc/self/statm (the peak from getrusage never goes down, so deltas need this).
    static func residentKiB() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE))) / 1024
    }

    static func heapKiB() -> Int { Int(tp_heap_in_use_bytes() / 1024) }

    func start() {
        let thread = Thread { [self] in
            while lock.withLock({ running }) {
                recordResident()
                usleep(50_000)
            }
            done.signal()
        }
        thread.start()
    }

    private func recordResident() {
        let now = Self.residentKiB()
        lock.withLock { peak.residentKiB = max(peak.residentKiB, now) }
    }

    /// Called as records arrive: the first one takes the in-flight heap reading.
    func firstStreamEnded() {
        guard lock.withLock({ peak.inFlightHeapKiB == nil }) else { return }
        let heap = Self.heapKiB()
        lock.withLock { if peak.inFlightHeapKiB == nil { peak.inFlightHeapKiB = heap } }
    }

    /// Stops sampling and returns the peaks.
    func stop() -> Peaks {
        lock.withLock { running = false }
        done.wait()
        recordResident()
        return lock.withLock { peak }
    }
}
