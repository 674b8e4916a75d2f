import Foundation

/// A deployment's interconnect verdict from its NCCL log (`compare --nccl-log NAME=FILE`), already in words:
/// Report does not depend on the doctor, it only shows what the doctor said.
package struct InterconnectNote: Sendable, Codable, Equatable {
    /// The log file read.
    package var source: String
    /// One sentence for the verdict list.
    package var verdict: String
    /// The doctor's Markdown report.
    package var details: String

    package init(source: String, verdict: String, details: String) {
        self.source = source
        self.verdict = verdict
        self.details = details
    }
}

extension Comparison {
    /// Adds interconnect verdicts: one sentence each in the verdict list, details in their own section.
    package mutating func addInterconnect(_ notes: [String: InterconnectNote]) {
        guard !notes.isEmpty else { return }
        interconnect = (interconnect ?? [:]).merging(notes) { $1 }
        let names = Set(deployments.map(\.name))
        for name in notes.keys.sorted() {
            guard let note = notes[name] else { continue }
            verdict.append(names.contains(name) ? note.verdict
                : "An NCCL log was given for \"\(name)\", which is not a deployment of this comparison "
                    + "(\(deployments.map(\.name).joined(separator: ", "))); its verdict: \(note.verdict)")
        }
    }
}

extension ComparisonReport {
    static func interconnectSection(_ c: Comparison) -> String {
        guard let notes = c.interconnect, !notes.isEmpty else { return "" }
        var out = "## Interconnect (from NCCL logs)\n\n"
        for name in notes.keys.sorted() {
            guard let note = notes[name] else { continue }
            out += "### \(name)\n\n"
            // The doctor's headings sit below this section's.
            let lines = note.details.split(separator: "\n", omittingEmptySubsequences: false)
                .filter { !$0.hasPrefix("# ") }.drop { $0.isEmpty }
            for line in lines {
                out += (line.hasPrefix("## ") ? "#### " + line.dropFirst(3) : line) + "\n"
            }
        }
        return out
    }
}
