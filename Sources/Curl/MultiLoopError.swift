/// A failure of the loop itself (not of a request): libcurl or the kernel refused something.
package enum MultiLoopError: Error, Sendable, CustomStringConvertible {
    case curl(String)
    case system(String)
    case stopped

    package var description: String {
        switch self {
        case .curl(let m): return "libcurl: \(m)"
        case .system(let m): return "system: \(m)"
        case .stopped: return "the loop has been shut down"
        }
    }
}
