/// A deployment under test: a name and one or more replica base URLs (e.g. `http://127.0.0.1:8000`).
package struct Target: Sendable, Codable, Equatable {
    package var name: String
    package var baseURLs: [String]

    package init(name: String, baseURLs: [String]) {
        self.name = name
        self.baseURLs = baseURLs.map(Target.normalize)
    }

    /// Strips a trailing slash and a trailing `/v1`, so `--url http://host:8000/v1/` and `http://host:8000` agree.
    package static func normalize(_ url: String) -> String {
        var u = url
        while u.hasSuffix("/") { u.removeLast() }
        if u.hasSuffix("/v1") { u.removeLast(3) }
        return u
    }
}

/// Which OpenAI endpoint to load.
package enum APIKind: String, Sendable, Codable, CaseIterable {
    case chat
    case completions

    package var path: String {
        switch self {
        case .chat: return "/v1/chat/completions"
        case .completions: return "/v1/completions"
        }
    }
}

/// Validation of user-supplied URLs: what is wrong and how to fix it.
package struct TargetURLError: Error, Sendable, CustomStringConvertible {
    package let url: String
    package let problem: String
    package var description: String {
        "invalid URL '\(url)': \(problem); expected something like http://127.0.0.1:8000"
    }

    package static func check(_ url: String) throws {
        let lower = url.lowercased()
        guard lower.hasPrefix("http://") || lower.hasPrefix("https://") else {
            throw TargetURLError(url: url, problem: "it must start with http:// or https://")
        }
        let rest = url.drop(while: { $0 != "/" }).dropFirst(2)
        let host = rest.prefix(while: { $0 != "/" && $0 != "?" })
        guard !host.isEmpty else { throw TargetURLError(url: url, problem: "it has no host") }
        if host.contains(" ") { throw TargetURLError(url: url, problem: "the host contains a space") }
        // A port libcurl would reject only at the first request ("bad/illegal format") is bad input now.
        let hostPort = host.split(separator: "@").last ?? host[...]
        if !hostPort.hasSuffix("]"), let colon = hostPort.lastIndex(of: ":") {
            let port = hostPort[hostPort.index(after: colon)...]
            guard let number = Int(port), (1...65535).contains(number) else {
                throw TargetURLError(url: url, problem: "the port '\(port)' is not a number from 1 to 65535")
            }
        }
    }
}
