/// One problem found in a workload file: where (field path and line) and what to do about it.
package struct WorkloadIssue: Sendable, Equatable, CustomStringConvertible {
    package var path: String
    package var line: Int?
    package var message: String

    package init(path: String, line: Int?, message: String) {
        self.path = path
        self.line = line
        self.message = message
    }

    package var description: String {
        "\(path.isEmpty ? "(top level)" : path): \(message)" + (line.map { " (line \($0))" } ?? "")
    }
}

/// A workload that cannot be run; lists every problem, not just the first.
package struct WorkloadError: Error, Sendable, CustomStringConvertible {
    package var file: String
    package var issues: [WorkloadIssue]
    /// What the file is ("workload", "preset", ...), for the first line of the message.
    package var kind: String

    package init(file: String, issues: [WorkloadIssue], kind: String = "workload") {
        self.file = file
        self.issues = issues
        self.kind = kind
    }

    package var description: String {
        let list = issues.map { "  - \($0)" }.joined(separator: "\n")
        return "\(kind) \(file) has \(issues.count) problem\(issues.count == 1 ? "" : "s"):\n\(list)"
    }
}

/// Edit distance, for "did you mean" suggestions on unknown keys and names.
package func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previous = Array(0...b.count)
    var current = Array(repeating: 0, count: b.count + 1)
    for i in 1...a.count {
        current[0] = i
        for j in 1...b.count {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        swap(&previous, &current)
    }
    return previous[b.count]
}

/// The closest allowed name to `key`, if it is close enough to be a likely typo.
package func suggestion(for key: String, among allowed: [String]) -> String? {
    let best = allowed.map { ($0, editDistance(key.lowercased(), $0)) }.min { $0.1 < $1.1 }
    guard let best, best.1 <= max(2, key.count / 3) else { return nil }
    return best.0
}
