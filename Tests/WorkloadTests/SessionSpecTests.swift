import Foundation
import Testing
import Workload

/// The `sessions:` section: turns and think times as counts or distributions, seeded per session; combinations
/// that cannot be a conversation are errors that name the field.
struct SessionSpecTests {
    @Test func sectionParsesAndDrawsAreSeededPerSession() throws {
        let spec = try load("""
            load: {concurrency: 8}
            sessions:
              turns: {uniform: [2, 6]}
              think_time: {uniform: [500ms, 2s]}
              history: synthetic
              count: 40
            """)
        let sessions = try #require(spec.sessions)
        #expect(sessions.turns == .uniform(2, 6) && sessions.thinkTime == .uniform(0.5, 2))
        #expect(sessions.history == .synthetic && sessions.count == 40)
        let turns = (0..<200).map { sessions.turns(ofSession: $0, seed: 42) }
        #expect(turns.allSatisfy { (2...6).contains($0) } && Set(turns).count == 5)
        #expect(turns == (0..<200).map { sessions.turns(ofSession: $0, seed: 42) }, "the same seed draws the same turns")
        let thinks = (2...50).map { sessions.thinkTimeS(session: 3, turn: $0, seed: 42) }
        #expect(thinks.allSatisfy { (0.5...2).contains($0) })
        let mean = thinks.reduce(0, +) / Double(thinks.count)
        #expect(abs(mean - 1.25) < 0.25, "uniform [0.5, 2] s has mean 1.25 s, drew \(mean)")
        // A fixed think time, and the default history.
        let fixed = try load("load: {concurrency: 2}\nsessions: {turns: 3, think_time: 1.5, count: 4}\n")
        #expect(fixed.sessions == SessionSpec(turns: .fixed(3), thinkTime: .fixed(1.5), history: .responses, count: 4))
    }

    @Test func sessionsCountIsAStopAndBadCombinationsAreNamed() {
        // sessions.count ends the run: no requests or duration needed.
        #expect(issues("load: {concurrency: 2}\nsessions: {turns: 2, count: 5}\n").isEmpty)
        #expect(issues("load: {concurrency: 2}\nsessions: {turns: 2}\n").contains { $0.message.contains("sessions.count") })
        let cases: [(String, String, String)] = [
            ("sessions: {turns: 0, count: 1}", "sessions.turns", "1...10000"),
            ("sessions: {turns: 2, history: replay, count: 1}", "sessions.history", "responses"),
            ("sessions: {turns: 2, think_time: {uniform: [3s, 1s]}, count: 1}", "sessions.think_time.uniform", "must not exceed"),
            ("sessions: {turns: 2, think_time: -1, count: 1}", "sessions.think_time", "positive duration"),
            ("sessions: {turns: 2, count: 1, depth: 3}", "sessions", "depth"),
            ("prompt: {tokens: 100, prefix_tokens: 10}\nsessions: {turns: 2, count: 1}", "prompt.prefix_tokens", "history"),
        ]
        for (yaml, path, words) in cases {
            let found = issues(yaml + "\n")
            #expect(found.contains { $0.path.hasPrefix(path) && $0.description.contains(words) }, "\(yaml): \(found)")
        }
    }
}
