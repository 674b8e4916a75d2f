import CCurl
import Curl
import Foundation

/// A streaming server whose schedule is exact and who says when it really sent: the ground truth for the client's
/// own timing error (`tpbench selfbench --ground-truth`).
///
/// One thread, one epoll loop, one timerfd armed at the earliest deadline (nanosecond precision, no per-stream
/// threads or timers). A request is answered at once with the head; token k goes out at request + TTFT + k × ITL,
/// as one chunk whose text is the monotonic time read just before its `send` (`"content":"<ns> "`); connections are
/// kept alive for the next request. The client's
/// error for that event is then its receive stamp minus that time, exactly, since both read the same system-wide
/// CLOCK_MONOTONIC; the server's own lateness (send time − deadline) is recorded separately. Binds 127.0.0.1 only.
final class GroundTruthServer: @unchecked Sendable {  // the loop's state is touched by its thread only
    struct Schedule: Sendable {
        var ttftNs: UInt64
        var itlNs: UInt64
        var tokens: Int
    }

    let port: UInt16
    let schedule: Schedule
    private let listenFD: Int32
    private let epoll: Epoll
    private let timerFD: Int32
    private let wakeFD: Int32
    private let done = DispatchSemaphore(value: 0)

    private struct Connection {
        var id: UInt64
        var request: [UInt8] = []
        var streaming = false
    }
    private var connections: [Int32: Connection] = [:]
    private var nextID: UInt64 = 1
    /// (deadline, fd, connection id, token index), a binary min-heap on the deadline.
    private var heap: [(deadline: UInt64, fd: Int32, id: UInt64, token: Int)] = []
    /// Send time − deadline of every token event, ns; read after `stop()`.
    private(set) var latenessNs: [UInt64] = []
    private var armedFor: UInt64 = 0

    struct Failure: Error, CustomStringConvertible { let description: String }

    /// - Parameter pinToCPU: run the loop on this CPU only (the client's threads then have the others).
    init(schedule: Schedule, pinToCPU: Int32? = nil) throws {
        self.schedule = schedule
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        listenFD = listener
        epoll = Epoll(adopting: tp_epoll_create())
        timerFD = tp_timerfd_create()
        wakeFD = tp_eventfd_create()
        guard listenFD >= 0, epoll.descriptor >= 0, timerFD >= 0, wakeFD >= 0 else {
            throw Failure(description: "ground-truth server: socket/epoll/timerfd failed (errno \(errno))")
        }
        var one: Int32 = 1
        _ = setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian  // loopback only
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(listener, 4096) == 0 else {
            throw Failure(description: "ground-truth server: cannot listen on 127.0.0.1 (errno \(errno))")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        port = UInt16(bigEndian: address.sin_port)
        do {
            for fd in [listenFD, timerFD, wakeFD] {
                try epoll.add(fd, events: .readable, token: UInt64(UInt32(bitPattern: fd)))
            }
        } catch {
            throw Failure(description: "ground-truth server: \(error)")
        }
        let pin = pinToCPU
        let thread = Thread { [self] in
            if let pin { _ = tp_pin_current_thread(pin) }
            loop()
            done.signal()
        }
        thread.name = "tpbench-ground-truth"
        thread.start()
    }

    var baseURL: String { "http://127.0.0.1:\(port)" }

    /// Stops the loop, closes every socket, and returns the lateness samples.
    func stop() -> [UInt64] {
        tp_eventfd_signal(wakeFD)
        done.wait()
        for fd in connections.keys { close(fd) }
        connections = [:]
        for fd in [listenFD, epoll.descriptor, timerFD, wakeFD] { close(fd) }
        return latenessNs
    }

    private func loop() {
        var events = [tp_epoll_event](repeating: tp_epoll_event(), count: 256)
        var buffer = [UInt8](repeating: 0, count: 16_384)
        while true {
            let count = epoll.wait(into: &events, timeoutMs: -1)
            for i in 0..<max(0, Int(count)) {
                let fd = Int32(truncatingIfNeeded: events[i].data)
                if fd == wakeFD { return }
                if fd == listenFD {
                    acceptAll()
                } else if fd == timerFD {
                    tp_timerfd_drain(timerFD)
                } else {
                    read(fd, into: &buffer)
                }
            }
            fireDue()
        }
    }

    private func acceptAll() {
        while true {
            let fd = tp_accept_nonblocking(listenFD)
            if fd < 0 { return }
            var one: Int32 = 1
            _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            connections[fd] = Connection(id: nextID)
            nextID += 1
            do {
                try epoll.add(fd, events: .readable, token: UInt64(UInt32(bitPattern: fd)))
            } catch {
                // Never watched, it would never be served: refuse the connection rather than let it hang.
                connections[fd] = nil
                close(fd)
            }
        }
    }

    private func read(_ fd: Int32, into buffer: inout [UInt8]) {
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
            drop(fd)
            return
        }
        guard n > 0, var connection = connections[fd], !connection.streaming else { return }
        connection.request += buffer[0..<n]
        guard let headerEnd = find([13, 10, 13, 10], in: connection.request) else {
            connections[fd] = connection
            return
        }
        let head = String(decoding: connection.request[0..<headerEnd], as: UTF8.self)
        let length = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
            .flatMap { Int($0.dropFirst(15).trimmingCharacters(in: .whitespaces)) } ?? 0
        guard connection.request.count >= headerEnd + 4 + length else {
            connections[fd] = connection
            return
        }
        if head.hasPrefix("GET /v1/models") {
            let body = #"{"object":"list","data":[{"id":"ground-truth","object":"model"}]}"#
            send(fd, Array(("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n"
                 + "Connection: close\r\n\r\n" + body).utf8))
            drop(fd)
            return
        }
        guard head.hasPrefix("POST ") else {
            send(fd, Array("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".utf8))
            drop(fd)
            return
        }
        connection.streaming = true
        connection.request = []
        connections[fd] = connection
        send(fd, Array("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n".utf8))
        push((tp_monotonic_ns() + schedule.ttftNs, fd, connection.id, 0))
    }

