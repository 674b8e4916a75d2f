import CCurl
@testable import Curl
import Foundation
import Testing

/// Time conversions saturate, epoll registrations recover, Retry-After is read without trusting it (#16).
struct TransportEdgeTests {
    @Test func timeConversionsSaturateInsteadOfTrapping() {
        // A flag that passed a positive-and-finite check once reached UInt64(ms * 1e6) and Int32(ms): traps.
        #expect(SaturatingTime.nanoseconds(milliseconds: 1e300) == UInt64(SaturatingTime.maxMilliseconds * 1e6))
        #expect(SaturatingTime.nanoseconds(milliseconds: -5) == 0)
        #expect(SaturatingTime.nanoseconds(milliseconds: .nan) == 0)
        #expect(SaturatingTime.nanoseconds(milliseconds: 2.5) == 2_500_000)
        #expect(SaturatingTime.curlMilliseconds(.infinity) == Int(SaturatingTime.maxMilliseconds))
        #expect(SaturatingTime.curlMilliseconds(0.2) == 1)
        #expect(SaturatingTime.deadline(after: .max, from: .max - 10) == .max)
        #expect(SaturatingTime.deadline(after: -3, from: 100) == 100)
        #expect(SaturatingTime.deadline(after: 7, from: 100) == 7_000_100)
        // libcurl timers beyond ~24.8 days overflowed Int32 milliseconds: the wait is capped instead.
        #expect(SaturatingTime.epollTimeoutMs(waitingNanoseconds: .max, cap: 50) == 50)
        #expect(SaturatingTime.epollTimeoutMs(waitingNanoseconds: 1, cap: 50) == 1)  // rounded up, never early
        #expect(SaturatingTime.epollTimeoutMs(waitingNanoseconds: 0, cap: 50) == 0)
        #expect(SaturatingTime.epollTimeoutMs(waitingNanoseconds: 3_000_000, cap: 50) == 3)
    }

    @Test func epollRegistrationRecoversFromAReusedDescriptor() throws {
        let epoll = try Epoll()
        defer { close(epoll.descriptor) }
        var watcher = SocketWatcher(epoll: epoll)
        var pair: [Int32] = [0, 0]
        #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &pair) == 0)
        #expect(watcher.watch(pair[0], events: .readable) == 0)
        // The socket closes and its number is reused before libcurl says REMOVE: the kernel dropped the
        // registration, the watcher still has it, so MOD gets ENOENT and must become an ADD.
        let number = pair[0]
        close(pair[0])
        close(pair[1])
        var again: [Int32] = [0, 0]
        #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &again) == 0)
        defer { close(again[0]); close(again[1]) }
        let reused = again[0] == number ? again[0] : again[1]
        #expect(reused == number, "descriptor \(number) was not reused (got \(again))")
        #expect(watcher.watch(reused, events: .readable) == 0)
        // Readiness on the new socket is seen: it really is watched.
        let peer = reused == again[0] ? again[1] : again[0]
        #expect(write(peer, "x", 1) == 1)
        var events = [tp_epoll_event](repeating: tp_epoll_event(), count: 4)
        let ready = epoll.wait(into: &events, timeoutMs: 1000)
        #expect(ready == 1 && events[0].data == UInt64(UInt32(bitPattern: reused)))
        // The reverse: registered in the kernel but not in the set (a lost removal): ADD gets EEXIST, becomes MOD.
        var fresh = SocketWatcher(epoll: epoll)
        #expect(fresh.watch(reused, events: [.readable, .writable]) == 0)
        #expect(fresh.registered.contains(reused))
        // Anything else is reported (the loop then fails that transfer with a class): a regular file is EPERM.
        let file = open(CommandLine.arguments[0], O_RDONLY)  // a regular file: epoll refuses it with EPERM
        defer { close(file) }
        #expect(fresh.watch(file, events: .readable) == EPERM)
        #expect(!fresh.registered.contains(file))
        #expect(SocketWatcher.describe(socket: file, errno: EPERM).contains("errno \(EPERM)"))
    }

    @Test func stampUncertaintyIsReadToAQuarterPowerOfTwo() {
        var stats = MultiLoopStatistics()
        stats.recordStamps(uncertaintyNanoseconds: 0, count: 60)          // kernel-stamped
        stats.recordStamps(uncertaintyNanoseconds: 20_000, count: 38)     // 20 µs
        stats.recordStamps(uncertaintyNanoseconds: 700_000, count: 1)     // 0.7 ms
        stats.recordStamps(uncertaintyNanoseconds: 3_000_000, count: 1)   // 3 ms
        stats.recordStamps(uncertaintyNanoseconds: 9_000_000, count: 0)   // nothing stamped: not a sample
        // p50 in the under-1 µs bucket; p90 within a quarter power of two above 20 µs; p99 the 0.7 ms bucket; max exact.
        #expect(stats.timestampUncertaintyMicros(quantile: 0.5) == 1)
        let p90 = stats.timestampUncertaintyMicros(quantile: 0.9)
        #expect(p90 >= 20 && p90 < 20 * 1.19 + 0.01, "\(p90)")
        let p99 = stats.timestampUncertaintyMicros(quantile: 0.99)
        #expect(p99 >= 700 && p99 < 700 * 1.19 + 0.01, "\(p99)")
        #expect(stats.stampUncertaintyMaxNanoseconds == 3_000_000)
        stats.kernelStampedBuffers = 60
        stats.wakeStampedBuffers = 40
        stats.recordReadWait(nanoseconds: 5_000_000)
        var merged = MultiLoopStatistics()
        merged.mergeStamps(stats)
        merged.mergeStamps(stats)
        #expect(merged.stampSamples == 200)
        #expect(merged.kernelStampedShare == 0.6)
        #expect((merged.readWaitMicros(quantile: 0.99) ?? 0) >= 5000)
        #expect(MultiLoopStatistics().readWaitMicros(quantile: 0.99) == nil)
        #expect(MultiLoopStatistics().timestampUncertaintyMicros(quantile: 0.99) == 0)
        #expect(TimingBuckets.upperBoundMicros(0) == 1)
    }

    @Test func retryAfterIsReadWithoutTrustingIt() {
        #expect(RetryAfter.describe("7") == "retry after 7 s")
        #expect(RetryAfter.describe("99999999999999999999999999") .contains("beyond a year: ignored"))
        #expect(RetryAfter.describe("-3").contains("neither seconds nor an HTTP date"))
        #expect(RetryAfter.describe("1.5").contains("neither seconds nor an HTTP date"))
        #expect(RetryAfter.describe("Wed, 21 Oct 2026 07:28:00 GMT") == "retry after Wed, 21 Oct 2026 07:28:00 GMT")
        #expect(RetryAfter.describe(String(repeating: "9", count: 5000)).count < 120)
        #expect(ResponseHeaders(contentLength: "99999999999999999999").declaredLength == nil)
        #expect(ResponseHeaders(contentLength: "-1").declaredLength == nil)
        #expect(ResponseHeaders(contentLength: "1024").declaredLength == 1024)
    }
}
