import CCurl
import Foundation

/// One epoll instance with typed operations: an operation is an `Operation`, not a magic number, interest is
/// `Epoll.Events`, and every `control` result is an errno the caller must handle (`add` throws it). The client's
/// `MultiLoop`, the ground-truth server and selfbench's `FloorReader` all wait through this.
package struct Epoll: Sendable {
    package let descriptor: Int32

    package enum Operation: Sendable {
        case add, modify, remove

        var code: Int32 {
            switch self {
            case .add: tp_epoll_ctl_add()
            case .modify: tp_epoll_ctl_mod()
            case .remove: tp_epoll_ctl_del()
            }
        }
    }

    /// Interest flags (EPOLLIN, EPOLLOUT).
    package struct Events: OptionSet, Sendable {
        package let rawValue: UInt32
        package init(rawValue: UInt32) { self.rawValue = rawValue }
        package static let readable = Events(rawValue: tp_epoll_in())
        package static let writable = Events(rawValue: tp_epoll_out())
    }

    /// A failed epoll call, with what it was doing.
    package struct Failure: Error, Sendable, CustomStringConvertible {
        package let call: String
        package let errno: Int32
        package var description: String { "\(call) failed: \(String(cString: strerror(errno))) (errno \(errno))" }
    }

    /// A new close-on-exec epoll instance; the caller closes `descriptor`.
    package init() throws(Failure) {
        let fd = tp_epoll_create()
        guard fd >= 0 else { throw Failure(call: "epoll_create1", errno: errno) }
        descriptor = fd
    }

    /// Takes over `descriptor` from `tp_epoll_create()` as it is (-1 when that failed: check `descriptor`).
    package init(adopting descriptor: Int32) { self.descriptor = descriptor }

    /// Applies `operation` to `fd` with `events`, tagging its readiness with `token`: 0, or the errno it failed with.
    package func control(_ operation: Operation, _ fd: Int32, events: Events = [], token: UInt64 = 0) -> Int32 {
        -tp_epoll_ctl(descriptor, operation.code, fd, events.rawValue, token)
    }

    /// Watches `fd` for `events`, or throws why not.
    package func add(_ fd: Int32, events: Events, token: UInt64) throws(Failure) {
        let code = control(.add, fd, events: events, token: token)
        if code != 0 { throw Failure(call: "epoll_ctl(ADD, \(fd))", errno: code) }
    }

    /// Stops watching `fd`. A descriptor already closed has no registration left (ENOENT, EBADF): not a failure.
    @discardableResult
    package func remove(_ fd: Int32) -> Int32 {
        let code = control(.remove, fd)
        return code == ENOENT || code == EBADF ? 0 : code
    }

    /// Waits up to `timeoutMs` (-1: forever) for readiness, retrying on EINTR; fills `events` and returns how many
    /// (at most 256 per call), or -1 with errno set.
    package func wait(into events: inout [tp_epoll_event], timeoutMs: Int32) -> Int {
        let count = events.withUnsafeMutableBufferPointer {
            tp_epoll_wait(descriptor, $0.baseAddress, Int32($0.count), timeoutMs)
        }
        return Int(count)
    }
}
