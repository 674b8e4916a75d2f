import Curl
import Foundation
import LatencyModel
import LoadGen
import Metrics
import OpenAI
import SeededRandom
import Testing
import Workload

/// The hostile-server fuzzer (#16): arbitrary HTTP/1.1 responses (status lines, headers, chunked framing with lying
/// sizes, SSE, JSON with numbers at every extreme, deep nesting, huge strings, resets and stalls) driven through the
/// real `MultiLoop` on loopback. Each case must end in exactly one failure class or succeed, no record may hold more
/// than the stated bounds, and the process must live (a trap kills the test run).
///
/// CI runs it for `TPBENCH_HOSTILE_SECONDS` (default 15 s); `scripts/fuzz-hostile 600` runs it for ten minutes.
/// Seeds are the raw responses in HostileSeeds/ (mutated) plus generated ones; a failing case prints its seed.
@Suite(.serialized)
struct HostileServerFuzzTests {
    static let seeds: [[UInt8]] = {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("HostileSeeds")
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory.path))?.sorted() ?? []
        return files.compactMap { FileManager.default.contents(atPath: directory.appendingPathComponent($0).path) }
            .map { [UInt8]($0) }
    }()

    /// The bounds every record must respect (max_tokens 8 plus the decoder's slack; the event and text bound).
    static let maxTokens = 8
    static let maxEventBytes = 256 << 10

    @Test func hostileResponsesEndInOneClassWithinBounds() async throws {
        #expect(Self.seeds.count >= 6, "HostileSeeds/ missing")
        let seconds = Double(ProcessInfo.processInfo.environment["TPBENCH_HOSTILE_SECONDS"] ?? "") ?? 15
        let baseSeed = UInt64(ProcessInfo.processInfo.environment["TPBENCH_HOSTILE_SEED"] ?? "") ?? 0x5EED
        let started = Date()
        var executions = 0
        var classes: [String: Int] = [:]
        var batch: UInt64 = 0
        let rssAtStart = ProcessResources.maxResidentKiB()
        while Date().timeIntervalSince(started) < seconds {
            let batchSeed = baseSeed &+ batch &* 1_000_003
            let records = try await runBatch(seed: batchSeed, requests: 48)
            executions += records.count
            for record in records {
                classes[record.failure?.rawValue ?? "ok", default: 0] += 1
                let where_ = "batch seed \(batchSeed), request \(record.id)"
                // Exactly one outcome: a success has no class; a failure has one and says why.
                #expect(record.succeeded == (record.failure == nil), "\(where_)")
                if record.failure != nil { #expect(!(record.failureMessage ?? "").isEmpty, "\(where_)") }
                // Bounded: events by max_tokens + slack, text by the event bound, per-event counts by the same.
                let tokenBound = Self.maxTokens + StreamDecoder.tokenSlack(for: Self.maxTokens)
                #expect(record.tokenEventOffsetsMs.count <= tokenBound, "\(where_)")
                #expect(record.outputTokens <= max(tokenBound, record.tokenEventOffsetsMs.count), "\(where_)")
                #expect((record.tokensPerEvent ?? []).reduce(0, +) <= tokenBound, "\(where_)")
                #expect((record.outputText?.utf8.count ?? 0) <= Self.maxEventBytes, "\(where_)")
                #expect((record.failureMessage?.utf8.count ?? 0) <= 4096, "\(where_): message of \(record.failureMessage?.utf8.count ?? 0) bytes")
            }
            #expect(records.count == 48, "batch seed \(batchSeed): \(records.count) records for 48 requests")
            batch += 1
        }
        let rssGrowthMiB = Double(ProcessResources.maxResidentKiB() - rssAtStart) / 1024
        print("hostile fuzzer: \(executions) executions in \(Int(Date().timeIntervalSince(started))) s, "
              + "peak RSS +\(Int(rssGrowthMiB)) MiB, classes \(classes.sorted { $0.key < $1.key })")
        #expect(executions > 0)
        // Memory stays bounded: 48 requests at a time, each bounded, never approach a gigabyte.
        #expect(rssGrowthMiB < 1024)
    }

    /// One batch: a fault server answering request i with case (seed, i), a closed-loop run of `requests` at 8.
    func runBatch(seed: UInt64, requests: Int) async throws -> [RequestRecord] {
        let server = try await FaultServer.start { index, _ in HostileCase.steps(seed: seed &+ UInt64(index)) }
        defer { Task { await server.shutdown() } }
        var spec = WorkloadSpec()
        spec.name = "hostile"
        spec.model = "m"
        spec.load.concurrency = 8
        spec.load.requests = requests
        spec.prompt.tokens = .fixed(8)
        spec.prompt.calibrate = false
        spec.output.maxTokens = .fixed(Self.maxTokens)
        spec.timeouts = TimeoutSpec(connectS: 1, firstTokenS: 1, idleS: 0.4, totalS: 1.5)
        var settings = RequestSettings()
        settings.maxEventBytes = Self.maxEventBytes
        settings.keepOutputText = true
        let output = try await Benchmark.run(workload: spec, target: Target(name: "hostile", baseURLs: [server.baseURL]),
                                             settings: settings)
        return output.records
    }
}

