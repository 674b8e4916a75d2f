import Curl
import Foundation
import JSONSchema
import Workload

/// The prompts of a run, built once before the load starts: synthetic prompts calibrated to exact token counts
/// against the server's `/tokenize` where it has one, or dataset entries.
public struct PromptPool: Sendable {
    public var prompts: [PromptContent]
    /// Token count each prompt was built for (nil for dataset prompts).
    public var requestedTokens: [Int?]
    /// Output length each dataset entry asks for (nil: use the workload's max_tokens).
    public var datasetMaxTokens: [Int?]
    /// How the lengths were obtained, for the report ("calibrated with /tokenize: 998 of 1000 exact").
    public var calibrationNote: String

    public var count: Int { prompts.count }
}

/// Builds synthetic prompts from a seeded stream of common short English words, each one token in current BPE
/// tokenizers (and in the mock's), so adding or removing a word moves the count by one.
public enum PromptSynthesizer {
    static let vocabulary: [String] = """
        the of and to in is was for on that with as by at from his her they this had not are but were which one all \
        have an be or their there when who will more no if out so said what up its about into than them can only \
        other new some time could these two may then do first any my now such like our over man me even most made \
        after also did many before must through back years where much your way well down should because each just \
        those people how too little state good very make world still own see men work long get here between both \
        life being under never day same another know while last might us great old year off come since against go \
        came right used take three small large house water city river music paper table light green blue red stone \
        field board point story
        """.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)

    /// The first `count` words of the word stream numbered `stream` under `seed`.
    public static func words(seed: UInt64, stream: UInt64, count: Int) -> String {
        var generator = SplitMix64(seed: seed &* 0x100_0000_01B3 &+ stream)
        var words: [String] = []
        words.reserveCapacity(max(0, count))
        for _ in 0..<max(0, count) {
            words.append(vocabulary[Int(generator.next() % UInt64(vocabulary.count))])
        }
        return words.joined(separator: " ")
    }
}

/// Builds the prompt pool for a workload.
public enum PromptBuilder {
    /// Most distinct prompts built for a run; request i uses prompt i modulo this.
    public static let maxPoolSize = 2000

    public static func build(spec: WorkloadSpec, model: String, poolSize: Int, base: String, engine: Engine?,
                             settings: RequestSettings) async throws -> PromptPool {
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
                              calibrationNote: "prompts from dataset \(dataset) (\(prompts.count) entries)")
        }
        var generator = SplitMix64(seed: spec.seed ^ 0x9E0_0D1E)
        let targets = (0..<max(1, poolSize)).map { _ in spec.prompt.tokens.sample(using: &generator) }
        let prefix = spec.prompt.prefixTokens > 0
            ? PromptSynthesizer.words(seed: spec.seed, stream: .max, count: spec.prompt.prefixTokens) : nil
        let seed = spec.seed
        let system = spec.prompt.system
        let content: @Sendable (Int, Int) -> PromptContent = { index, words in
            let unique = PromptSynthesizer.words(seed: seed, stream: UInt64(index), count: max(1, words))
            return .text(system: system, user: prefix.map { "\($0) \(unique)" } ?? unique)
        }
        let prefixCount = spec.prompt.prefixTokens
        if spec.prompt.calibrate, let engine,
           let calibrated = try await calibrate(targets: targets, prefixTokens: prefixCount, content: content,
                                                spec: spec, model: model, base: base, engine: engine,
                                                settings: settings) {
            return calibrated
        }
        // No /tokenize: one word per token, minus a typical chat-template overhead.
        let overhead = spec.api == .chat ? 8 : 0
        let prompts = targets.enumerated().map { content($0.offset, $0.element - prefixCount - overhead) }
        return PromptPool(prompts: prompts, requestedTokens: targets, datasetMaxTokens: Array(repeating: nil, count: prompts.count),
                          calibrationNote: "server has no /tokenize: prompt lengths estimated at one token per word")
    }

    /// Calibrates each prompt until the server's count is within ±1 of its target. Nil if /tokenize is unusable.
    static func calibrate(targets: [Int], prefixTokens: Int, content: @escaping @Sendable (Int, Int) -> PromptContent,
                          spec: WorkloadSpec, model: String, base: String, engine: Engine,
                          settings: RequestSettings) async throws -> PromptPool? {
        let tokenizer = Tokenizer(base: base, model: model, api: spec.api, engine: engine, settings: settings)
        // Learn the template overhead from the first prompt.
        guard let probe = try? await tokenizer.count(content(0, max(1, targets[0] - prefixTokens))) else { return nil }
        let overhead = probe - max(1, targets[0] - prefixTokens) - prefixTokens
        let results = try await withThrowingTaskGroup(of: (Int, PromptContent, Int).self) { group in
            var next = 0
            var collected: [(Int, PromptContent, Int)] = []
            func add() {
                let index = next
                next += 1
                group.addTask {
                    var words = max(1, targets[index] - prefixTokens - overhead)
                    var prompt = content(index, words)
                    var count = try await tokenizer.count(prompt)
                    for _ in 0..<6 where abs(count - targets[index]) > 1 {
                        words = max(1, words + (targets[index] - count))
                        prompt = content(index, words)
                        count = try await tokenizer.count(prompt)
                    }
                    return (index, prompt, count)
                }
            }
            for _ in 0..<min(64, targets.count) { add() }
            while let result = try await group.next() {
                collected.append(result)
                if next < targets.count { add() }
            }
            return collected.sorted { $0.0 < $1.0 }
        }
        let exact = results.filter { abs($0.2 - targets[$0.0]) <= 1 }.count
        return PromptPool(prompts: results.map(\.1), requestedTokens: targets,
                          datasetMaxTokens: Array(repeating: nil, count: targets.count),
                          calibrationNote: "calibrated with the server's /tokenize: \(exact) of \(targets.count) prompts "
                            + "within ±1 token of their target")
    }
}

/// Counts prompt tokens with the server's `/tokenize` (vLLM, SGLang, llama.cpp and the mock have one).
struct Tokenizer: Sendable {
    let base: String
    let model: String
    let api: WorkloadSpec.API
    let engine: Engine
    let settings: RequestSettings

    struct Unavailable: Error {}

    func count(_ prompt: PromptContent) async throws -> Int {
        var object = JSONObject([("model", .string(model))])
        switch api {
        case .chat: object["messages"] = prompt.messagesJSON
        case .completions: object["prompt"] = .string(prompt.promptText)
        }
        let request = TransferRequest(
            url: base + "/tokenize", method: "POST", body: Array(JSONValue.object(object).serialized().utf8),
            headers: ["Content-Type: application/json"] + settings.headers,
            timeouts: Timeouts(connectMs: 5000, firstTokenMs: nil, idleMs: 30_000, totalMs: 60_000),
            insecure: settings.insecure)
        let response = try await engine.fetch(request)
        guard response.status == 200, case .object(let answer)? = try? JSONValue.parse(bytes: response.body) else {
            throw Unavailable()
        }
        if case .number(let n)? = answer["count"] { return Int(n) }
        if case .array(let tokens)? = answer["tokens"] { return tokens.count }
        throw Unavailable()
    }
}
