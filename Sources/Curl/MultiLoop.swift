import CCurl
import CReceiveTime
import Foundation
import NIOConcurrencyHelpers
import Synchronization
import ThreadPriority

/// Drives one curl multi handle on its own thread with `curl_multi_socket_action` and an epoll loop.
///
/// Why this design: curl tells us which sockets to watch, epoll wakes us only for sockets with data, so one
/// wake-up costs O(ready sockets) rather than O(all transfers) as `curl_multi_perform` does (4.7 µs vs 10.3 µs
/// of client CPU per token event at 1000 streams, measured when the loop was chosen; `tpbench selfbench` measures
/// today's figure). Transfers are submitted from any thread through a
/// locked queue and an eventfd that wakes the loop; delegates are called on the loop thread.
package final class MultiLoop: @unchecked Sendable {
    package let index: Int
    private let multi: UnsafeMutableRawPointer
    private let epoll: Epoll
    private let wakeFD: Int32
    private let wakeToken: UInt64 = .max

    /// Commands from other threads, behind a lock because submitters are arbitrary threads and tasks. NIO's lock
    /// (pthread) rather than Synchronization.Mutex: ThreadSanitizer cannot see the futex Mutex uses on Linux and
    /// reports every access it guards as a race.
    private let inbox = NIOLockedValueBox<Inbox>(Inbox())
    /// Whether the inbox holds commands: set with them under the lock, read without it by the loop between two
    /// sockets' processing, so a request submitted while the loop works through a wake-up of many ready sockets
    /// starts after the socket at hand, not after all of them (a due send waited up to 3.2 ms behind a batch of
    /// streams' tokens on 2 cores, TraceReplayTests).
    private let inboxPending = Atomic<Bool>(false)
    private struct Inbox {
        var commands: [Command] = []
        var stopping = false
    }
    private enum Command {
        case start(Transfer)
        case cancel(Transfer)
        case cancelAll
        case stop
    }

    // Loop-thread state (touched only by the loop thread).
    private var active: [ObjectIdentifier: Transfer] = [:]
    private var watcher: SocketWatcher
    /// The receive time for the socket being read (`ReceiveStamp`), taken by every transfer's callbacks on this thread.
    private let stamp: UnsafeMutablePointer<ReceiveStamp>
    /// Whether buffers carry the kernel's receive time (`--receive-time kernel`) or the wake-up's.
    package let receiveTimes: ReceiveTimeSource
    /// Kernel-stamped buffers already counted into `pending` (the stamp's counter is cumulative).
    private var kernelStampedCounted: UInt64 = 0
    private var wakeStampedCounted: UInt64 = 0
    /// Transfers whose socket epoll refused to watch, failed once libcurl's call returns.
    private var unwatchable: [(Transfer, String)] = []
    private var timerDeadline: UInt64?
    private var running = true
    private var thread: pthread_t?
    private let stopped = DispatchSemaphore(value: 0)
    private var lastSweep: UInt64 = 0
    /// How long the last wake-up with sockets took (epoll_wait's return to the end of its processing): bytes that
    /// arrived meanwhile wait for the next wake-up, so a stamp without the kernel's time may be this late.
    private var previousWakeUpNs: UInt64 = 0
    /// The loop thread's run-queue delay when its loop began (`MultiLoopStatistics.runQueueWaitNanoseconds`).
    private var runDelayAtStart: UInt64 = .max
    /// Counters kept on the loop thread and published under the lock once per sweep, not once per wake-up or
    /// request: at tens of thousands of wake-ups a second the lock traffic showed in the client's CPU per event.
    private var pending = MultiLoopStatistics()
    /// How often per-transfer first-token/idle timeouts are checked (and statistics published); timeouts are
    /// seconds long, so 50 ms of slack is invisible, while each sweep walks every transfer.
    private let sweepIntervalNs: UInt64 = 50_000_000

    private let statistics = NIOLockedValueBox<MultiLoopStatistics>(MultiLoopStatistics())

    /// HTTP/2 streams libcurl puts on one connection before it opens another (its default, stated).
    package static let maxStreamsPerConnection = 100

    /// With `realtime`, the loop thread runs under SCHED_FIFO (`RealtimeScheduling`); `realtimeProblem` says why
    /// not when it could not.
    package init(index: Int = 0, receiveTimes: ReceiveTimeSource = .kernel, realtime: Bool = false) throws {
        _ = MultiLoop.globalInit
        guard let multi = curl_multi_init() else { throw MultiLoopError.curl("curl_multi_init failed") }
        self.index = index
        self.receiveTimes = receiveTimes
        self.multi = multi
        epoll = Epoll(adopting: tp_epoll_create())
        wakeFD = tp_eventfd_create()
        watcher = SocketWatcher(epoll: epoll)
        stamp = .allocate(capacity: 1)
        stamp.initialize(to: ReceiveStamp(wake: tp_monotonic_ns()))
        // Every stored property is set, so a throw here runs deinit, which cleans up (once).
        guard epoll.descriptor >= 0, wakeFD >= 0 else {
            throw MultiLoopError.system("epoll/eventfd creation failed (errno \(errno))")
        }
        do { try epoll.add(wakeFD, events: .readable, token: wakeToken) } catch {
            throw MultiLoopError.system("\(error)")
        }
        let me = Unmanaged.passUnretained(self).toOpaque()
        _ = tp_multi_setopt_pointer(multi, CURLMOPT_SOCKETDATA, me)
        _ = tp_multi_setopt_socket_callback(multi, loopSocketCallback)
        _ = tp_multi_setopt_pointer(multi, CURLMOPT_TIMERDATA, me)
        _ = tp_multi_setopt_timer_callback(multi, loopTimerCallback)
        _ = tp_multi_setopt_long(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, 0)
        _ = tp_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, 0)
        _ = tp_multi_setopt_long(multi, CURLMOPT_MAX_CONCURRENT_STREAMS, MultiLoop.maxStreamsPerConnection)
        startThread(realtime: realtime)
    }

    /// Why the loop thread could not run real-time (nil: it does, or was not asked to).
    package private(set) var realtimeProblem: String?

    deinit {
        curl_multi_cleanup(multi)
        close(epoll.descriptor)
        close(wakeFD)
        stamp.deallocate()
    }

    private static let globalInit: Void = {
        _ = tp_global_init()
    }()

    /// Starts a transfer: queued for the loop thread, which the eventfd wakes. Safe from any thread.
    package func submit(_ transfer: Transfer) {
        send(.start(transfer))
    }

    /// Cancels a transfer; its delegate completes with `.cancelled` unless it already finished.
    package func cancel(_ transfer: Transfer) { send(.cancel(transfer)) }

    /// Cancels every transfer in flight.
    package func cancelAll() { send(.cancelAll) }

    /// Cancels everything, stops the loop and waits for the thread to end.
    package func shutdown() {
        let alreadyStopping = inbox.withLockedValue { box -> Bool in
            let was = box.stopping
            box.stopping = true
            return was
        }
        if alreadyStopping { return }
        send(.stop)
        stopped.wait()
    }

    /// A snapshot of the loop's health counters.
    package var currentStatistics: MultiLoopStatistics { statistics.withLockedValue { $0 } }

    private var isLoopThread: Bool {
        guard let thread else { return false }
        return pthread_equal(thread, pthread_self()) != 0
    }

    /// Debug builds: traps when called off this loop's thread. Every callback path (libcurl's socket and timer
    /// callbacks, starting, finishing, completing and timing out transfers, draining the inbox) calls it, since
    /// the loop's state, the delegates and the timestamps all assume one thread. Once the loop has stopped, deinit's
    /// `curl_multi_cleanup` may still call the socket callback (closing cached connections) from whichever thread
    /// releases the loop. Compiled out of release builds.
    @inline(__always) func assertOnLoopThread() {
        assert(isLoopThread || !running, "MultiLoop \(index): called off its loop thread")
    }

    private func send(_ command: Command) {
        let wasEmpty = inbox.withLockedValue { box -> Bool in
            let wasEmpty = box.commands.isEmpty
            box.commands.append(command)
            inboxPending.store(true, ordering: .releasing)
            return wasEmpty
        }
        // One wake-up per batch: if commands were already queued, the loop has a signal pending.
        if wasEmpty { tp_eventfd_signal(wakeFD) }
    }

    // MARK: - The loop

    private func startThread(realtime: Bool) {
        let ready = DispatchSemaphore(value: 0)
        let thread = Thread { [self] in
            self.thread = pthread_self()
            if realtime { self.realtimeProblem = RealtimeScheduling.enterForCurrentThread() }
            ready.signal()
            self.runLoop()
            self.stopped.signal()
        }
        thread.name = "tpbench-loop-\(index)"
        thread.stackSize = 1 << 20
        thread.start()
        ready.wait()
    }

    private func runLoop() {
        let cpuAtStart = tp_thread_cpu_ns()
        runDelayAtStart = tp_thread_run_delay_ns()
        var events = [tp_epoll_event](repeating: tp_epoll_event(), count: 256)
        // libcurl's reads on this thread go through CReceiveTime (also with wake-up times: it spares the poll
        // after each read); their kernel times are used only in kernel mode.
        let receipt = tp_receipts_start()
        if receiveTimes == .kernel { stamp.pointee.receipt = receipt }
        defer { tp_receipts_stop() }
        var stillRunning: Int32 = 0
        var inboxSignalled = true
        while running {
            if inboxSignalled {
                // Submitters signal the eventfd whenever the inbox goes from empty to non-empty, so it needs
                // looking at only after that signal.
                inboxSignalled = false
                drainInbox()
                if !running { break }
            }
            var timeoutMs: Int32 = Int32(sweepIntervalNs / 1_000_000)
            if let deadline = timerDeadline {
                let now = tp_monotonic_ns()
                let waitNs = deadline > now ? deadline - now : 0
                // Round up so we never wake before curl's deadline and spin.
                timeoutMs = SaturatingTime.epollTimeoutMs(waitingNanoseconds: waitNs, cap: timeoutMs)
            }
            if active.isEmpty && timerDeadline == nil { timeoutMs = -1 }
            let count = epoll.wait(into: &events, timeoutMs: timeoutMs)
            // A wake-up's buffers are stamped with the kernel's receive time of the read that brought them, or with
            // the moment epoll_wait returned (`ReceiveStamp`). Reading the clock in each write callback instead
            // charged the k-th ready socket with the processing of the k−1 before it (up to ~3 ms at 1000 streams).
            let ready = tp_monotonic_ns()
            stamp.pointee.wake = ready
            if count > 0 {
                for i in 0..<Int(count) {
                    let event = events[i]
                    if event.data == wakeToken {
                        tp_eventfd_drain(wakeFD)
                        inboxSignalled = true
                        continue
                    }
                    let socket = curl_socket_t(truncatingIfNeeded: event.data)
                    var mask: Int32 = 0
                    if event.events & tp_epoll_in() != 0 { mask |= CURL_CSELECT_IN }
                    if event.events & tp_epoll_out() != 0 { mask |= CURL_CSELECT_OUT }
                    if event.events & tp_epoll_err() != 0 { mask |= CURL_CSELECT_ERR }
                    let wakeStampedBefore = stamp.pointee.wakeStamped
                    curl_multi_socket_action(multi, socket, mask, &stillRunning)
                    // Submissions that came meanwhile start now, and libcurl acts on them at once (sends on a kept
                    // connection, or connects) rather than at the timer check after the batch: a start stamped here
                    // goes out here. The eventfd's own event, later in this batch or at the next wait, then finds
                    // the inbox empty.
                    if inboxPending.load(ordering: .acquiring) {
                        drainInbox()
                        if running { curl_multi_socket_action(multi, tp_socket_timeout(), 0, &stillRunning) }
                    }
                    tp_receipts_forget_drained()
                    let late = stamp.pointee.wakeStamped &- wakeStampedBefore
                    if late > 0 {
                        // Those buffers' bytes came during the last wake-up at the earliest and before libcurl
                        // handed them over, now at the latest. Stamped when handed over (kernel mode) they are as
                        // late as that data is old; stamped at the wake-up, early or late by either part.
                        let now = tp_monotonic_ns()
                        let uncertainty = receiveTimes == .kernel
                            ? now &- (ready &- previousWakeUpNs)
                            : max(previousWakeUpNs, now &- ready)
                        pending.recordStamps(uncertaintyNanoseconds: uncertainty, count: late)
                    }
                    pending.socketEvents += 1
                    if !running { break }
                }
            }
            let afterWait = tp_monotonic_ns()
            if count > 0 { previousWakeUpNs = afterWait - ready }
            if let deadline = timerDeadline, afterWait >= deadline {
                timerDeadline = nil
                pending.recordLoopLag(nanoseconds: afterWait - deadline)
                stamp.pointee.wake = afterWait
                let wakeStampedBefore = stamp.pointee.wakeStamped
                curl_multi_socket_action(multi, tp_socket_timeout(), 0, &stillRunning)
                tp_receipts_forget_drained()
                pending.recordStamps(uncertaintyNanoseconds: previousWakeUpNs,
                                     count: stamp.pointee.wakeStamped &- wakeStampedBefore)
            }
            failUnwatchable()
            readCompletions()
            if afterWait &- lastSweep >= sweepIntervalNs {
                lastSweep = afterWait
                sweepTimeouts()
                readCompletions()
                publish(cpu: tp_thread_cpu_ns() - cpuAtStart)
            }
        }
        publish(cpu: tp_thread_cpu_ns() - cpuAtStart)
    }

    /// Adds the loop's local counters to the shared statistics and resets them.
    private func publish(cpu: UInt64) {
        // Kernel-stamped buffers are off by under a microsecond (the clock conversion); counted here, not per buffer.
        let kernelStamped = stamp.pointee.kernelStamped
        pending.recordStamps(uncertaintyNanoseconds: 0, count: kernelStamped &- kernelStampedCounted)
        pending.kernelStampedBuffers = kernelStamped &- kernelStampedCounted
        pending.wakeStampedBuffers = stamp.pointee.wakeStamped &- wakeStampedCounted
        kernelStampedCounted = kernelStamped
        wakeStampedCounted = stamp.pointee.wakeStamped
        pending.mergeStamps(stamp.pointee.readWaits)
        stamp.pointee.readWaits = MultiLoopStatistics()
        let local = pending
        pending = MultiLoopStatistics()
        let activeCount = active.count
        let delay = tp_thread_run_delay_ns()
        let waited: UInt64? = delay == .max || runDelayAtStart == .max ? nil : delay &- runDelayAtStart
        statistics.withLockedValue { shared in
            shared.cpuNanoseconds = cpu
            shared.runQueueWaitNanoseconds = waited
            shared.activeTransfers = activeCount
            shared.started += local.started
            shared.completed += local.completed
            shared.socketEvents += local.socketEvents
            shared.loopLagSamples += local.loopLagSamples
            shared.loopLagMaxNanoseconds = max(shared.loopLagMaxNanoseconds, local.loopLagMaxNanoseconds)
            for i in shared.loopLagBuckets.indices { shared.loopLagBuckets[i] += local.loopLagBuckets[i] }
            shared.mergeStamps(local)
        }
    }

    private func drainInbox() {
        assertOnLoopThread()
        let commands = inbox.withLockedValue { box -> [Command] in
            let taken = box.commands
            box.commands.removeAll(keepingCapacity: true)
            inboxPending.store(false, ordering: .relaxed)
            return taken
        }
        for command in commands {
            switch command {
            case .start(let transfer): start(transfer)
            case .cancel(let transfer): finish(transfer, error: .cancelled)
            case .cancelAll: for transfer in Array(active.values) { finish(transfer, error: .cancelled) }
            case .stop:
                for transfer in Array(active.values) { finish(transfer, error: .cancelled) }
                running = false
            }
        }
    }

    private func start(_ transfer: Transfer) {
        assertOnLoopThread()
        let stopping = inbox.withLockedValue { $0.stopping }
        transfer.startedAt = tp_monotonic_ns()
        transfer.lastReceiveAt = transfer.startedAt
        transfer.stamp = stamp
        #if DEBUG
        transfer.loopThread = thread
        #endif
        if stopping || !running {
            complete(transfer, error: .cancelled, httpStatus: 0, timings: TransferTimings())
            return
        }
        active[ObjectIdentifier(transfer)] = transfer
        let code = curl_multi_add_handle(multi, transfer.easy)
        if code != CURLM_OK {
            active[ObjectIdentifier(transfer)] = nil
            let message = String(cString: curl_multi_strerror(code))
            complete(transfer, error: .transport(code: Int(code.rawValue), message: message), httpStatus: 0,
                     timings: TransferTimings())
        }
        pending.started += 1
    }

    /// Ends a transfer early (timeout or cancel): removes it from curl and reports.
    private func finish(_ transfer: Transfer, error: TransferError) {
        assertOnLoopThread()
        guard active.removeValue(forKey: ObjectIdentifier(transfer)) != nil else { return }
        let timings = transfer.readTimings()
        curl_multi_remove_handle(multi, transfer.easy)
        complete(transfer, error: error, httpStatus: transfer.statusCode, timings: timings)
    }

    private func readCompletions() {
        assertOnLoopThread()
        var remaining: Int32 = 0
        while let message = curl_multi_info_read(multi, &remaining) {
            guard tp_msg_is_done(message) != 0, let easy = message.pointee.easy_handle else { continue }
            let result = tp_msg_result(message)
            var privatePointer: UnsafeMutableRawPointer?
            _ = tp_easy_getinfo_pointer(easy, CURLINFO_PRIVATE, &privatePointer)
            guard let privatePointer else { continue }
            let transfer = Unmanaged<Transfer>.fromOpaque(privatePointer).takeUnretainedValue()
            guard active.removeValue(forKey: ObjectIdentifier(transfer)) != nil else { continue }
            var status: Int = 0
            _ = tp_easy_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &status)
            let timings = transfer.readTimings()
            let error = classify(result, transfer: transfer, timings: timings)
            curl_multi_remove_handle(multi, easy)
            complete(transfer, error: error, httpStatus: status, timings: timings)
        }
    }

    private func classify(_ code: CURLcode, transfer: Transfer, timings: TransferTimings) -> TransferError? {
        if code == CURLE_OK { return nil }
        if code == CURLE_WRITE_ERROR, let reason = transfer.abortReason { return .aborted(reason) }
        let message = transfer.errorMessage(for: code)
        switch code {
        case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY:
            return .connect(message)
        case CURLE_OPERATION_TIMEDOUT:
            return timings.connectUs == 0 && !transfer.responseStarted ? .timeoutConnect : .timeoutTotal
        default:
            return .transport(code: Int(code.rawValue), message: message)
        }
    }

    private func complete(_ transfer: Transfer, error: TransferError?, httpStatus: Int, timings: TransferTimings) {
        assertOnLoopThread()
        guard !transfer.completed else { return }
        transfer.completed = true
        var outcome = TransferOutcome(error: error, httpStatus: httpStatus, timings: timings,
                                      finishedAt: tp_monotonic_ns())
        outcome.retries = max(0, transfer.attempts - 1)
        pending.completed += 1
        transfer.delegate.transferDidComplete(outcome)
    }

    /// Enforces the timeouts libcurl has no notion of: first token and idle gap.
    private func sweepTimeouts() {
        assertOnLoopThread()
        // Read the clock here: transfers may have started after the caller's last reading.
        let now = tp_monotonic_ns()
        var expired: [(Transfer, TransferError)] = []
        for transfer in active.values {
            let timeouts = transfer.request.timeouts
            // Once a first token was seen it stays seen: remember it instead of asking the delegate every sweep
            // (a call into another object per transfer, 20 times a second, at thousands of transfers).
            if !transfer.sawFirstToken { transfer.sawFirstToken = transfer.delegate.hasFirstToken }
            let elapsed = now > transfer.startedAt ? now - transfer.startedAt : 0
            // Connected once libcurl is about to send the request (the pre-request callback counts the attempts).
            if let ms = timeouts.connectMs, transfer.attempts == 0, elapsed > SaturatingTime.nanoseconds(milliseconds: ms) {
                expired.append((transfer, .timeoutConnect))
            } else if let ms = timeouts.totalMs, elapsed > SaturatingTime.nanoseconds(milliseconds: ms) {
                expired.append((transfer, .timeoutTotal))
            } else if let ms = timeouts.firstTokenMs, !transfer.sawFirstToken,
                      elapsed > SaturatingTime.nanoseconds(milliseconds: ms) {
                expired.append((transfer, .timeoutFirstToken))
            } else if let ms = timeouts.idleMs, transfer.responseStarted, now > transfer.lastReceiveAt,
                      now - transfer.lastReceiveAt > SaturatingTime.nanoseconds(milliseconds: ms) {
                expired.append((transfer, .timeoutIdle))
            }
        }
        for (transfer, error) in expired { finish(transfer, error: error) }
    }

    // MARK: - curl callbacks (loop thread)

    fileprivate func socketCallback(easy: UnsafeMutableRawPointer?, socket: curl_socket_t, what: Int32) {
        assertOnLoopThread()
        if what == CURL_POLL_REMOVE {
            watcher.unwatch(socket)
            stamp.pointee.forget(socket: socket)
            return
        }
        var events: Epoll.Events = []
        if what == CURL_POLL_IN || what == CURL_POLL_INOUT { events.insert(.readable) }
        if what == CURL_POLL_OUT || what == CURL_POLL_INOUT { events.insert(.writable) }
        if receiveTimes == .kernel && !watcher.registered.contains(socket) { _ = tp_enable_receive_times(socket) }
        let code = watcher.watch(socket, events: events)
        // Never watched means never woken: fail the transfer now (after this libcurl call returns) instead.
        guard code != 0, let transfer = easy.flatMap(Self.transfer(of:)) else { return }
        unwatchable.append((transfer, SocketWatcher.describe(socket: socket, errno: code)))
    }

    /// The transfer an easy handle belongs to (its CURLINFO_PRIVATE pointer).
    private static func transfer(of easy: UnsafeMutableRawPointer) -> Transfer? {
        var privatePointer: UnsafeMutableRawPointer?
        _ = tp_easy_getinfo_pointer(easy, CURLINFO_PRIVATE, &privatePointer)
        return privatePointer.map { Unmanaged<Transfer>.fromOpaque($0).takeUnretainedValue() }
    }

    /// Fails the transfers whose socket could not be watched (collected during libcurl's callbacks, where a
    /// handle cannot be removed).
    private func failUnwatchable() {
        assertOnLoopThread()
        guard !unwatchable.isEmpty else { return }
        let failed = unwatchable
        unwatchable = []
        for (transfer, message) in failed {
            finish(transfer, error: transfer.responseStarted ? .transport(code: -1, message: message) : .connect(message))
        }
    }

    fileprivate func timerCallback(timeoutMs: Int) {
        assertOnLoopThread()
        if timeoutMs < 0 {
            timerDeadline = nil
        } else {
            timerDeadline = SaturatingTime.deadline(after: timeoutMs, from: tp_monotonic_ns())
        }
    }
}

private let loopSocketCallback: tp_socket_callback = { easy, socket, what, userp, _ in
    guard let userp else { return 0 }
    Unmanaged<MultiLoop>.fromOpaque(userp).takeUnretainedValue().socketCallback(easy: easy, socket: socket, what: what)
    return 0
}

private let loopTimerCallback: tp_timer_callback = { _, timeoutMs, userp in
    guard let userp else { return 0 }
    Unmanaged<MultiLoop>.fromOpaque(userp).takeUnretainedValue().timerCallback(timeoutMs: timeoutMs)
    return 0
}
