import Foundation
import LatencyModel

/// A verdict on a deployment's tensor-parallel interconnect, in plain words with the expected cost.
package struct NCCLDiagnosis: Sendable, Codable {
    package var log: NCCLLog
    /// The slowest transport any channel uses (a ring all-reduce runs at its slowest hop).
    package var transport: NCCLTransport?
    /// Whether the P2P links are NVLink (from graph-search "type NVL/..." lines); nil when the log does not say.
    package var nvlink: Bool?
    /// One line: "all-reduce over TCP sockets: expect ~0.1–0.6 ms per call; …".
    package var verdict: String
    /// Expected latency of one small (decode-sized) all-reduce, milliseconds.
    package var perCallMs: ClosedRangeMs?
    /// All-reduces per decode step: two per layer (attention output and MLP output).
    package var callsPerDecodeStep: Int
    package var layers: Int
    /// The `tpbench mock --link` preset that reproduces this interconnect offline.
    package var linkPreset: String?
    /// Further findings (custom all-reduce off, P2P disabled by environment, TP across nodes, warnings).
    package var findings: [String]

    package struct ClosedRangeMs: Sendable, Codable, Equatable {
        package var low: Double
        package var high: Double
    }
}

package enum NCCLDoctor {
    /// Diagnoses parsed logs; `layers` sizes the per-step cost (48 for Qwen3-30B-A3B).
    package static func diagnose(_ log: NCCLLog, layers: Int = 48) -> NCCLDiagnosis {
        let transport = log.worstTransport
        let nvlink = nvlinkEvidence(log)
        let tp = log.ranks ?? (Set(log.links.flatMap { [$0.fromRank, $0.toRank] }).count).nonZero
        let calls = 2 * max(1, layers)
        var findings: [String] = []
        var diagnosis = NCCLDiagnosis(log: log, transport: transport, nvlink: nvlink, verdict: "",
                                      perCallMs: nil, callsPerDecodeStep: calls, layers: layers, linkPreset: nil,
                                      findings: [])
        guard let transport else {
            diagnosis.verdict = log.ncclLines == 0
                ? "no NCCL lines found: start vLLM with NCCL_DEBUG=INFO in its environment and pass that log"
                : "no \"Channel … via …\" lines found: the log may be cut before NCCL connected its rings "
                    + "(keep NCCL_DEBUG=INFO and capture the log until the model has loaded)"
            diagnosis.findings = extraFindings(log, transport: nil)
            return diagnosis
        }
        let profile = costProfile(transport, nvlink: nvlink)
        let tpText = tp.map { "TP=\($0)" } ?? "TP"
        diagnosis.perCallMs = .init(low: profile.low, high: profile.high)
        diagnosis.linkPreset = profile.preset
        diagnosis.verdict = "all-reduce over \(profile.words): expect ~\(ms(profile.low))–\(ms(profile.high)) ms "
            + "per call; a \(tpText) decode step of a \(layers)-layer model does \(calls) of them "
            + "(≈\(ms(profile.low * Double(calls)))–\(ms(profile.high * Double(calls))) ms of communication "
            + "per generated token)"
        // Across nodes the network is expected (the "spans N nodes" finding covers it); inside one it is a fault.
        if transport == .socket || transport == .ib || transport == .shm, (log.nodes ?? 1) <= 1 {
            findings.append("GPUs of one replica should talk over NVLink or PCIe P2P; \(transport.rawValue) means "
                            + "every all-reduce is staged through \(transport == .shm ? "host memory" : "the network")")
        }
        if profile.nvlinkUnknown {
            findings.append("the log does not say whether P2P runs over NVLink or PCIe (add "
                            + "NCCL_DEBUG_SUBSYS=INIT,GRAPH "
                            + "for 'Pattern … type NVL/…' lines); assumed PCIe")
        }
        findings += extraFindings(log, transport: transport)
        diagnosis.findings = findings
        return diagnosis
    }

    struct CostProfile {
        var words: String
        var low: Double
        var high: Double
        var preset: String
        var nvlinkUnknown = false
    }

    /// Typical latency of one decode-sized all-reduce (a few KB to a few MB) at TP 2–8, by transport. Ranges, not
    /// points: they vary with message size, GPU count and NCCL version; the presets carry the model's number.
    static func costProfile(_ transport: NCCLTransport, nvlink: Bool?) -> CostProfile {
        switch transport {
        case .p2pDirect, .p2pCUMEM, .p2pIPC, .p2pOther:
            if nvlink == true {
                return CostProfile(words: "NVLink (\(transport.rawValue))", low: 0.01, high: 0.03,
                                   preset: LinkSpec.nvlink4.name)
            }
            return CostProfile(words: "PCIe peer-to-peer (\(transport.rawValue))", low: 0.02, high: 0.06,
                               preset: LinkSpec.pcie4P2P.name, nvlinkUnknown: nvlink == nil)
        case .ibGDRDMA:
            return CostProfile(words: "InfiniBand with GPUDirect RDMA", low: 0.02, high: 0.06,
                               preset: LinkSpec.ibNDR.name)
        case .shm:
            return CostProfile(words: "host shared memory (SHM, no GPU peer-to-peer)", low: 0.05, high: 0.15,
                               preset: LinkSpec.pcieNoP2P.name)
        case .ib:
            return CostProfile(words: "InfiniBand without GPUDirect RDMA (staged through host memory)", low: 0.04,
                               high: 0.12, preset: LinkSpec.ibNDR.name)
        case .netOther:
            return CostProfile(words: "a network plugin", low: 0.05, high: 0.3, preset: LinkSpec.tcp100g.name)
        case .socket:
            return CostProfile(words: "TCP sockets", low: 0.1, high: 0.6, preset: LinkSpec.tcp10g.name)
        }
    }

    static func nvlinkEvidence(_ log: NCCLLog) -> Bool? {
        guard !log.pathTypes.isEmpty else { return nil }
        return log.pathTypes.contains { $0.hasPrefix("NVL") || $0.hasPrefix("NVB") }
    }

    static func extraFindings(_ log: NCCLLog, transport: NCCLTransport?) -> [String] {
        var out: [String] = []
        if let reason = log.customAllReduceDisabled {
            out.append("vLLM's custom all-reduce is disabled (\(reason.isEmpty ? "no reason given" : reason)): "
                       + "every all-reduce goes through NCCL, which is slower for decode's small messages")
        }
        for (name, meaning) in [("NCCL_P2P_DISABLE", "GPU peer-to-peer"), ("NCCL_SHM_DISABLE", "shared memory"),
                                ("NCCL_IB_DISABLE", "InfiniBand")] where log.environment[name] == "1" {
            out.append("\(name)=1 is set: \(meaning) is off by configuration")
        }
        if let nodes = log.nodes, nodes > 1 {
            out.append("the communicator spans \(nodes) nodes: tensor parallelism across nodes puts every "
                       + "all-reduce on the network; keep TP inside a node and use pipeline or data parallelism "
                       + "across nodes")
        }
        if log.unreadableLines > 0 {
            out.append("\(log.unreadableLines) NCCL lines could not be read (truncated or garbled) and were skipped")
        }
        out += log.warnings.prefix(3).map { "NCCL warned: \($0)" }
        return out
    }

    static func ms(_ value: Double) -> String {
        value < 1 ? String(format: "%.2g", value) : String(format: "%.0f", value)
    }
}

extension Int {
    fileprivate var nonZero: Int? { self > 0 ? self : nil }
}
