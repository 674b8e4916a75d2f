/// The tensor-parallel interconnect: latency per all-reduce and ring bus bandwidth.
package struct LinkSpec: Sendable, Equatable, Codable {
    package var name: String
    package var summary: String
    /// Latency of one all-reduce at TP=4, in seconds.
    package var allReduceLatencyAtTP4: Double
    /// NCCL-style bus bandwidth, bytes/s.
    package var busBandwidth: Double

    package init(name: String, summary: String, allReduceLatencyAtTP4: Double, busBandwidth: Double) {
        self.name = name
        self.summary = summary
        self.allReduceLatencyAtTP4 = allReduceLatencyAtTP4
        self.busBandwidth = busBandwidth
    }

    /// A ring all-reduce takes 2(TP−1) hops; the preset's latency is for TP=4 (6 hops).
    package func allReduceLatency(tensorParallel: Int) -> Double {
        guard tensorParallel > 1 else { return 0 }
        return allReduceLatencyAtTP4 * Double(2 * (tensorParallel - 1)) / 6
    }

    /// Time of one all-reduce of `bytes` (ring: each rank moves 2(TP−1)/TP of the buffer).
    package func allReduceTime(bytes: Double, tensorParallel: Int) -> Double {
        guard tensorParallel > 1 else { return 0 }
        let tp = Double(tensorParallel)
        return allReduceLatency(tensorParallel: tensorParallel) + 2 * (tp - 1) / tp * bytes / busBandwidth
    }
}

extension LinkSpec {
    package static let nvlink4 = LinkSpec(
        name: "nvlink4", summary: "NVLink 4 / NVSwitch", allReduceLatencyAtTP4: 10e-6, busBandwidth: 360e9)
    package static let pcie4P2P = LinkSpec(
        name: "pcie4-p2p", summary: "PCIe 4 with peer-to-peer", allReduceLatencyAtTP4: 30e-6, busBandwidth: 21e9)
    package static let pcieNoP2P = LinkSpec(
        name: "pcie-no-p2p", summary: "PCIe without P2P (SHM, cross-NUMA)", allReduceLatencyAtTP4: 60e-6,
        busBandwidth: 6e9)
    package static let ibNDR = LinkSpec(
        name: "ib-ndr", summary: "InfiniBand NDR 400G", allReduceLatencyAtTP4: 30e-6, busBandwidth: 42e9)
    package static let tcp100g = LinkSpec(
        name: "tcp-100g", summary: "TCP over 100 GbE", allReduceLatencyAtTP4: 80e-6, busBandwidth: 10e9)
    package static let tcp10g = LinkSpec(
        name: "tcp-10g", summary: "TCP over 10 GbE", allReduceLatencyAtTP4: 120e-6, busBandwidth: 1.1e9)
    /// The host-staged path a misconfigured cloud box gives (NCCL falls back through host memory).
    package static let pcieDegraded = LinkSpec(
        name: "pcie-degraded", summary: "host-staged PCIe (misconfigured P2P)", allReduceLatencyAtTP4: 600e-6,
        busBandwidth: 45e9)

    package static let presets: [LinkSpec] = [nvlink4, pcie4P2P, pcieNoP2P, ibNDR, tcp100g, tcp10g, pcieDegraded]

    package static func preset(named name: String) -> LinkSpec? {
        let key = name.lowercased()
        return presets.first { $0.name == key }
    }
}
