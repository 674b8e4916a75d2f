#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A calibrated latency-model preset (`tpbench calibrate` writes it; `mock --preset` and `plan --preset` read it):
/// the hardware it was fitted on, the fitted parameter values, and the uncertainty bands its residuals give.
package struct PresetFile: Sendable, Equatable {
    package static let kind = "tpbench.preset/1"

    package var model: String
    package var gpu: String
    package var link: String
    /// Every free parameter's value, in its units (fitted ones and the presets' values for the rest).
    package var values: [FreeParameter: Double]
    package var fitted: [FreeParameter]
    package var maxNumSeqs: Int?
    package var maxNumBatchedTokens: Int?
    /// Relative uncertainty per figure family (ttft, tpot, e2e, throughput): leave-one-out RMS error when there was
    /// more than one run, else the fit's own.
    package var bands: [String: Double]
    /// The runs it was fitted on.
    package var runs: [String]
    package var leaveOneOutMedianError: Double?

    package init(model: String, gpu: String, link: String, values: [FreeParameter: Double], fitted: [FreeParameter],
                maxNumSeqs: Int? = nil, maxNumBatchedTokens: Int? = nil, bands: [String: Double] = [:],
                runs: [String] = [], leaveOneOutMedianError: Double? = nil) {
        self.model = model
        self.gpu = gpu
        self.link = link
        self.values = values
        self.fitted = fitted
        self.maxNumSeqs = maxNumSeqs
        self.maxNumBatchedTokens = maxNumBatchedTokens
        self.bands = bands
        self.runs = runs
        self.leaveOneOutMedianError = leaveOneOutMedianError
    }

    /// Writes the preset's values into `parameters` (model, GPU and link are the caller's choice). Link values apply
    /// only when the parameters use the link the preset was fitted on.
    package func apply(to parameters: inout ReplicaSpec) {
        for (parameter, value) in values {
            if parameter == .allReduceLatency || parameter == .busBandwidth, parameters.link.name != link { continue }
            parameter.set(value, in: &parameters)
        }
        if let v = maxNumSeqs { parameters.maxNumSeqs = v }
        if let v = maxNumBatchedTokens { parameters.maxNumBatchedTokens = v }
    }

    package func yaml() -> String {
        /// Six significant digits, in Swift's shortest form.
        func number(_ v: Double) -> String {
            guard v != 0, v.isFinite else { return "\(v)" }
            let scale = pow(10, Double(5 - Int(log10(abs(v)).rounded(.down))))
            return "\((v * scale).rounded() / scale)"
        }
        func quoted(_ text: String) -> String {
            "\"" + text.flatMap { c -> [Character] in c == "\\" || c == "\"" ? ["\\", c] : [c] } + "\""
        }
        var lines = [
            "# tpbench latency-model preset, written by `tpbench calibrate`; read by `tpbench mock --preset` and",
            "# `tpbench plan --preset`. Units: milliseconds (_ms), microseconds (_us), GB/s (_gbps); mfu and mbu are",
            "# shares of the GPU's dense bf16 FLOP/s and HBM bandwidth.",
            "kind: \(Self.kind)",
            "model: \(model)",
            "gpu: \(gpu)",
            "link: \(link)",
            "parameters:",
        ]
        for p in FreeParameter.allCases {
            guard let v = values[p] else { continue }
            lines.append("  \(p.name): \(number(v))" + (fitted.contains(p) ? "" : "  # not fitted: the preset's value"))
        }
        lines.append("fitted: [" + FreeParameter.allCases.filter(fitted.contains).map(\.name).joined(separator: ", ") + "]")
        if maxNumSeqs != nil || maxNumBatchedTokens != nil {
            lines.append("scheduler:")
            if let v = maxNumSeqs { lines.append("  max_num_seqs: \(v)") }
            if let v = maxNumBatchedTokens { lines.append("  max_num_batched_tokens: \(v)") }
        }
        if !bands.isEmpty {
            lines.append("bands:  # relative uncertainty of predictions, per figure")
            for key in bands.keys.sorted() { lines.append("  \(key): \(number(bands[key]!))") }
        }
        if let e = leaveOneOutMedianError { lines.append("leave_one_out_median_error: \(number(e))") }
        if !runs.isEmpty {
            lines.append("runs:")
            for run in runs { lines.append("  - " + quoted(run)) }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
