import Curl
import Foundation
import Metrics
import SeededRandom
import Workload

/// The prompts of a run, built once before the load starts: synthetic prompts calibrated to exact token counts
/// against the server's `/tokenize` where it has one, or dataset entries.
package struct PromptPool: Sendable {
    package var prompts: [PromptContent]
    /// Token count each prompt was built for (nil for dataset prompts).
    package var requestedTokens: [Int?]
    /// Output length each dataset entry asks for (nil: use the workload's max_tokens).
    package var datasetMaxTokens: [Int?]
    /// How the lengths were obtained and how close they came.
    package var calibration: CalibrationSummary
    /// The words synthetic prompts were drawn from, when calibration kept only single-token ones (nil: the whole
    /// vocabulary). Synthetic session answers use them too, so their word count is their token count.
    package var words: [String]? = nil

    /// For the report: "calibrated with the server's /tokenize (vllm dialect): 998 of 1000 within ±1 token …".
    package var calibrationNote: String { calibration.note }

    package var count: Int { prompts.count }
}

/// Builds synthetic prompts from a seeded stream of common short English words. Calibration keeps only the words
/// the server's tokenizer reads as one token after a space (most of them in large BPE vocabularies, all of them in
/// the mock's), so adding or removing a word moves the count by one.
package enum PromptSynthesizer {
    package static let vocabulary: [String] = """
        the of and to in is was for on that with as by at from his her they this had not are but were which one all \
        have an be or their there when who will more no if out so said what up its about into than them can only \
        other new some time could these two may then do first any my now such like our over man me even most made \
        after also did many before must through back years where much your way well down should because each just \
        those people how too little state good very make world still own see men work long get here between both \
        life being under never day same another know while last might us great old year off come since against go \
        came right used take three small large house water city river music paper table light green blue red stone \
        field board point story
        """.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)

    /// The first `count` words of the word stream numbered `stream` under `seed`, drawn from `vocabulary`.
    package static func words(seed: UInt64, stream: UInt64, count: Int, vocabulary: [String] = vocabulary) -> String {
        var generator = SplitMix64(seed: seed &* 0x100_0000_01B3 &+ stream)
        var words: [String] = []
        words.reserveCapacity(max(0, count))
        for _ in 0..<max(0, count) {
            words.append(vocabulary[Int(generator.next() % UInt64(vocabulary.count))])
        }
        return words.joined(separator: " ")
    }
}