/// One generated hostile response: a seed (from HostileSeeds/, mutated) or a response built from hostile parts.
enum HostileCase {
    static let extremes = ["0", "-1", "1.5", "1e400", "-0", "3000000000", "2147483647", "9223372036854775807",
                           "99999999999999999999", "1e-7", "\"7\"", "null", "true", "[]", "{}", "4294967296"]

    static func steps(seed: UInt64) -> [FaultStep] {
        var rng = FuzzRandom(seed: seed)
        var bytes: [UInt8]
        if rng.chance(0.3), !HostileServerFuzzTests.seeds.isEmpty {
            bytes = HostileServerFuzzTests.seeds[rng.below(HostileServerFuzzTests.seeds.count)]
            mutate(&bytes, rng: &rng)
        } else {
            bytes = generated(&rng)
        }
        // Delivered in 1-4 writes, a little apart, then closed, reset, or (rarely) left hanging.
        var steps: [FaultStep] = []
        var rest = bytes[...]
        let pieces = 1 + rng.below(4)
        for piece in 0..<pieces {
            let take = piece == pieces - 1 ? rest.count : min(rest.count, rng.below(max(1, rest.count)))
            steps.append(.send(Array(rest.prefix(take))))
            rest = rest.dropFirst(take)
            if rng.chance(0.3) { steps.append(.wait(Double(rng.below(15)))) }
        }
        let ending = rng.below(20)
        steps.append(ending == 0 ? .stall : ending < 4 ? .reset : .close)
        return steps
    }

    static func mutate(_ bytes: inout [UInt8], rng: inout FuzzRandom) {
        for _ in 0..<rng.below(4) {
            guard !bytes.isEmpty else { return }
            let at = rng.below(bytes.count)
            switch rng.below(5) {
            case 0: bytes[at] = UInt8(truncatingIfNeeded: rng.next())
            case 1: bytes.removeSubrange(at..<min(bytes.count, at + rng.below(64) + 1))
            case 2: bytes.insert(contentsOf: Array(extremes[rng.below(extremes.count)].utf8), at: at)
            case 3: bytes = Array(bytes.prefix(at))
            default: bytes.insert(contentsOf: bytes[at..<min(bytes.count, at + rng.below(200) + 1)], at: at)
            }
        }
    }

    static func generated(_ rng: inout FuzzRandom) -> [UInt8] {
        let statuses = ["HTTP/1.1 200 OK", "HTTP/1.1 500 Internal Server Error", "HTTP/1.1 429 Too Many Requests",
                        "HTTP/1.0 200 OK", "HTTP/1.1 999 Odd", "HTTP/1.1 200", "HTTP/1.1 -5 No", "HTTP/2 200",
                        "ICY 200 OK", "HTTP/1.1 204 No Content", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK",
                        "HTTP/1.1 301 Moved\r\nLocation: http://127.0.0.1:1/x"]
        var head = statuses[rng.below(statuses.count)] + "\r\n"
        let types = ["text/event-stream", "application/json", "text/html", "", "text/event-stream; charset=utf-8"]
        let type = types[rng.below(types.count)]
        if !type.isEmpty { head += "Content-Type: \(type)\r\n" }
        var body = events(&rng, json: type == "application/json")
        let chunked = rng.chance(0.35)
        if chunked {
            head += "Transfer-Encoding: chunked\r\n"
            body = chunk(body, rng: &rng)
        } else if rng.chance(0.5) {
            let lengths = [String(body.count), String(body.count + 1 + rng.below(100)), String(max(0, body.count - 5)),
                           "-1", "99999999999999999999999", "12abc", "0", "\(body.count), \(body.count + 3)"]
            head += "Content-Length: \(lengths[rng.below(lengths.count)])\r\n"
        } else {
            head += "Connection: close\r\n"
        }
        if rng.chance(0.2) {
            let values = ["-3", "99999999999999999999999999", "Wed, 21 Oct 2026 07:28:00 GMT", "soon", "1.5", "", "7"]
            head += "Retry-After: \(values[rng.below(values.count)])\r\n"
        }
        if rng.chance(0.05) { head += "X-Huge: \(String(repeating: "h", count: 1000 + rng.below(120_000)))\r\n" }
        if rng.chance(0.05) { head += "Bad header line without colon\r\n" }
        return Array((head + "\r\n").utf8) + body
    }

