import Foundation

/// How two ranks of one NCCL communicator exchange data, best first. The order matters: a ring all-reduce runs
/// at the speed of its slowest hop, so the deployment's verdict is the worst transport any channel uses.
package enum NCCLTransport: String, Sendable, Codable, CaseIterable, Comparable {
    case p2pDirect = "P2P/direct pointer"
    case p2pCUMEM = "P2P/CUMEM"
    case p2pIPC = "P2P/IPC"
    case p2pOther = "P2P"
    case ibGDRDMA = "NET/IB with GDRDMA"
    case shm = "SHM"
    case ib = "NET/IB"
    case netOther = "NET (other plugin)"
    case socket = "NET/Socket"

    package static func < (lhs: NCCLTransport, rhs: NCCLTransport) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }

    /// Classifies the text after "via " in a channel line, e.g. `P2P/IPC/read`, `NET/IB/3/GDRDMA`,
    /// `NET/IBext_v8/0/GDRDMA`, `SHM/direct/direct`, `NET/Socket/0`.
    static func classify(_ via: Substring) -> NCCLTransport? {
        let text = via.lowercased()
        if text.hasPrefix("p2p/direct") { return .p2pDirect }
        if text.hasPrefix("p2p/cumem") { return .p2pCUMEM }
        if text.hasPrefix("p2p/ipc") { return .p2pIPC }
        if text.hasPrefix("p2p") { return .p2pOther }
        if text.hasPrefix("shm") { return .shm }
        if text.hasPrefix("net/ib") || text.hasPrefix("net/roce") {
            return text.contains("gdrdma") ? .ibGDRDMA : .ib
        }
        if text.hasPrefix("net/socket") { return .socket }
        if text.hasPrefix("net/") || text.hasPrefix("collnet") { return .netOther }
        return nil
    }
}

/// One "Channel NN/x : A[a] -> B[b] [send] via TRANSPORT" line.
package struct NCCLChannelLink: Sendable, Codable, Hashable {
    package var channel: Int
    package var fromRank: Int
    package var toRank: Int
    package var transport: NCCLTransport
    /// The log's own words, e.g. `NET/IB/3/GDRDMA`.
    package var via: String
}

/// The rank order of one channel's ring.
package struct NCCLRing: Sendable, Codable, Equatable {
    package var channel: Int
    package var ranks: [Int]
}

/// Everything `tpbench nccl` read from one or more NCCL_DEBUG=INFO logs.
package struct NCCLLog: Sendable, Codable {
    package var ncclVersion: String?
    /// Communicator size (the largest seen: vLLM also builds small groups, e.g. for pipeline stages).
    package var ranks: Int?
    package var nodes: Int?
    /// Host names from `host:pid:tid [dev]` prefixes.
    package var hosts: [String] = []
    /// Distinct channel links (send and receive sides of one hop are one link).
    package var links: [NCCLChannelLink] = []
    /// Ring order per channel, from "Channel 00/02 : 0 1 2 3" (one entry per channel, the last seen).
    package var rings: [NCCLRing] = []
    /// Raw "Trees [0] ... " descriptions.
    package var trees: [String] = []
    /// Graph-search path type, e.g. `NVL/PIX` (NVLink inside the node) or `PHB/PIX` (PCIe through the CPU).
    package var pathTypes: [String] = []
    /// The network NCCL chose ("Socket", "IB") and the interfaces it named.
    package var network: String?
    package var interfaces: [String] = []
    /// vLLM's reason for disabling its custom all-reduce, when it printed one.
    package var customAllReduceDisabled: String?
    /// NCCL environment overrides seen ("NCCL_P2P_DISABLE set by environment to 1").
    package var environment: [String: String] = [:]
    /// The first few NCCL WARN lines.
    package var warnings: [String] = []
    package var linesRead = 0
    package var ncclLines = 0
    /// Lines that mentioned NCCL but could not be understood (garbled, truncated).
    package var unreadableLines = 0

    package init() {}

    /// Transport per ordered peer pair (worst, if channels of one pair differ).
    package var transportByPair: [(from: Int, to: Int, transport: NCCLTransport)] {
        var worst: [Int: [Int: NCCLTransport]] = [:]
        for link in links {
            let current = worst[link.fromRank]?[link.toRank]
            worst[link.fromRank, default: [:]][link.toRank] = max(current ?? link.transport, link.transport)
        }
        return worst.keys.sorted().flatMap { from in
            (worst[from] ?? [:]).keys.sorted().map { to in (from, to, worst[from]![to]!) }
        }
    }

    package var worstTransport: NCCLTransport? { links.map(\.transport).max() }
}

