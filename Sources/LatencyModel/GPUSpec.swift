/// One accelerator's roofline: dense (not "with sparsity") bf16 tensor throughput, HBM bandwidth and memory.
package struct GPUSpec: Sendable, Equatable, Codable {
    package var name: String
    package var displayName: String
    /// Dense bf16 FLOP/s.
    package var denseFLOPS: Double
    /// HBM bytes/s.
    package var memoryBandwidth: Double
    /// Device memory in bytes (marketed decimal GB).
    package var memoryBytes: Double
    /// Board power limit (TDP), W, from the vendor's datasheet; the mock's simulated power draw tops out here.
    package var tdpWatts: Double?

    package init(name: String, displayName: String, denseFLOPS: Double, memoryBandwidth: Double, memoryBytes: Double,
                tdpWatts: Double? = nil) {
        self.name = name
        self.displayName = displayName
        self.denseFLOPS = denseFLOPS
        self.memoryBandwidth = memoryBandwidth
        self.memoryBytes = memoryBytes
        self.tdpWatts = tdpWatts
    }

    /// vLLM's defaults differ by device size; the issue fixes the line at 70 GiB.
    package var isLargeMemory: Bool { memoryBytes >= 70 * 1_073_741_824 }
}

extension GPUSpec {
    package static let h200 = GPUSpec(
        name: "h200", displayName: "H200 SXM", denseFLOPS: 989e12, memoryBandwidth: 4.8e12, memoryBytes: 141e9,
        tdpWatts: 700)
    package static let h100 = GPUSpec(
        name: "h100", displayName: "H100 SXM", denseFLOPS: 989e12, memoryBandwidth: 3.35e12, memoryBytes: 80e9,
        tdpWatts: 700)
    package static let h100PCIe = GPUSpec(
        name: "h100-pcie", displayName: "H100 PCIe", denseFLOPS: 756e12, memoryBandwidth: 2.0e12, memoryBytes: 80e9,
        tdpWatts: 350)
    package static let a100 = GPUSpec(
        name: "a100", displayName: "A100 80GB SXM", denseFLOPS: 312e12, memoryBandwidth: 2.039e12,
        memoryBytes: 80e9, tdpWatts: 400)
    package static let l40s = GPUSpec(
        name: "l40s", displayName: "L40S", denseFLOPS: 362e12, memoryBandwidth: 864e9, memoryBytes: 48e9,
        tdpWatts: 350)
    /// AWS publishes no dense bf16 figure; this is NVIDIA A10's (same GA102 die, similar clocks).
    package static let a10g = GPUSpec(
        name: "a10g", displayName: "A10G", denseFLOPS: 125e12, memoryBandwidth: 600e9, memoryBytes: 24e9,
        tdpWatts: 300)

    package static let presets: [GPUSpec] = [h200, h100, h100PCIe, a100, l40s, a10g]

    package static func preset(named name: String) -> GPUSpec? {
        let key = name.lowercased()
        let aliases = ["h200-sxm": "h200", "h100-sxm": "h100", "a100-80gb": "a100"]
        let resolved = aliases[key] ?? key
        return presets.first { $0.name == resolved || $0.displayName.lowercased() == key }
    }
}
