import Foundation
import MockServer
import Testing
import ThreadPriority

/// `--realtime`: the emission loop runs under SCHED_FIFO when the process may (root, CAP_SYS_NICE), and says why
/// not otherwise; either way the mock keeps serving.
@Suite struct SchedulingTests {
    /// Threads of this process whose scheduling policy (field 41 of /proc/self/task/TID/stat) is SCHED_FIFO.
    static func fifoThreads() -> Int {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        return tasks.filter { tid in
            guard let stat = try? String(contentsOfFile: "/proc/self/task/\(tid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return false }
            // Fields after the command name start at field 3 (state); policy is field 41.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 38 && fields[38] == "1"
        }.count
    }

    @Test func realtimeSchedulingAppliesOrSaysWhyNot() async throws {
        let before = Self.fifoThreads()
        try await withMock(fast) { server in
            let problem = await server.enableRealtimeScheduling()
            if geteuid() == 0 {
                #expect(problem == nil, "\(problem ?? "")")
                #expect(Self.fifoThreads() == before + 1, "one event loop per replica runs SCHED_FIFO")
            } else if let problem {
                #expect(problem.contains("CAP_SYS_NICE"), "\(problem)")
            }
            let r = try await MiniClient.request(port: server.ports[0], path: "/v1/chat/completions", body: chatBody())
            #expect(r.status == 200)
            #expect(r.dataEvents.last == "[DONE]")
        }
        #expect(Self.fifoThreads() == before, "the loop's thread ends with the server")
    }

    /// A real-time thread's priority stays with it: a thread it starts (as Dispatch and the Swift-concurrency pool
    /// start workers from whichever thread wakes them) runs at normal priority. Before, every pool worker spawned
    /// from a real-time client or mock thread ran SCHED_FIFO for the rest of the process (after the trace-replay
    /// test, 3 of them; the next test counting real-time threads found 5 where it expected 3).
    @Test func threadsStartedByARealtimeThreadRunAtNormalPriority() async throws {
        guard geteuid() == 0 else { return }  // without root the parent cannot be real-time either
        let policies = await withCheckedContinuation { (done: CheckedContinuation<(Int32, Int32, String?), Never>) in
            let parent = Thread {
                let problem = RealtimeScheduling.enterForCurrentThread()
                let parentPolicy = sched_getscheduler(0) & ~0x4000_0000
                let child = Thread {
                    done.resume(returning: (parentPolicy, sched_getscheduler(0), problem))
                }
                child.start()
            }
            parent.start()
        }
        #expect(policies.2 == nil, "\(policies.2 ?? "")")
        #expect(policies.0 == SCHED_FIFO && policies.1 == SCHED_OTHER, "parent \(policies.0), child \(policies.1)")
    }
}
