import Foundation

/// How a run's prompt lengths were obtained and how close they came to their targets.
package struct CalibrationSummary: Sendable, Codable, Equatable {
    package enum Mode: String, Sendable, Codable {
        /// Each prompt counted by the server's tokenizer until within ±1 of its target.
        case calibrated
        /// `calibrate: false`: one token per word, never checked.
        case off
        /// The server has no usable token-counting endpoint: one token per word, never checked.
        case unavailable
        /// Prompts come from a dataset: nothing to calibrate.
        case dataset
    }

    package var mode: Mode
    /// The token-counting dialect the server answered in (`vllm`, `llama.cpp`, `tgi`).
    package var dialect: String?
    package var prompts: Int
    /// Prompts whose server count is more than one token from the target.
    package var missed: Int = 0
    /// The largest miss, signed (server count − target), 0 when none missed.
    package var worstMiss: Int = 0
    /// Mean |server count − target| over the prompts that missed.
    package var meanAbsMiss: Double = 0
    /// Prompts whose server count equals the target.
    package var exact: Int?
    /// Token counts asked of the server, the vocabulary check included (a llama.cpp chat count is two requests:
    /// render the template, then tokenize).
    package var calls: Int = 0
    /// Of `calls`, those that checked the prompt vocabulary (once per run, not per prompt).
    package var vocabularyCalls: Int?
    package var seconds: Double = 0
    /// Words of the prompt vocabulary that the server's tokenizer reads as one token after a space.
    package var singleTokenWords: Int?
    /// Why calibration was not possible (each dialect's answer), when `mode == .unavailable`.
    package var reason: String?
    /// Where the dataset came from, when `mode == .dataset`.
    package var dataset: String?

    package init(mode: Mode, dialect: String? = nil, prompts: Int, reason: String? = nil, dataset: String? = nil) {
        self.mode = mode
        self.dialect = dialect
        self.prompts = prompts
        self.reason = reason
        self.dataset = dataset
    }

    /// Share of prompts that missed (0–1).
    package var missFraction: Double { prompts > 0 ? Double(missed) / Double(prompts) : 0 }

    /// One sentence for the console and the report.
    package var note: String {
        switch mode {
        case .dataset:
            return "prompts from dataset \(dataset ?? "?") (\(prompts) entries; lengths as the dataset has them)"
        case .off:
            return "prompt calibration is off (calibrate: false): prompt lengths estimated at one token per word, "
                + "not checked against the server's tokenizer"
        case .unavailable:
            return "the server has no usable token-counting endpoint (\(reason ?? "?")): prompt lengths estimated "
                + "at one token per word, not checked"
        case .calibrated:
            let vocabulary = vocabularyCalls ?? 0
            let perPrompt = prompts > 0 ? Double(calls - vocabulary) / Double(prompts) : 0
            var text = "calibrated with the server's tokenizer (\(dialect ?? "?") dialect): \(prompts - missed) of "
                + "\(prompts) prompts within ±1 token of their target, \(exact ?? 0) exact ("
                + String(format: "%.2f counts per prompt", perPrompt)
                + (vocabulary > 0 ? " and \(vocabulary) to check the word list" : "")
                + String(format: ", %.1f s", seconds) + ")"
            if missed > 0 {
                text += "; \(missed) missed by more than 1 token (worst \(worstMiss > 0 ? "+" : "")\(worstMiss), "
                    + String(format: "mean |miss| %.1f", meanAbsMiss) + ")"
            }
            return text
        }
    }
}
