import Foundation
import LoadGen
import Metrics
import MockServer
import Testing
import Workload

/// Multi-turn sessions against the mock (two replicas, prefix caching): each turn resends the history, so its
/// prompt grows by exactly the last answer, the template and the new message; `--routing session` keeps a
/// session on one replica, whose cache then holds the whole history (the answers' blocks included).
@Suite(.serialized)
struct SessionTests {
    /// The mock's ChatML template: 3 tokens for the generation prompt, 5 around each message.
    static let templateTokens = (prompt: 3, message: 5)
    static let blockSize = 16

    func run(_ spec: WorkloadSpec, routing: RequestSettings.Routing = .session,
             replicas: Int = 2) async throws -> RunOutput {
        var configuration = MockConfiguration()
        configuration.prefixCaching = true
        configuration.replicas = replicas
        configuration.timeScale = 0.05
        let mock = try await MockServer.start(configuration)
        do {
            let output = try await Benchmark.run(workload: spec, target: Target(name: "m", baseURLs: mock.baseURLs),
                                                 settings: RequestSettings(routing: routing))
            try await mock.shutdown()
            return output
        } catch {
            try await mock.shutdown()
            throw error
        }
    }

    func workload(turns: Int, sessions: Int, history: SessionSpec.History = .responses,
                  thinkS: Double = 0.05) -> WorkloadSpec {
        var spec = WorkloadSpec()
        spec.prompt.tokens = .fixed(200)
        spec.output.maxTokens = .fixed(40)
        spec.output.ignoreEOS = true
        spec.load.concurrency = 4
        spec.sessions = SessionSpec(turns: .fixed(turns), thinkTime: .fixed(thinkS), history: history, count: sessions)
        return spec
    }

    /// Turn records of each session, by turn.
    func bySession(_ records: [RequestRecord]) -> [Int: [RequestRecord]] {
        Dictionary(grouping: records) { $0.session ?? -1 }.mapValues { $0.sorted { ($0.turn ?? 0) < ($1.turn ?? 0) } }
    }

    @Test func historyGrowsByEachAnswerStaysOnOneReplicaAndIsServedFromItsCache() async throws {
        let output = try await run(workload(turns: 4, sessions: 12))
        let s = output.summary
        #expect(s.requests == 48 && s.failed == 0, "\(s.failures) \(s.failureSamples)")
        #expect(output.sessionCounts == { var c = SessionCounts(); c.started = 12; c.completed = 12; return c }())
        let sessions = bySession(output.records)
        #expect(sessions.keys.sorted() == Array(0..<12))
        var wrongGrowth = 0
        var wrongCache: [String] = []
        var worstThink = 0.0
        for (session, turns) in sessions {
            #expect(turns.map { $0.turn } == [1, 2, 3, 4], "session \(session): turns \(turns.map { $0.turn })")
            #expect(Set(turns.map(\.replica)).count == 1, "session \(session) moved: \(turns.map(\.replica))")
            #expect(turns[0].promptTokens == 200, "turn 1 is the calibrated prompt")
            for i in 1..<turns.count {
                let previous = turns[i - 1]
                let prompt = try #require(previous.promptTokens)
                // The history (previous prompt and answer, closed by the template) plus a new message of the
                // calibrated length's content.
                let expected = prompt + previous.outputTokens + Self.templateTokens.message
                    + (200 - Self.templateTokens.prompt)
                if turns[i].promptTokens != expected { wrongGrowth += 1 }
                // Everything before the new message was in this replica's cache, in whole 16-token blocks.
                let cached = (prompt + previous.outputTokens) / Self.blockSize * Self.blockSize
                if turns[i].cachedPromptTokens != cached {
                    wrongCache.append("s\(session)t\(i + 1): \(turns[i].cachedPromptTokens ?? -1) vs \(cached)")
                }
                // The next turn is due one think time after the answer's last event.
                let due = try #require(turns[i].intendedStartMs) - (previous.startMs + previous.e2eMs)
                worstThink = max(worstThink, abs(due - 50))
            }
        }
        #expect(wrongGrowth == 0, "\(wrongGrowth) turns' prompts did not grow by the history")
        #expect(wrongCache.isEmpty, "\(wrongCache.prefix(5))")
        #expect(worstThink < 0.01, "a next turn's intended start is off the answer + think time by \(worstThink) ms")
        // The per-turn summary: 12 of each turn, prompts growing, cache share growing.
        let perTurn = try #require(s.turns)
        #expect(perTurn.map(\.turn) == [1, 2, 3, 4] && perTurn.allSatisfy { $0.requests == 12 })
        let means = perTurn.compactMap(\.promptTokensMean)
        #expect(means.count == 4 && zip(means, means.dropFirst()).allSatisfy { $0 < $1 }, "\(means)")
        #expect(s.sessions == 12)
        print("sessions: prompt means \(means), cache \(perTurn.map { $0.prefixCacheHitRate ?? -1 })")
    }

    @Test func syntheticHistoryKeepsLengthsButOnlyThePromptsAreCached() async throws {
        let output = try await run(workload(turns: 3, sessions: 6, history: .synthetic, thinkS: 0))
        #expect(output.summary.failed == 0 && output.records.count == 18)
        for (session, turns) in bySession(output.records) {
            for i in 1..<turns.count {
                let previous = turns[i - 1]
                let prompt = try #require(previous.promptTokens)
                // Seeded words of the answer's token count stand in for it: the same lengths ...
                #expect(turns[i].promptTokens == prompt + previous.outputTokens + 5 + 197, "session \(session)")
                // ... but not the server's tokens, so only the previous prompt's whole blocks are cache hits.
                #expect(turns[i].cachedPromptTokens == prompt / Self.blockSize * Self.blockSize, "session \(session)")
            }
        }
    }

    @Test func openLoopStartsSessionsOnTheArrivalSchedule() async throws {
        var spec = workload(turns: 3, sessions: 10, thinkS: 0)
        spec.load.rate = 20
        spec.load.arrival = .constant
        let output = try await run(spec, replicas: 1)
        #expect(output.records.count == 30 && output.summary.failed == 0)
        let firsts = output.records.filter { $0.turn == 1 }.sorted { $0.session! < $1.session! }
        // Session k starts at k / 20 s (constant arrivals), its later turns after its answers.
        let worst = firsts.map { abs(($0.intendedStartMs ?? .infinity) - Double($0.session!) * 50) }.max() ?? .infinity
        #expect(firsts.count == 10 && worst < 0.001, "session starts off the schedule by \(worst) ms")
        #expect(output.records.allSatisfy { $0.intendedStartMs != nil }, "every turn records its intended start")
    }

    @Test func aRequestCapCutsSessionsAndCountsThem() async throws {
        var spec = workload(turns: 4, sessions: 12)
        spec.load.requests = 30
        let output = try await run(spec, replicas: 1)
        #expect(output.records.count == 30)
        let counts = try #require(output.sessionCounts)
        #expect(counts.started == counts.completed + counts.cut && counts.cut >= 1, "\(counts)")
        #expect(counts.completed * 4 <= 30 - counts.cut, "\(counts)")
    }
}
