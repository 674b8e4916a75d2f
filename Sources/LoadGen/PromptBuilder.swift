import Curl
import Foundation
import JSONSchema
import Metrics
import NIOConcurrencyHelpers
import Workload

/// `--strict`: more than 1 % of the prompts missed their length, so the load would not be the one asked for.
public struct CalibrationMissed: Error, Sendable, CustomStringConvertible {
    public let summary: CalibrationSummary
    public var description: String {
        "--strict: \(summary.missed) of \(summary.prompts) prompts (" + String(format: "%.1f", summary.missFraction * 100)
            + " %) missed their token target by more than 1 (worst \(summary.worstMiss)); no load was sent. "
            + "Check the server's tokenizer endpoint, or run without --strict to send the prompts as they are"
    }
}

/// Builds the prompt pool for a workload.
public enum PromptBuilder {
    /// Most distinct prompts built for a run; request i uses prompt i modulo this.
    public static let maxPoolSize = 2000
    /// Token-counting requests in flight at once while calibrating.
    static let calibrationConcurrency = 32
    /// Most token-counting requests for one prompt (a prompt still off after these is reported as a miss).
    static let maxCallsPerPrompt = 8
    /// A filtered vocabulary smaller than this is too repetitive; calibration then steps over the whole one.
    static let minSingleTokenWords = 16

    public static func build(spec: WorkloadSpec, model: String, poolSize: Int, base: String, engine: Engine?,
                             settings: RequestSettings,
                             progress: @escaping @Sendable (Int, Int) -> Void = { _, _ in }) async throws -> PromptPool {
        if let dataset = spec.prompt.dataset {
            let entries = try Dataset.load(path: dataset)
            let prompts: [PromptContent] = entries.map { entry in
                switch entry.content {
                case .text(let text): return .text(system: spec.prompt.system, user: text)
                case .messages(let pairs): return .messages(pairs)
                }
            }
            return PromptPool(prompts: prompts, requestedTokens: Array(repeating: nil, count: prompts.count),
                              datasetMaxTokens: entries.map(\.maxTokens),
                              calibration: CalibrationSummary(mode: .dataset, prompts: prompts.count, dataset: dataset))
        }
        var generator = SplitMix64(seed: spec.seed ^ 0x9E0_0D1E)
        let targets = (0..<max(1, poolSize)).map { _ in spec.prompt.tokens.sample(using: &generator) }
        let synthesizer = Synthesizer(seed: spec.seed, system: spec.prompt.system, prefixTokens: spec.prompt.prefixTokens,
                                      vocabulary: PromptSynthesizer.vocabulary)
        var reason: String?
        if spec.prompt.calibrate, let engine {
            let (counter, reasons) = await TokenCounter.detect(base: base, model: model, api: spec.api,
                                                               engine: engine, settings: settings)
            if let counter {
                return try await calibrate(targets: targets, synthesizer: synthesizer, counter: counter,
                                           progress: progress)
            }
            reason = reasons.joined(separator: "; ")
        }
        // No usable tokenizer endpoint: one word per token, minus a typical chat-template overhead.
        let overhead = spec.api == .chat ? 8 : 0
        let prompts = targets.enumerated().map {
            synthesizer.prompt(index: $0.offset, words: $0.element - spec.prompt.prefixTokens - overhead)
        }
        let summary = CalibrationSummary(mode: spec.prompt.calibrate ? .unavailable : .off, prompts: prompts.count,
                                         reason: reason)
        return PromptPool(prompts: prompts, requestedTokens: targets,
                          datasetMaxTokens: Array(repeating: nil, count: prompts.count), calibration: summary)
    }

    /// The seeded prompt text of a workload: an optional shared prefix, then words of the prompt's own stream.
    struct Synthesizer: Sendable {
        let seed: UInt64
        let system: String?
        let prefixTokens: Int
        var vocabulary: [String]
        var prefix: String? {
            prefixTokens > 0 ? PromptSynthesizer.words(seed: seed, stream: .max, count: prefixTokens,
                                                      vocabulary: vocabulary) : nil
        }

        func prompt(index: Int, words: Int, prefix: String? = nil) -> PromptContent {
            let unique = PromptSynthesizer.words(seed: seed, stream: UInt64(index), count: max(1, words),
                                                 vocabulary: vocabulary)
            let shared = prefix ?? self.prefix
            return .text(system: system, user: shared.map { "\($0) \(unique)" } ?? unique)
        }
    }

    /// Counts every token-counting request of a calibration.
    final class CallCounter: Sendable {
        private let box = NIOLockedValueBox(0)
        func add(_ n: Int = 1) { box.withLockedValue { $0 += n } }
        var value: Int { box.withLockedValue { $0 } }
    }

