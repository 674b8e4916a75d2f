import SeededRandom

/// The seeded draws that make a workload's requests: shared by the client (which sends them) and `tpbench plan`
/// (which simulates them), so a prediction is of the requests a run sends.
extension WorkloadSpec {
    /// Most distinct synthetic prompts a run builds; request i uses prompt i modulo the pool's size.
    package static let maxPromptPoolSize = 2000

    /// How many prompts a run builds for a plan of at most `maxRequests`: one per trace row, or one per synthetic
    /// request (or session turn) up to `maxPromptPoolSize`.
    package func promptPoolSize(maxRequests: Int?) -> Int {
        if trace != nil { return maxRequests ?? 1 }
        let turns = sessions?.count.map { $0 * max(1, sessions!.turns.upperBound) }
        return min(Self.maxPromptPoolSize, maxRequests ?? turns ?? Self.maxPromptPoolSize)
    }

    /// The target lengths of the synthetic prompt pool's `count` prompts, seeded.
    package func promptTargets(count: Int) -> [Int] {
        var generator = SplitMix64(seed: seed ^ 0x9E0_0D1E)
        return (0..<max(1, count)).map { _ in prompt.tokens.sample(using: &generator) }
    }

    /// Request `index`'s `max_tokens`, seeded by the index alone, so every shard draws the same for it.
    package func maxTokens(ofRequest index: Int) -> Int {
        var generator = SplitMix64(seed: seed &+ 0x7_0000 &+ UInt64(index))
        return output.maxTokens.sample(using: &generator)
    }
}
