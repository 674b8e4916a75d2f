import Foundation

/// A GitHub-flavoured Markdown table whose raw text is aligned too (padded cells), so it reads in a terminal
/// or a diff as well as rendered.
package struct MarkdownTable {
    package enum Alignment { case left, right }

    var header: [String]
    var alignments: [Alignment]
    var rows: [[String]] = []

    package init(_ header: [String], alignments: [Alignment]? = nil) {
        self.header = header
        // Default: first column text, the rest numbers.
        self.alignments = alignments ?? header.indices.map { $0 == 0 ? .left : .right }
    }

    package mutating func add(_ cells: [String]) {
        rows.append(cells.map(Self.escape))
    }

    package func render() -> String {
        let columns = header.count
        let all = [header] + rows
        let widths = (0..<columns).map { column in
            max(3, all.map { $0.indices.contains(column) ? $0[column].count : 0 }.max() ?? 0)
        }
        func line(_ cells: [String]) -> String {
            let padded = (0..<columns).map { column -> String in
                let cell = cells.indices.contains(column) ? cells[column] : ""
                let pad = String(repeating: " ", count: widths[column] - cell.count)
                return alignments[column] == .right ? pad + cell : cell + pad
            }
            return "| " + padded.joined(separator: " | ") + " |"
        }
        let rule = (0..<columns).map { column in
            alignments[column] == .right ? String(repeating: "-", count: widths[column] - 1) + ":"
                : String(repeating: "-", count: widths[column])
        }
        return ([line(header), "| " + rule.joined(separator: " | ") + " |"] + rows.map(line))
            .joined(separator: "\n") + "\n"
    }

    /// A pipe or newline inside a cell would break the table.
    static func escape(_ cell: String) -> String {
        cell.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\r\n", with: " ")
            .replacingOccurrences(of: "\n", with: " ")
    }
}

/// Number formatting for the report: never "nan"/"inf", always a unit where one applies.
enum Format {
    /// Milliseconds with precision that suits the magnitude (0.042, 8.31, 412.7).
    static func ms(_ value: Double?) -> String {
        guard let value, value.isFinite else { return "n/a" }
        let digits = abs(value) < 1 ? 3 : abs(value) < 100 ? 2 : 1
        return String(format: "%.\(digits)f", value)
    }

    static func number(_ value: Double?, digits: Int) -> String {
        guard let value, value.isFinite else { return "n/a" }
        return String(format: "%.\(digits)f", value)
    }

    static func percent(_ share: Double?) -> String {
        guard let share, share.isFinite else { return "n/a" }
        return String(format: "%.1f%%", share * 100)
    }

    static func money(_ value: Double?) -> String {
        guard let value, value.isFinite else { return "n/a" }
        return String(format: "$%.4f", value)
    }

    /// A duration for the headline: "42.1 s", "3 min 12 s", "1 h 05 min".
    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "n/a" }
        if seconds < 120 { return String(format: "%.1f s", seconds) }
        let whole = Int(seconds.rounded())
        if whole < 3600 { return "\(whole / 60) min \(whole % 60) s" }
        return String(format: "%d h %02d min", whole / 3600, (whole % 3600) / 60)
    }

    /// Inline code that survives backticks in the content.
    static func code(_ text: String) -> String {
        text.contains("`") ? "`` \(text) ``" : "`\(text)`"
    }
}
