import Foundation

extension NCCLDoctor {
    /// The doctor's report as Markdown (also readable as plain text in a terminal).
    package static func render(_ diagnosis: NCCLDiagnosis, files: [String], maxChannelRows: Int = 48) -> String {
        let log = diagnosis.log
        var out = "# NCCL interconnect doctor\n\n"
        out += "Read \(files.count) file\(files.count == 1 ? "" : "s") (\(log.linesRead) lines, \(log.ncclLines) NCCL "
            + "lines): \(files.joined(separator: ", "))\n\n"
        out += "**Verdict:** \(diagnosis.verdict).\n\n"
        if let preset = diagnosis.linkPreset {
            let tp = log.ranks.map { " --tp \($0)" } ?? ""
            out += "Reproduce offline: `tpbench mock --link \(preset)\(tp)`\n\n"
        }
        if !diagnosis.findings.isEmpty {
            out += diagnosis.findings.map { "- \($0)\n" }.joined() + "\n"
        }
        out += "## Setup\n\n"
        out += "- NCCL version: \(log.ncclVersion ?? "not in the log")\n"
        out += "- ranks: \(log.ranks.map(String.init) ?? "not in the log")"
            + ", nodes: \(log.nodes.map(String.init) ?? "not in the log")"
            + (log.hosts.isEmpty ? "" : " (hosts: \(log.hosts.joined(separator: ", ")))") + "\n"
        if let network = log.network {
            let via = log.interfaces.isEmpty ? "" : " via " + log.interfaces.joined(separator: " ")
            out += "- network: \(network)\(via)\n"
        }
        if !log.pathTypes.isEmpty { out += "- graph path types: \(log.pathTypes.joined(separator: ", "))\n" }
        out += "- vLLM custom all-reduce: "
            + (log.customAllReduceDisabled.map { "disabled (\($0))" } ?? "no \"disabled\" message in the log") + "\n"
        for (name, value) in log.environment.sorted(by: { $0.key < $1.key }) { out += "- \(name)=\(value)\n" }
        out += "\n"

        let pairs = log.transportByPair
        if !pairs.isEmpty {
            out += "## Transport per peer pair\n\n| from rank | to rank | transport | channels |\n|---|---|---|---|\n"
            for pair in pairs {
                let channels = log.links.filter { $0.fromRank == pair.from && $0.toRank == pair.to }.map(\.channel)
                out += "| \(pair.from) | \(pair.to) | \(pair.transport.rawValue) | \(Set(channels).count) |\n"
            }
            out += "\n## Channels\n\n| channel | hop | via |\n|---|---|---|\n"
            for link in log.links.prefix(maxChannelRows) {
                out += "| \(link.channel) | \(link.fromRank) → \(link.toRank) | \(link.via) |\n"
            }
            if log.links.count > maxChannelRows {
                out += "\n(\(log.links.count - maxChannelRows) more channel links not shown)\n"
            }
            out += "\n"
        }
        if !log.rings.isEmpty || !log.trees.isEmpty {
            out += "## Topology\n\n"
            for ring in log.rings.prefix(16) {
                out += "- ring, channel \(ring.channel): \(ring.ranks.map(String.init).joined(separator: " → "))\n"
            }
            for tree in log.trees.prefix(8) { out += "- trees: \(tree)\n" }
            out += "\n"
        }
        return out
    }

    /// One sentence for a comparison's verdict list.
    package static func comparisonSentence(deployment: String, _ diagnosis: NCCLDiagnosis) -> String {
        var sentence = "\(deployment) interconnect (from its NCCL log): \(diagnosis.verdict)"
        if let preset = diagnosis.linkPreset {
            let tp = diagnosis.log.ranks.map { " --tp \($0)" } ?? ""
            sentence += "; reproduce with `tpbench mock --link \(preset)\(tp)`"
        }
        if diagnosis.log.customAllReduceDisabled != nil { sentence += "; vLLM's custom all-reduce was disabled" }
        return sentence + "."
    }
}

/// A log file that could not be read.
package struct NCCLLogFileError: Error, Sendable, CustomStringConvertible {
    package var path: String
    package var reason: String
    package var description: String {
        "cannot read NCCL log \(path): \(reason); pass the file vLLM wrote with NCCL_DEBUG=INFO set"
    }
}

extension NCCLLogParser {
    /// Reads and parses log files; bytes that are not UTF-8 are replaced, never fatal.
    package static func parse(files: [String]) throws -> NCCLLog {
        var texts: [String] = []
        for path in files {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw NCCLLogFileError(path: path, reason: "no such readable file")
            }
            texts.append(String(decoding: data, as: UTF8.self))
        }
        return parse(texts)
    }
}
