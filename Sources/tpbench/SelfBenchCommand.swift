import ArgumentParser
import Curl
import Foundation
import Harness

/// `tpbench selfbench`: how much the client costs and how faithfully it times events, against the mock.
struct SelfBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "selfbench",
        abstract: "Benchmark the client itself against the mock (CPU per event, events/s, memory, timing fidelity).",
        discussion: """
            Runs N streams (one request each) against `tpbench mock` in fixed-latency mode, started as a child \
            process so the client's CPU and memory are measured alone. Paced scenarios use ITL = max(20, N/50) ms so \
            the mock stays near 50k events/s on a small machine; `unpaced` lets the mock write as fast as it can \
            (ITL 0) to find one loop's ceiling. Every scenario runs --repeats times, interleaved; the table shows \
            medians with [min–max]. Bounded and loopback-only.
            Example: tpbench selfbench --streams 100,1000,4000,10000 --repeats 3
            """
    )

    @Option(help: "Comma-separated stream counts.") var streams = "100,1000,4000,10000"
    @Option(help: "Streaming seconds per paced scenario (sets tokens per stream).") var seconds = 10.0
    @Option(help: "ITL in ms for every paced scenario (default: max(20, streams/50)).") var itlMs: Double?
    @Option(help: "Runs of each scenario.") var repeats = 3
    @Option(name: .customLong("client-threads"), help: "Client threads (one curl multi loop each).") var clientThreads = 1
    @Option(help: "New connections per second.") var connectRate = 2000.0
    @Flag(inversion: .prefixedNo, help: "Include the unpaced scenario (max events/s one loop ingests).")
    var unpaced = true
    @Flag(help: """
        After each paced run, read the same streams with a minimal raw-socket reader (epoll + recv, no libcurl, \
        no parsing) and print its CPU per event: the kernel's share, which no socket client goes under.
        """)
    var floor = false
    @Flag(help: """
        Measure the client's timing error against a ground-truth server (exact schedule; each event carries its send         time): TTFT 300 ms, 100 tokens one every max(20, streams/50) ms (or --itl-ms), 2 requests per stream, at each         --streams count.
        """)
    var groundTruth = false
    @Option(help: "The receive times to measure: kernel, wake, or (with --ground-truth) both; default kernel.")
    var receiveTime: String = "kernel"
    @Flag(help: "Run the mock in this process instead of a child process.") var inProcessMock = false
    @Flag(help: "Print the measurements as JSON.") var json = false

    func validate() throws {
        guard !streamCounts.isEmpty, streamCounts.allSatisfy({ $0 > 0 && $0 <= 50_000 }) else {
            throw ValidationError("--streams takes comma-separated counts between 1 and 50000, got \(streams)")
        }
        guard receiveTimes != nil else {
            throw ValidationError("--receive-time takes kernel, wake or both, got '\(receiveTime)'")
        }
        if receiveTime == "both" && !groundTruth {
            throw ValidationError("--receive-time both compares the two rules with --ground-truth; give kernel or wake")
        }
        guard (1...20).contains(repeats) else { throw ValidationError("--repeats must be 1...20") }
        guard (1...64).contains(clientThreads) else { throw ValidationError("--client-threads must be 1...64") }
        guard seconds > 0, seconds <= 600 else { throw ValidationError("--seconds must be in (0, 600]") }
    }

    var receiveTimes: [ReceiveTimeSource]? {
        receiveTime == "both" ? ReceiveTimeSource.allCases : ReceiveTimeSource(rawValue: receiveTime).map { [$0] }
    }

    var streamCounts: [Int] { streams.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) } }

    func run() async throws {
        if groundTruth { return try await runGroundTruth() }
        var scenarios = SelfBench.Settings.standard(streams: streamCounts, seconds: seconds, unpaced: unpaced)
        if let itlMs {
            for i in scenarios.indices where scenarios[i].itlMs > 0 {
                scenarios[i].itlMs = itlMs
                scenarios[i].tokens = max(10, Int(seconds * 1000 / itlMs))
            }
        }
        var settings = SelfBench.Settings(scenarios: scenarios)
        settings.repeats = repeats
        settings.loops = clientThreads
        settings.connectRate = connectRate
        settings.receiveTimes = receiveTimes?.first ?? .kernel
        settings.floor = floor
        settings.mockExecutable = inProcessMock ? nil : Self.ownExecutable()
        let quiet = json
        let measurements = try await SelfBench.run(settings) { line in
            if !quiet { FileHandle.standardError.write(Data((line + "\n").utf8)) }
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(measurements), as: UTF8.self))
        } else {
            print(SelfBenchTable.render(measurements))
        }
    }

    private func runGroundTruth() async throws {
        let sources = receiveTimes ?? [.kernel]
        let cases = streamCounts.flatMap { n in sources.map { (n, $0) } }
        var runs: [[GroundTruthBench.Measurement]] = cases.map { _ in [] }
        for round in 0..<repeats {
            for (i, (n, source)) in cases.enumerated() {
                if !json {
                    FileHandle.standardError.write(Data(
                        "ground truth: \(n) streams, \(source.rawValue) receive times, run \(round + 1)/\(repeats)\n".utf8))
                }
                runs[i].append(try await GroundTruthBench.measure(streams: n, requests: 2 * n, tokens: 100, ttftMs: 300,
                                                                  itlMs: itlMs ?? max(20, Double(n) / 50), loops: clientThreads,
                                                                  connectRate: connectRate, receiveTimes: source))
            }
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
            print(String(decoding: try encoder.encode(runs), as: UTF8.self))
        } else {
            print(GroundTruthBench.render(runs))
        }
    }

    /// This binary, to start `tpbench mock` as a child process.
    static func ownExecutable() -> String? {
        let path = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? CommandLine.arguments.first
        return path.flatMap { FileManager.default.isExecutableFile(atPath: $0) ? $0 : nil }
    }
}
