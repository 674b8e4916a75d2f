import Curl
import Foundation
import Metrics
import NIOConcurrencyHelpers
import SeededRandom
import Workload

/// `--strict`: more than 1 % of the prompts missed their length, so the load would not be the one asked for.
package struct CalibrationMissed: Error, Sendable, CustomStringConvertible {
    package let summary: CalibrationSummary
    package var description: String {
        "--strict: \(summary.missed) of \(summary.prompts) prompts (" + String(format: "%.1f", summary.missFraction * 100)
            + " %) missed their token target by more than 1 (worst \(summary.worstMiss)); no load was sent. "
            + "Check the server's tokenizer endpoint, or run without --strict to send the prompts as they are"
    }
}

/// Builds the prompt pool for a workload.
package enum PromptBuilder {
    /// Token-counting requests in flight at once while calibrating.
    static let calibrationConcurrency = 32
    /// Most token-counting requests for one prompt (a prompt still off after these is reported as a miss).
    static let maxCallsPerPrompt = 8
    /// A filtered vocabulary smaller than this is too repetitive; calibration then steps over the whole one.
    static let minSingleTokenWords = 16

    package static func build(spec: WorkloadSpec, model: String, poolSize: Int, base: String, loop: MultiLoop?,
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
        var targets = spec.promptTargets(count: poolSize)
        var synthesizer = Synthesizer(seed: spec.seed, system: spec.prompt.system, prefixTokens: spec.prompt.prefixTokens,
                                      vocabulary: PromptSynthesizer.vocabulary)
        // A trace: one prompt per row, of the row's length, made of the row's prefix blocks.
        var outputs = [Int?](repeating: nil, count: targets.count)
        if let trace = spec.trace {
            let rows = trace.rows.prefix(max(1, poolSize))
            targets = rows.map(\.promptTokens)
            outputs = rows.map(\.outputTokens)
            synthesizer.blocks = rows.map(\.hashIDs)
            synthesizer.blockTokens = trace.blockTokens
        }
        var pool = try await synthesize(spec: spec, model: model, targets: targets, synthesizer: synthesizer, base: base,
                                        loop: loop, settings: settings, progress: progress)
        pool.datasetMaxTokens = outputs
        return pool
    }

    /// Synthetic prompts of the `targets` lengths: calibrated against the server's token counter when it has one,
    /// estimated otherwise.
    static func synthesize(spec: WorkloadSpec, model: String, targets: [Int], synthesizer: Synthesizer, base: String,
                           loop: MultiLoop?, settings: RequestSettings,
                           progress: @escaping @Sendable (Int, Int) -> Void) async throws -> PromptPool {
        var reason: String?
        if spec.prompt.calibrate, let loop {
            let (counter, reasons) = await TokenCounter.detect(base: base, model: model, api: spec.api,
                                                               loop: loop, settings: settings)
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
    /// A trace's prompt is instead its prefix blocks' words (block id h is the same `blockTokens` words in every
    /// prompt that names it), then words of its own stream if the row is longer than its blocks.
    struct Synthesizer: Sendable {
        let seed: UInt64
        let system: String?
        let prefixTokens: Int
        let vocabulary: [String]
        /// The shared prefix, built once (it is the same words for every prompt).
        let prefix: String?
        /// Per prompt: the `hash_ids` of its trace row (empty: no blocks).
        var blocks: [[Int]] = []
        var blockTokens = 512

        init(seed: UInt64, system: String?, prefixTokens: Int, vocabulary: [String]) {
            self.seed = seed
            self.system = system
            self.prefixTokens = prefixTokens
            self.vocabulary = vocabulary
            prefix = prefixTokens > 0
                ? PromptSynthesizer.words(seed: seed, stream: .max, count: prefixTokens, vocabulary: vocabulary) : nil
        }

        /// The same workload's prompts drawn from another word list.
        func with(vocabulary: [String]) -> Synthesizer {
            var synthesizer = Synthesizer(seed: seed, system: system, prefixTokens: prefixTokens, vocabulary: vocabulary)
            synthesizer.blocks = blocks
            synthesizer.blockTokens = blockTokens
            return synthesizer
        }

        /// The word stream of trace block `id` (disjoint from every prompt's own stream and the shared prefix's).
        static func blockStream(_ id: Int) -> UInt64 { 0x8000_0000_0000_0000 | UInt64(id) }

        func prompt(index: Int, words: Int) -> PromptContent {
            if index < blocks.count, !blocks[index].isEmpty {
                var parts: [String] = []
                var remaining = max(1, words)
                for id in blocks[index] where remaining > 0 {
                    let take = min(blockTokens, remaining)
                    parts.append(PromptSynthesizer.words(seed: seed, stream: Self.blockStream(id), count: take,
                                                         vocabulary: vocabulary))
                    remaining -= take
                }
                if remaining > 0 {
                    parts.append(PromptSynthesizer.words(seed: seed, stream: UInt64(index), count: remaining,
                                                         vocabulary: vocabulary))
                }
                return .text(system: system, user: parts.joined(separator: " "))
            }
            let unique = PromptSynthesizer.words(seed: seed, stream: UInt64(index), count: max(1, words),
                                                 vocabulary: vocabulary)
            return .text(system: system, user: prefix.map { "\($0) \(unique)" } ?? unique)
        }
    }

    /// `body(0..<count)` with at most `calibrationConcurrency` in flight, results in index order; `finished` is
    /// told how many are done after each one.
    static func concurrentMap<T: Sendable>(_ count: Int, finished: (Int) -> Void = { _ in },
                                           _ body: @escaping @Sendable (Int) async throws -> T) async throws -> [T] {
        try await withThrowingTaskGroup(of: (Int, T).self) { group in
            var next = 0
            var results = [T?](repeating: nil, count: count)
            var done = 0
            func add() {
                let index = next
                next += 1
                group.addTask { (index, try await body(index)) }
            }
            for _ in 0..<min(calibrationConcurrency, count) { add() }
            while let (index, result) = try await group.next() {
                results[index] = result
                done += 1
                finished(done)
                if next < count { add() }
            }
            return results.map { $0! }
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
        @Sendable func count(_ user: String) async throws -> Int {
            calls.add()
            return try await counter.count(.text(system: nil, user: user))
        }
        let lead = vocabulary[0]
        let base = try await count(lead)
        let all = try await count(([lead] + vocabulary).joined(separator: " "))
        if all - base == vocabulary.count { return vocabulary }
        let single = try await concurrentMap(vocabulary.count) { try await count(lead + " " + vocabulary[$0]) - base == 1 }
        return vocabulary.indices.filter { single[$0] }.map { vocabulary[$0] }
    }

    /// Calibrates each prompt toward the exact count (within ±1 counts as calibrated), with at most
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
            synthesizer = synthesizer.with(vocabulary: single)
        } else {
            let sample = PromptSynthesizer.words(seed: synthesizer.seed, stream: .max - 1, count: 400)
            calls.add(2)
            let many = try await counter.count(.text(system: nil, user: sample))
            let one = try await counter.count(.text(system: nil, user: PromptSynthesizer.vocabulary[0]))
            ratio = max(0.25, Double(many - one) / 399)
        }
        let prefixTokens = synthesizer.prefixTokens
        // The template's overhead, learned from the first prompt.
        let firstWords = max(1, targets[0] - prefixTokens)
        calls.add()
        let firstCount = try await counter.count(synthesizer.prompt(index: 0, words: firstWords))
        let overhead = Double(firstCount) - Double(firstWords + prefixTokens) * ratio
        let frozen = synthesizer
        let tokensPerWord = ratio
        let results = try await concurrentMap(targets.count, finished: { progress($0, targets.count) }) { index in
            let target = targets[index]
            var words = max(1, Int(((Double(target) - overhead) / tokensPerWord).rounded()) - prefixTokens)
            var tried: Set<Int> = []
            var best: (words: Int, count: Int)?
            for _ in 0..<maxCallsPerPrompt {
                calls.add()
                let count = try await counter.count(frozen.prompt(index: index, words: words))
                tried.insert(words)
                if best.map({ abs(count - target) < abs($0.count - target) }) ?? true { best = (words, count) }
                // Aim for the exact count; ±1 is what counts as calibrated.
                if count == target { break }
                var step = Int((Double(target - count) / tokensPerWord).rounded())
                if step == 0 { step = target > count ? 1 : -1 }
                var candidate = max(1, words + step)
                // Stepping back onto a tried length would loop: walk on by single words instead.
                while tried.contains(candidate) && candidate != 1 { candidate += step > 0 ? 1 : -1 }
                if tried.contains(candidate) { break }
                words = candidate
            }
            let chosen = best!  // the loop counts at least once
            return (frozen.prompt(index: index, words: chosen.words), chosen.count)
        }
        let errors = results.indices.map { results[$0].1 - targets[$0] }
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
        return PromptPool(prompts: results.map(\.0), requestedTokens: targets,
                          datasetMaxTokens: Array(repeating: nil, count: targets.count), calibration: summary,
                          words: single.count >= minSingleTokenWords ? single : nil)
    }
}
