import ArgumentParser
import LatencyModel
import Workload

/// `--model`, `--gpu`, `--link` and `--preset` as `mock` and `plan` take them: flags first, then the preset file's
/// hardware, then tpbench's defaults (Qwen3-30B-A3B on H200 over NVLink).
struct HardwareSelection {
    var model: ModelSpec
    var gpu: GPUSpec
    var link: LinkSpec
    var preset: PresetFile?

    static func resolve(model: String?, gpu: String?, link: String?, presetPath: String?) throws -> HardwareSelection {
        var preset: PresetFile?
        if let presetPath {
            do { preset = try PresetFileLoader.load(path: presetPath) } catch {
                throw ValidationError("--preset: \(error)")
            }
        }
        let modelName = model ?? preset?.model ?? "qwen3-30b-a3b"
        let gpuName = gpu ?? preset?.gpu ?? "h200"
        let linkName = link ?? preset?.link ?? "nvlink4"
        let (model, gpu): (ModelSpec?, GPUSpec?)
        do { (model, gpu) = (try HardwareFiles.model(modelName), try HardwareFiles.gpu(gpuName)) } catch {
            throw ValidationError("\(error)")
        }
        guard let m = model else {
            throw ValidationError("--model \(modelName) is not a known preset or a file; use one of "
                                  + HardwareFiles.modelChoices)
        }
        guard let g = gpu else {
            throw ValidationError("--gpu \(gpuName) is not a known preset or a file; use one of " + HardwareFiles.gpuChoices)
        }
        guard let l = LinkSpec.preset(named: linkName) else {
            throw ValidationError("--link \(linkName) is not a known preset; use one of "
                                  + LinkSpec.presets.map(\.name).joined(separator: ", "))
        }
        if let preset, preset.model != m.name || preset.gpu != g.name {
            throw ValidationError("--preset was calibrated for \(preset.model) on \(preset.gpu), not \(m.name) on "
                                  + "\(g.name); drop --model/--gpu or calibrate a preset for this pair")
        }
        return HardwareSelection(model: m, gpu: g, link: l, preset: preset)
    }
}