/// Reads NCCL_DEBUG=INFO output as vLLM prints it: with or without process prefixes such as
/// `(VllmWorker rank=1 pid=123)` or `[1]`, `host:pid:tid [dev] NCCL INFO ...`, several ranks interleaved.
/// Never throws and never traps: unknown or garbled lines are counted and skipped.
package enum NCCLLogParser {
    package static func parse(_ texts: [String]) -> NCCLLog {
        var log = NCCLLog()
        var seenLinks = Set<NCCLChannelLink>()
        var hosts: [String] = []
        for text in texts {
            for rawLine in text.split(omittingEmptySubsequences: true, whereSeparator: \.isNewline) {
                log.linesRead += 1
                read(Substring(rawLine), into: &log, links: &seenLinks, hosts: &hosts)
            }
        }
        log.hosts = hosts
        log.rings.sort { $0.channel < $1.channel }
        if log.nodes == nil, !hosts.isEmpty { log.nodes = hosts.count }
        log.links = seenLinks.sorted {
            ($0.channel, $0.fromRank, $0.toRank, $0.via) < ($1.channel, $1.fromRank, $1.toRank, $1.via)
        }
        return log
    }

    static func read(_ line: Substring, into log: inout NCCLLog, links: inout Set<NCCLChannelLink>,
                     hosts: inout [String]) {
        if let reason = after("Custom allreduce is disabled", in: line) {
            // Keep the reason, not vLLM's advice on silencing the warning that follows it.
            let firstSentence = reason.range(of: ". ").map { reason[..<$0.lowerBound] } ?? reason
            let text = firstSentence.trimmingCharacters(from: " .:,")
            log.customAllReduceDisabled = text.hasPrefix("because ") ? String(text.dropFirst(8)) : text
            return
        }
        if let version = after("vLLM is using nccl==", in: line) {
            log.ncclVersion = log.ncclVersion ?? String(version.prefix { !$0.isWhitespace })
            return
        }
        let isInfo = line.range(of: "NCCL INFO") != nil
        let isWarn = line.range(of: "NCCL WARN") != nil
        if !isInfo, !isWarn, line.hasPrefix("NCCL version ") {
            // Older NCCL prints its version bare on rank 0's stdout.
            log.ncclLines += 1
            log.ncclVersion = String(line.dropFirst("NCCL version ".count).prefix { !$0.isWhitespace })
            return
        }
        guard isInfo || isWarn else { return }
        log.ncclLines += 1
        let marker = isInfo ? "NCCL INFO" : "NCCL WARN"
        guard let markerRange = line.range(of: marker) else { return }
        if let host = hostName(line[..<markerRange.lowerBound]), !hosts.contains(host) { hosts.append(host) }
        let body = line[markerRange.upperBound...].drop { $0 == " " }
        if isWarn {
            if log.warnings.count < 10 { log.warnings.append(String(body.prefix(300))) }
            return
        }
        if !readInfo(body, into: &log, links: &links) { log.unreadableLines += 1 }
    }

    /// Returns false for an NCCL line that looked like a known kind but did not parse.
    static func readInfo(_ body: Substring, into log: inout NCCLLog, links: inout Set<NCCLChannelLink>) -> Bool {
        if body.hasPrefix("NCCL version ") {
            let version = body.dropFirst("NCCL version ".count).prefix { !$0.isWhitespace }
            guard !version.isEmpty else { return false }
            log.ncclVersion = String(version)
            return true
        }
        if body.hasPrefix("Channel ") { return readChannel(body, into: &log, links: &links) }
        if body.hasPrefix("Trees ") {
            if log.trees.count < 64 { log.trees.append(String(body.dropFirst(6).prefix(400))) }
            return true
        }
        if let size = integer(after: " nRanks ", in: body) ?? integer(after: " nranks ", in: body) {
            log.ranks = max(log.ranks ?? 0, size)
            if let nodes = integer(after: " nNodes ", in: body) { log.nodes = max(log.nodes ?? 0, nodes) }
            return true
        }
        if body.hasPrefix("Using network ") {
            log.network = String(body.dropFirst("Using network ".count).prefix { !$0.isWhitespace })
            return true
        }
        if let using = after("NET/Socket : Using ", in: body) ?? after("NET/IB : Using ", in: body) {
            let parts = using.prefix(while: { $0 != ";" }).split(separator: " ")
            for part in parts where !log.interfaces.contains(String(part)) && log.interfaces.count < 16 {
                log.interfaces.append(String(part))
            }
            return true
        }
        if let range = body.range(of: " set by environment to ") {
            let name = body[..<range.lowerBound].split(separator: " ").last.map(String.init) ?? ""
            let value = body[range.upperBound...].trimmingCharacters(from: " .")
            if name.hasPrefix("NCCL_") { log.environment[name] = value }
            return true
        }
        if body.hasPrefix("Pattern "), let type = after(" type ", in: body) {
            let path = String(type.prefix { !$0.isWhitespace && $0 != "," })
            if !path.isEmpty, !log.pathTypes.contains(path) { log.pathTypes.append(path) }
            return true
        }
        return true
    }

    /// `Channel 00/0 : 0[0] -> 1[1] [send] via NET/Socket/0`, `Channel 00 : 2[1] -> 0[0] via SHM/direct/direct`,
    /// or a ring: `Channel 00/02 :    0   1   2   3`.
    static func readChannel(_ body: Substring, into log: inout NCCLLog, links: inout Set<NCCLChannelLink>) -> Bool {
        let rest = body.dropFirst("Channel ".count)
        guard let colon = rest.firstIndex(of: ":") else { return false }
        guard let channel = Int(rest[..<colon].prefix { $0.isNumber }) else { return false }
        let detail = rest[rest.index(after: colon)...]
        guard let arrow = detail.range(of: "->") else {
            // A ring listing; anything else after the colon (e.g. "Channel 00 : 0 1 2 3 in ring") is tolerated.
            let ranks = detail.split(separator: " ").prefix { $0.allSatisfy(\.isNumber) }.compactMap { Int($0) }
            guard !ranks.isEmpty else { return false }
            log.rings.removeAll { $0.channel == channel }
            log.rings.append(NCCLRing(channel: channel, ranks: ranks))
            return true
        }
        guard let from = Int(detail[..<arrow.lowerBound].trimmingCharacters(from: " ").prefix { $0.isNumber }),
              let to = Int(detail[arrow.upperBound...].drop { $0 == " " }.prefix { $0.isNumber }),
              let via = after(" via ", in: detail) else { return false }
        // "P2P/direct pointer" is the one transport name with a space in it.
        let spaced = "P2P/direct pointer"
        let viaText = via.hasPrefix(spaced)
            ? spaced + via.dropFirst(spaced.count).prefix { !$0.isWhitespace }
            : String(via.prefix { !$0.isWhitespace })
        guard let transport = NCCLTransport.classify(Substring(viaText)) else { return false }
        links.insert(NCCLChannelLink(channel: channel, fromRank: from, toRank: to, transport: transport, via: viaText))
        return true
    }

    /// The host of a `host:pid:tid [dev]` prefix (possibly after `(VllmWorker rank=1 pid=123)` or `[1]`).
    static func hostName(_ prefix: Substring) -> String? {
        for token in prefix.split(separator: " ").reversed() {
            let parts = token.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 3, parts[1].allSatisfy(\.isNumber), parts[2].allSatisfy(\.isNumber),
                  !parts[1].isEmpty else { continue }
            let host = parts[0].drop { $0 == "(" || $0 == "[" }
            return host.isEmpty ? "(unnamed host)" : String(host)
        }
        return nil
    }

    static func after(_ needle: String, in text: Substring) -> Substring? {
        text.range(of: needle).map { text[$0.upperBound...] }
    }

    static func integer(after needle: String, in text: Substring) -> Int? {
        guard let rest = after(needle, in: text) else { return nil }
        return Int(rest.drop { $0 == " " }.prefix { $0.isNumber })
    }
}

extension Substring {
    func trimmingCharacters(from set: String) -> String {
        String(self.drop { set.contains($0) }.reversed().drop { set.contains($0) }.reversed())
    }
}
