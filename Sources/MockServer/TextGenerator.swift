import LatencyModel
import SeededRandom

/// Seeded synthetic output: pronounceable words, one token each, with some punctuation.
struct TextGenerator {
    var rng: SplitMix64
    private var emitted = 0
    private var sinceComma = 0

    init(rng: SplitMix64) {
        self.rng = rng
    }

    /// The next token piece; pieces concatenate into prose and each is exactly one `MockTokenizer` token.
    mutating func next() -> String {
        defer { emitted += 1 }
        if emitted > 0 && sinceComma >= 6 && rng.nextUnit() < 0.12 {
            sinceComma = 0
            return rng.nextUnit() < 0.6 ? "," : "."
        }
        // Squaring the uniform draw skews toward short, frequent words as in natural text.
        let u = rng.nextUnit()
        let k = min(Int(u * u * Double(MockTokenizer.commonWordCount)), MockTokenizer.commonWordCount - 1)
        sinceComma += 1
        return emitted == 0 ? Self.words[k] : Self.spacedWords[k]
    }

    /// Built once: making each word from syllables per token showed up in the emission profile.
    private static let words = (0..<MockTokenizer.commonWordCount).map(MockTokenizer.word)
    private static let spacedWords = words.map { " " + $0 }

    mutating func pieces(count: Int) -> [String] {
        (0..<count).map { _ in next() }
    }
}