    /// The prompt vocabulary's words that the server reads as exactly one token after a space. One request when
    /// all of them are; otherwise one per word.
    static func singleTokenWords(counter: TokenCounter, calls: CallCounter) async throws -> [String] {
        let vocabulary = PromptSynthesizer.vocabulary
        func count(_ user: String) async throws -> Int {
            calls.add()
            return try await counter.count(.text(system: nil, user: user))
        }
        let lead = vocabulary[0]
        let base = try await count(lead)
        let all = try await count(([lead] + vocabulary).joined(separator: " "))
        if all - base == vocabulary.count { return vocabulary }
        return try await withThrowingTaskGroup(of: (Int, Bool).self) { group in
            var next = 0
            var keep = Array(repeating: false, count: vocabulary.count)
            func add() {
                let index = next
                next += 1
                group.addTask { (index, try await count(lead + " " + vocabulary[index]) - base == 1) }
            }
            for _ in 0..<min(calibrationConcurrency, vocabulary.count) { add() }
            while let (index, single) = try await group.next() {
                keep[index] = single
                if next < vocabulary.count { add() }
            }
            return vocabulary.indices.filter { keep[$0] }.map { vocabulary[$0] }
        }
    }

    /// Calibrates each prompt until the server's count is within ±1 of its target, with at most
    /// `maxCallsPerPrompt` requests per prompt; misses are counted, never hidden.
    static func calibrate(targets: [Int], synthesizer: Synthesizer, counter: TokenCounter,
                          progress: @escaping @Sendable (Int, Int) -> Void) async throws -> PromptPool {
        let started = Date()
        let calls = CallCounter()
        let single = try await singleTokenWords(counter: counter, calls: calls)
        let vocabularyCalls = calls.value
        var synthesizer = synthesizer
        // Tokens per word: 1 with the filtered vocabulary; measured over the whole vocabulary otherwise.
        var ratio = 1.0
        if single.count >= minSingleTokenWords {
            synthesizer.vocabulary = single
        } else {
            let sample = PromptSynthesizer.words(seed: synthesizer.seed, stream: .max - 1, count: 400)
            calls.add(2)
            let many = try await counter.count(.text(system: nil, user: sample))
            let one = try await counter.count(.text(system: nil, user: "the"))
            ratio = max(0.25, Double(many - one) / 399)
        }
        let prefix = synthesizer.prefix
        let prefixTokens = synthesizer.prefixTokens
        // The template's overhead, learned from the first prompt.
        let firstWords = max(1, targets[0] - prefixTokens)
        calls.add()
        let firstCount = try await counter.count(synthesizer.prompt(index: 0, words: firstWords, prefix: prefix))
        let overhead = Double(firstCount) - Double(firstWords + prefixTokens) * ratio
        let frozen = synthesizer
        let tokensPerWord = ratio
        let done = CallCounter()
        let results = try await withThrowingTaskGroup(of: (Int, PromptContent, Int).self) { group in
            var next = 0
            var collected: [(Int, PromptContent, Int)] = []
            collected.reserveCapacity(targets.count)
            func add() {
                let index = next
                next += 1
                group.addTask {
                    let target = targets[index]
                    var words = max(1, Int(((Double(target) - overhead) / tokensPerWord).rounded()) - prefixTokens)
                    var tried: [Int: Int] = [:]
                    var best: (words: Int, count: Int)?
                    for _ in 0..<maxCallsPerPrompt {
                        calls.add()
                        let count = try await counter.count(frozen.prompt(index: index, words: words, prefix: prefix))
                        tried[words] = count
                        if best == nil || abs(count - target) < abs(best!.count - target) { best = (words, count) }
                        // Aim for the exact count; ±1 is what counts as calibrated.
                        if count == target { break }
                        var step = Int((Double(target - count) / tokensPerWord).rounded())
                        if step == 0 { step = target > count ? 1 : -1 }
                        var candidate = max(1, words + step)
                        // Stepping back onto a tried length would loop: walk on by single words instead.
                        while tried[candidate] != nil && candidate != 1 { candidate += step > 0 ? 1 : -1 }
                        if tried[candidate] != nil { break }
                        words = candidate
                    }
                    let chosen = best!
                    return (index, frozen.prompt(index: index, words: chosen.words, prefix: prefix), chosen.count)
                }
            }
            for _ in 0..<min(calibrationConcurrency, targets.count) { add() }
            while let result = try await group.next() {
                collected.append(result)
                done.add()
                progress(done.value, targets.count)
                if next < targets.count { add() }
            }
            return collected.sorted { $0.0 < $1.0 }
        }
        let errors = results.map { $0.2 - targets[$0.0] }
        let misses = errors.filter { abs($0) > 1 }
        var summary = CalibrationSummary(mode: .calibrated, dialect: counter.dialect.rawValue, prompts: targets.count)
        summary.missed = misses.count
        summary.worstMiss = misses.max { abs($0) < abs($1) } ?? 0
        summary.meanAbsMiss = misses.isEmpty ? 0 : Double(misses.map(abs).reduce(0, +)) / Double(misses.count)
        summary.calls = calls.value
        summary.vocabularyCalls = vocabularyCalls
        summary.exact = errors.filter { $0 == 0 }.count
        summary.seconds = Date().timeIntervalSince(started)
        summary.singleTokenWords = single.count
        return PromptPool(prompts: results.map(\.1), requestedTokens: targets,
                          datasetMaxTokens: Array(repeating: nil, count: targets.count), calibration: summary)
    }
}
