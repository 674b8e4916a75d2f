import CCurl
import Foundation

/// The loop's epoll registrations: which sockets libcurl asked it to watch, kept in step with the kernel.
///
/// The two can disagree: a socket closed and its descriptor number reused before libcurl says CURL_POLL_REMOVE
/// left the kernel without the registration (close drops it) while the set still has it, and the reverse after a
/// failed removal. So a MOD that finds nothing (ENOENT) becomes an ADD, an ADD that finds one (EEXIST) becomes a
/// MOD, and any other failure is returned so the loop fails that transfer instead of never hearing from it.
struct SocketWatcher {
    let epoll: Epoll
    private(set) var registered: Set<Int32> = []

    init(epoll: Epoll) { self.epoll = epoll }

    /// Watches `socket` for `events` (epoll flags), tagged with the socket number. Returns 0 or the errno of the
    /// operation that failed.
    mutating func watch(_ socket: Int32, events: Epoll.Events) -> Int32 {
        let token = UInt64(UInt32(bitPattern: socket))
        var result: Int32
        // The set changes only when the registration does (a MOD that succeeds, the usual case, touches nothing).
        if registered.contains(socket) {
            result = epoll.control(.modify, socket, events: events, token: token)
            if result == ENOENT { result = epoll.control(.add, socket, events: events, token: token) }
            if result != 0 { registered.remove(socket) }
        } else {
            result = epoll.control(.add, socket, events: events, token: token)
            if result == EEXIST { result = epoll.control(.modify, socket, events: events, token: token) }
            if result == 0 { registered.insert(socket) }
        }
        return result
    }

    /// Stops watching `socket` (a socket already closed has no registration left; that is not an error).
    mutating func unwatch(_ socket: Int32) {
        if registered.remove(socket) != nil { epoll.remove(socket) }
    }

    /// "epoll_ctl on socket 12 failed: Bad file descriptor (errno 9)".
    static func describe(socket: Int32, errno code: Int32) -> String {
        "epoll_ctl on socket \(socket) failed: \(String(cString: strerror(code))) (errno \(code))"
    }
}
