import CCurl
import Foundation

/// The floor under selfbench (`Harness.SelfBench`)'s CPU figures: the same streams from the same mock, read by the least a client can do.
///
/// One thread connects plain sockets (paced like the client), sends each request, then waits in epoll and `recv`s
/// each readable socket, counting SSE events by their blank lines: no libcurl, no HTTP parsing, no JSON, no
/// timestamps kept. What that costs per event is the kernel's share (wake-ups, `recv`, and on loopback the ACK
/// each read sends, whose delivery runs the server side's TCP receive in the reader's thread), which no client
/// built on sockets can go under. selfbench puts it next to tpbench's figure so "µs per event" can be read against
/// what this machine's kernel charges.
package enum FloorReader {
    package struct Outcome: Sendable {
        package var cpuNanoseconds: UInt64
        package var wallSeconds: Double
        /// SSE events counted (role, token, usage and `[DONE]` events alike).
        package var events: Int
        package var completedStreams: Int
        package var failures: Int
    }

    package struct Failure: Error, CustomStringConvertible {
        package let description: String
        package init(description: String) { self.description = description }
    }

    /// Reads `streams` responses to `request` from 127.0.0.1:`port` on a thread of its own.
    package static func run(port: UInt16, request: [UInt8], streams: Int, connectRate: Double,
                    deadlineSeconds: Double) async throws -> Outcome {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Outcome, Error>) in
            let thread = Thread {
                continuation.resume(with: Swift.Result(catching: {
                    try read(port: port, request: request, streams: streams, connectRate: connectRate,
                             deadlineSeconds: deadlineSeconds)
                }))
            }
            thread.name = "tpbench-floor"
            thread.start()
        }
    }

    /// The HTTP/1.1 request the reader sends: `Connection: close`, so the end of a response is the end of its
    /// connection.
    package static func httpRequest(path: String, body: [UInt8]) -> [UInt8] {
        Array(("POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
               + "Connection: close\r\nContent-Length: \(body.count)\r\n\r\n").utf8) + body
    }

    private static func read(port: UInt16, request: [UInt8], streams: Int, connectRate: Double,
                             deadlineSeconds: Double) throws -> Outcome {
        let epoll: Epoll
        do { epoll = try Epoll() } catch { throw Failure(description: "\(error)") }
        defer { close(epoll.descriptor) }
        var sockets = [Int32](repeating: -1, count: streams)
        // Per stream: whether the last byte read was "\n", to see blank lines split across reads.
        var endedWithNewline = [Bool](repeating: false, count: streams)
        defer { for fd in sockets where fd >= 0 { close(fd) } }
        var events = 0
        var completed = 0
        var failures = 0
        var connected = 0
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 16)
        defer { buffer.deallocate() }
        var ready = [tp_epoll_event](repeating: tp_epoll_event(), count: 256)

        let cpuAtStart = tp_thread_cpu_ns()
        let start = tp_monotonic_ns()
        let deadline = start + UInt64(deadlineSeconds * 1e9)
        let connectGapNs = connectRate > 0 ? 1e9 / connectRate : 0
        while completed + failures < streams {
            let now = tp_monotonic_ns()
            guard now < deadline else { break }
            // Connect whoever is due by the connect ramp.
            while connected < streams && Double(now - start) >= Double(connected) * connectGapNs {
                let index = connected
                connected += 1
                if let fd = connect(port: port, request: request) {
                    sockets[index] = fd
                    do {
                        try epoll.add(fd, events: .readable, token: UInt64(index))
                    } catch {
                        close(fd)
                        sockets[index] = -1
                        failures += 1
                    }
                } else {
                    failures += 1
                }
            }
            var timeoutMs: Int32 = 100
            if connected < streams {
                let nextNs = Double(connected) * connectGapNs - Double(tp_monotonic_ns() - start)
                timeoutMs = Int32(max(0, min(100, (nextNs / 1e6).rounded(.up))))
            }
            let count = epoll.wait(into: &ready, timeoutMs: timeoutMs)
            for i in 0..<Int(max(0, count)) {
                let index = Int(ready[i].data)
                let fd = sockets[index]
                guard fd >= 0 else { continue }
                let n = recv(fd, buffer.baseAddress, buffer.count, 0)
                if n > 0 {
                    events += countBlankLines(UnsafeRawBufferPointer(rebasing: buffer[..<n]),
                                              afterNewline: &endedWithNewline[index])
                } else if n == 0 || (errno != EAGAIN && errno != EINTR) {
                    // Connection: close: the end of the connection is the end of the response.
                    if n == 0 { completed += 1 } else { failures += 1 }
                    epoll.remove(fd)
                    close(fd)
                    sockets[index] = -1
                }
            }
        }
        let cpu = tp_thread_cpu_ns() - cpuAtStart
        let wall = Double(tp_monotonic_ns() - start) / 1e9
        // Refused, cut, or still open at the deadline.
        return Outcome(cpuNanoseconds: cpu, wallSeconds: wall, events: events, completedStreams: completed,
                      failures: streams - completed)
    }

    /// Counts "\n\n" pairs in `bytes` with memchr; `afterNewline` carries an unpaired "\n" ending the previous read.
    package static func countBlankLines(_ bytes: UnsafeRawBufferPointer, afterNewline: inout Bool) -> Int {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return 0 }
        var count = 0
        var offset = 0
        if afterNewline && bytes[0] == 0x0A {
            count += 1
            offset = 1
        }
        afterNewline = false
        while offset < bytes.count, let found = memchr(base + offset, 0x0A, bytes.count - offset) {
            let at = base.distance(to: UnsafeRawPointer(found))
            if at + 1 == bytes.count {
                afterNewline = true
                break
            }
            if bytes[at + 1] == 0x0A {
                count += 1
                offset = at + 2
            } else {
                offset = at + 1
            }
        }
        return count
    }

    /// A connected, non-blocking socket that has sent `request`, or nil.
    private static func connect(port: UInt16, request: [UInt8]) -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var one: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian  // loopback only
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        let sent = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        guard connected == 0, sent == request.count else {
            close(fd)
            return nil
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        return fd
    }
}
