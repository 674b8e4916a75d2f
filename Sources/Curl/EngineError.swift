/// A failure of the engine itself (not of a request): libcurl or the kernel refused something.
public enum EngineError: Error, Sendable, CustomStringConvertible {
    case curl(String)
    case system(String)
    case stopped

    public var description: String {
        switch self {
        case .curl(let m): return "libcurl: \(m)"
        case .system(let m): return "system: \(m)"
        case .stopped: return "the engine has been shut down"
        }
    }
}
