import Foundation
import LatencyModel
import Yams

/// Reads a `tpbench.preset/1` file (what `tpbench calibrate` writes), reporting every problem with its line.
package enum PresetFileLoader {
    static let topKeys = ["kind", "model", "gpu", "link", "parameters", "fitted", "scheduler", "bands",
                          "leave_one_out_median_error", "runs"]

    package static func load(path: String) throws -> PresetFile {
        let text = try YAMLDocument.read(path, kind: "preset",
                                         hint: "check the path (`tpbench calibrate RUN... --out FILE` writes one)")
        return try parse(text, file: path)
    }

    package static func parse(_ text: String, file: String = "<inline>") throws -> PresetFile {
        let root = try YAMLDocument.root(text, file: file, kind: "preset")
        var reader = NodeReader()
        var preset = PresetFile(model: "", gpu: "", link: "", values: [:], fitted: [])
        if let fields = reader.mapping(root, "", allowed: topKeys) {
            let kind = reader.string(fields["kind"], "kind")
            if fields["kind"] == nil {
                reader.fail("kind", root, "is missing; a preset starts with `kind: \(PresetFile.kind)`")
            } else if let kind, kind != PresetFile.kind {
                reader.fail("kind", fields["kind"], "must be \(PresetFile.kind), got '\(kind)'")
            }
            // A model or GPU may be a file (a model's config.json, a device file), read when the preset is used.
            func name(_ key: String, known: [String], fileAllowed: Bool, valid: (String) -> Bool) -> String {
                guard let node = fields[key] else {
                    reader.fail(key, root, "is missing (one of \(known.joined(separator: ", ")))")
                    return ""
                }
                guard let value = reader.string(node, key) else { return "" }
                // A path keeps its spelling.
                if fileAllowed && FileManager.default.fileExists(atPath: value) { return value }
                if !valid(value) {
                    reader.fail(key, node, "'\(value)' is not a known preset\(fileAllowed ? " or a file" : ""); use one of "
                                + known.joined(separator: ", "))
                }
                return value.lowercased()
            }
            preset.model = name("model", known: ModelSpec.presets.map(\.name), fileAllowed: true) {
                ModelSpec.preset(named: $0) != nil
            }
            preset.gpu = name("gpu", known: GPUSpec.presets.map(\.name), fileAllowed: true) {
                GPUSpec.preset(named: $0) != nil
            }
            preset.link = name("link", known: LinkSpec.presets.map(\.name), fileAllowed: false) {
                LinkSpec.preset(named: $0) != nil
            }
            if let node = fields["parameters"],
               let values = reader.mapping(node, "parameters", allowed: FreeParameter.allCases.map(\.name)) {
                for p in FreeParameter.allCases {
                    guard let v = reader.double(values[p.name], "parameters.\(p.name)", in: p.allowedRange) else { continue }
                    preset.values[p] = v
                }
            } else if fields["parameters"] == nil {
                reader.fail("parameters", root, "is missing (mfu, mbu, step_overhead_ms, ...)")
            }
            // Which values a fit produced (the rest are tpbench's presets); without the key, all of them count.
            preset.fitted = FreeParameter.allCases.filter { preset.values[$0] != nil }
            if let node = fields["fitted"] {
                if case .sequence(let items) = node {
                    preset.fitted = []
                    for (i, item) in items.enumerated() {
                        guard let name = reader.string(item, "fitted[\(i)]") else { continue }
                        if let p = FreeParameter(rawValue: name) { preset.fitted.append(p) } else {
                            reader.fail("fitted[\(i)]", item, "'\(name)' is not a free parameter (\(FreeParameter.allCases.map(\.name).joined(separator: ", ")))")
                        }
                    }
                } else {
                    reader.fail("fitted", node, "must be a list of parameter names")
                }
            }
            if let node = fields["scheduler"],
               let s = reader.mapping(node, "scheduler", allowed: ["max_num_seqs", "max_num_batched_tokens"]) {
                preset.maxNumSeqs = reader.int(s["max_num_seqs"], "scheduler.max_num_seqs", in: 1...1_048_576)
                preset.maxNumBatchedTokens = reader.int(s["max_num_batched_tokens"], "scheduler.max_num_batched_tokens",
                                                        in: 1...16_777_216)
            }
            if let node = fields["bands"],
               let b = reader.mapping(node, "bands", allowed: ["ttft", "tpot", "e2e", "throughput"]) {
                for (key, value) in b {
                    if let v = reader.double(value, "bands.\(key)", in: 0...10) { preset.bands[key] = v }
                }
            }
            preset.leaveOneOutMedianError = reader.double(fields["leave_one_out_median_error"],
                                                          "leave_one_out_median_error", in: 0...100)
            if let node = fields["runs"] {
                if case .sequence(let items) = node {
                    preset.runs = items.enumerated().compactMap { reader.string($0.element, "runs[\($0.offset)]") }
                } else {
                    reader.fail("runs", node, "must be a list of run paths")
                }
            }
        }
        if !reader.issues.isEmpty { throw WorkloadError(file: file, issues: reader.issues, kind: "preset") }
        return preset
    }
}
