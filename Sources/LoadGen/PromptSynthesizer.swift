/// Builds synthetic prompts from a seeded stream of common short English words, each about one token in the
/// BPE tokenizers of current models. Exact calibration against a server's `/tokenize` comes with workloads.
public struct PromptSynthesizer: Sendable {
    private var generator: SplitMix64

    public init(seed: UInt64) {
        generator = SplitMix64(seed: seed)
    }

    /// A prompt of about `tokens` tokens: an instruction followed by seeded filler words.
    public mutating func prompt(tokens: Int) -> String {
        let instruction = "Read the following text and summarise it."
        let fillerCount = max(0, tokens - 8)
        var words: [String] = []
        words.reserveCapacity(fillerCount)
        for _ in 0..<fillerCount {
            words.append(PromptSynthesizer.vocabulary[Int(generator.next() % UInt64(PromptSynthesizer.vocabulary.count))])
        }
        return instruction + " " + words.joined(separator: " ")
    }

    static let vocabulary: [String] = """
    the of and to in is was for on that with as by at from his her they this had not are but were which one all \
    have an be or their there when who will more no if out so said what up its about into than them can only other \
    new some time could these two may then do first any my now such like our over man me even most made after also \
    did many before must through back years where much your way well down should because each just those people how \
    too little state good very make world still own see men work long get here between both life being under never \
    day same another know while last might us great old year off come since against go came right used take three \
    small large house water city river music paper table light green blue red stone field board point story
    """.split(separator: " ").map(String.init)
}

/// A small, fast, seedable generator (Steele et al.'s SplitMix64) so a seed reproduces a run exactly.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