    /// Sends every token event whose deadline has come, then arms the timer for the next one.
    private func fireDue() {
        while let first = heap.first, first.deadline <= tp_monotonic_ns() {
            let entry = pop()
            guard connections[entry.fd]?.id == entry.id else { continue }  // closed (its number maybe reused)
            let last = entry.token == schedule.tokens - 1
            let sentAt = tp_monotonic_ns()
            latenessNs.append(sentAt - entry.deadline)
            // Bytes, not Strings: at 50k events/s the server shares two cores with the client it measures.
            event.removeAll(keepingCapacity: true)
            event += Self.eventStart
            event += String(sentAt).utf8
            event += last ? Self.eventMiddleLast : Self.eventMiddle
            event += String(entry.token + 1).utf8
            event += Self.eventEnd
            if last { event += Self.done }
            frame.removeAll(keepingCapacity: true)
            frame += String(event.count, radix: 16).utf8
            frame += Self.crlf
            frame += event
            frame += Self.crlf
            if last { frame += Self.lastChunk }
            send(entry.fd, frame)
            if last {
                connections[entry.fd]?.streaming = false  // keep-alive: the next request may come on it
            } else {
                push((entry.deadline + schedule.itlNs, entry.fd, entry.id, entry.token + 1))
            }
        }
        if let next = heap.first?.deadline, next != armedFor {
            armedFor = next
            _ = tp_timerfd_arm(timerFD, next)
        }
    }

    private var event: [UInt8] = []
    private var frame: [UInt8] = []
    private static let eventStart = Array(#"data: {"choices":[{"index":0,"delta":{"content":""#.utf8)
    private static let eventMiddle = Array(#" "}}],"usage":{"prompt_tokens":8,"completion_tokens":"#.utf8)
    private static let eventMiddleLast = Array(#" "},"finish_reason":"length"}],"usage":{"prompt_tokens":8,"completion_tokens":"#.utf8)
    private static let eventEnd = Array("}}\n\n".utf8)
    private static let done = Array("data: [DONE]\n\n".utf8)
    private static let crlf: [UInt8] = [13, 10]
    private static let lastChunk = Array("0\r\n\r\n".utf8)

    private func send(_ fd: Int32, _ bytes: [UInt8]) {
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
                if n <= 0 { return }  // a full or closed socket: the client sees a cut stream
                offset += n
            }
        }
    }

    private func drop(_ fd: Int32) {
        guard connections.removeValue(forKey: fd) != nil else { return }
        epoll.remove(fd)
        close(fd)
    }

    private func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for i in 0...(haystack.count - needle.count) where haystack[i] == needle[0] {
            if haystack[i..<i + needle.count].elementsEqual(needle) { return i }
        }
        return nil
    }

    // MARK: heap

    private func push(_ entry: (deadline: UInt64, fd: Int32, id: UInt64, token: Int)) {
        heap.append(entry)
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].deadline < heap[parent].deadline else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private func pop() -> (deadline: UInt64, fd: Int32, id: UInt64, token: Int) {
        let top = heap[0]
        let last = heap.removeLast()
        guard !heap.isEmpty else { return top }
        heap[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < heap.count, heap[left].deadline < heap[smallest].deadline { smallest = left }
            if right < heap.count, heap[right].deadline < heap[smallest].deadline { smallest = right }
            if smallest == parent { return top }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
