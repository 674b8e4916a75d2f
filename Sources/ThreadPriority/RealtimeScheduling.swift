#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Real-time priority (`--realtime`) for the threads whose timing is measured: the client's loop threads, which
/// stamp every event, and its scheduler thread, which sends open-loop arrivals at their times; and the mock's
/// replica event loops, which emit on a schedule. A process sharing the machine's cores otherwise delays them in
/// the run queue: replaying a trace against the in-process mock on 2 cores, the client's loop took a request sent on
/// time 1-4.5 ms later, all of it run-queue wait. The threads block in epoll or a timed wait between events, and
/// Linux keeps 5 % of each core for normal threads.
package enum RealtimeScheduling {
    /// Linux's SCHED_RESET_ON_FORK: threads the caller creates start at normal priority instead of inheriting
    /// SCHED_FIFO. Without it a real-time thread that wakes a Dispatch or Swift-concurrency queue hands its priority
    /// to the worker threads the pool spawns from it, and the pool's ordinary work then runs real-time too, queueing
    /// beside the thread it was meant to make way for.
    static let resetOnFork: Int32 = 0x4000_0000

    /// Puts the calling thread under SCHED_FIFO at `priority` (1, the lowest, for tpbench's own threads; not
    /// inherited by the threads it creates). Returns nil on success, else why not (the thread keeps its normal
    /// priority). Needs root or CAP_SYS_NICE.
    package static func enterForCurrentThread(priority: Int32 = 1) -> String? {
        var parameters = sched_param()
        parameters.sched_priority = priority
        let error = pthread_setschedparam(pthread_self(), Int32(SCHED_FIFO) | resetOnFork, &parameters)
        guard error != 0 else { return nil }
        return String(cString: strerror(error))
            + (error == EPERM ? " (needs root or CAP_SYS_NICE; e.g. sudo setcap cap_sys_nice+ep tpbench)" : "")
    }
}