    static func events(_ rng: inout FuzzRandom, json: Bool) -> [UInt8] {
        func number() -> String { extremes[rng.below(extremes.count)] }
        func chunkJSON() -> String {
            switch rng.below(10) {
            case 0: return #"{"choices":[{"index":\#(number()),"delta":{"content":"a"}}]}"#
            case 1: return #"{"choices":[{"index":0,"delta":{"content":"a"}}],"usage":{"prompt_tokens":\#(number()),"completion_tokens":\#(number())}}"#
            case 2: return String(repeating: "[", count: 100 + rng.below(20_000)) + "1"
            case 3: return #"{"choices":[{"index":0,"delta":{"content":""# + String(repeating: "x", count: rng.below(400_000)) + #""}}]}"#
            case 4: return #"{"error":{"message":"boom","code":\#(number())}}"#
            case 5: return #"{"choices":[{"index":0,"delta":{"content":"\ud800\udbff\u00"}}]}"#
            case 6: return #"{"choices":[{"index":0,"delta":{"content":"b"},"finish_reason":"stop"}],"usage":{"completion_tokens":\#(number())}}"#
            case 7: return "[DONE]"
            case 8: return #"{"choices":"#
            default: return #"{"choices":[{"index":0,"delta":{"content":"tok"}}],"usage":{"completion_tokens":\#(rng.below(40))}}"#
            }
        }
        if json {
            return Array(#"{"choices":[{"index":0,"message":{"content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":\#(number()),"completion_tokens":\#(number())}}"#.utf8)
        }
        var out: [UInt8] = []
        for _ in 0..<rng.below(40) {
            switch rng.below(12) {
            case 0: out += Array(": ping\n\n".utf8)
            case 1: out += (0..<rng.below(64)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            case 2: out += Array("data: \(chunkJSON())".utf8)  // no terminator
            case 3: out += Array("data:\(chunkJSON())\r\n\r\n".utf8)
            case 4: out += [0xFF, 0xFE, 0x0A, 0x0A]
            default: out += Array("data: \(chunkJSON())\n\n".utf8)
            }
        }
        return out
    }

    /// Chunked framing, sizes true or lying (larger, smaller, not hex, beyond 64 bits).
    static func chunk(_ body: [UInt8], rng: inout FuzzRandom) -> [UInt8] {
        var out: [UInt8] = []
        var rest = body[...]
        while !rest.isEmpty {
            let take = min(rest.count, 1 + rng.below(4096))
            let sizes = [String(take, radix: 16), String(take + 1 + rng.below(50), radix: 16),
                         String(max(0, take - 3), radix: 16), "zz", "ffffffffffffffffff", "-4", "\(take);ext=1"]
            let size = rng.chance(0.8) ? sizes[0] : sizes[rng.below(sizes.count)]
            out += Array("\(size)\r\n".utf8) + rest.prefix(take) + Array("\r\n".utf8)
            rest = rest.dropFirst(take)
        }
        if rng.chance(0.8) { out += Array("0\r\n\r\n".utf8) }
        return out
    }
}

/// The fuzzer's cases are a pure function of their seed (LatencyModel's SplitMix64), so a failure replays by its seed.
struct FuzzRandom {
    private var generator: SplitMix64
    init(seed: UInt64) { generator = SplitMix64(seed: seed) }
    mutating func next() -> UInt64 { generator.next() }
    mutating func below(_ n: Int) -> Int { n <= 1 ? 0 : Int(generator.next() % UInt64(n)) }
    mutating func chance(_ p: Double) -> Bool { generator.chance(p) }
}
