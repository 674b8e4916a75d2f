/// A deterministic tokenizer: roughly one token per short word, so clients can size prompts exactly.
///
/// Rules, applied left to right over Unicode scalars:
/// - a space followed by a letter or digit joins the run of letters/digits after it (" hello" is one token);
/// - a run of ASCII letters/digits is one token per 8 characters ("internationalisation" is 3 tokens);
/// - every other scalar (punctuation, newline, a space not before a word, non-ASCII) is one token.
/// So N words joined by single spaces, each of at most 8 letters, are exactly N tokens.
///
/// Ids: 0–255 are single characters; words made of the synthetic syllables the mock generates map to their
/// index (ids decode back to the same text); other words hash into the same range (decoding them gives a
/// synthetic word: lossy, as documented). The top of the vocabulary holds the chat template's special tokens.
package struct MockTokenizer: Sendable {
    package let vocabularySize: Int
    static let maxWordPiece = 8
    private static let consonants = Array("bdfghklmnprstvwz".unicodeScalars)
    private static let vowels = Array("aeio".unicodeScalars)
    /// Words of one and two syllables: what generated text is made of.
    static let commonWordCount = 64 + 64 * 64

    package init(vocabularySize: Int = 151_936) {
        self.vocabularySize = max(vocabularySize, 4096)
    }

    var imStartID: Int { vocabularySize - 1 }
    var imEndID: Int { vocabularySize - 2 }
    var otherScalarID: Int { vocabularySize - 3 }
    /// Word slots; each word has a with-space and a without-space id.
    var wordSlots: Int { (vocabularySize - 256 - 8) / 2 }

    /// The synthetic word with index `k`: syllables of consonant + vowel, written base 64.
    package static func word(_ k: Int) -> String {
        var syllables: [Int] = []
        var rest = k
        if rest < 64 {
            syllables = [rest]
        } else if rest < 64 + 4096 {
            rest -= 64
            syllables = [rest / 64, rest % 64]
        } else {
            rest -= 64 + 4096
            syllables = [(rest / 4096) % 64, (rest / 64) % 64, rest % 64]
        }
        var s = String.UnicodeScalarView()
        for syllable in syllables {
            s.append(consonants[syllable / 4])
            s.append(vowels[syllable % 4])
        }
        return String(s)
    }

    static func syllableIndex(of word: Substring) -> Int? {
        let scalars = Array(word.unicodeScalars)
        guard scalars.count % 2 == 0, (2...6).contains(scalars.count) else { return nil }
        var digits: [Int] = []
        for i in stride(from: 0, to: scalars.count, by: 2) {
            guard let c = consonants.firstIndex(of: scalars[i]), let v = vowels.firstIndex(of: scalars[i + 1]) else {
                return nil
            }
            digits.append(c * 4 + v)
        }
        switch digits.count {
        case 1: return digits[0]
        case 2: return 64 + digits[0] * 64 + digits[1]
        default: return 64 + 4096 + digits[0] * 4096 + digits[1] * 64 + digits[2]
        }
    }

    private static func isWordScalar(_ s: Unicode.Scalar) -> Bool {
        (s >= "a" && s <= "z") || (s >= "A" && s <= "Z") || (s >= "0" && s <= "9")
    }

    /// The token pieces of `text`, concatenating back to `text`.
    package func pieces(_ text: String) -> [Substring] {
        var result: [Substring] = []
        let scalars = text.unicodeScalars
        var i = scalars.startIndex
        while i < scalars.endIndex {
            let start = i
            var c = scalars[i]
            var letters = 0
            if c == " " {
                let next = scalars.index(after: i)
                if next < scalars.endIndex, Self.isWordScalar(scalars[next]) {
                    i = next
                    c = scalars[i]
                } else {
                    result.append(Substring(scalars[start..<next]))
                    i = next
                    continue
                }
            }
            if Self.isWordScalar(c) {
                while i < scalars.endIndex, Self.isWordScalar(scalars[i]), letters < Self.maxWordPiece {
                    i = scalars.index(after: i)
                    letters += 1
                }
            } else {
                i = scalars.index(after: i)
            }
            result.append(Substring(scalars[start..<i]))
        }
        return result
    }

    package func count(_ text: String) -> Int { pieces(text).count }

    package func ids(_ text: String) -> [Int] { pieces(text).map(id(of:)) }

    func id(of piece: Substring) -> Int {
        let scalars = piece.unicodeScalars
        let first = scalars.first!
        if scalars.count == 1 && !Self.isWordScalar(first) {
            return first.value < 256 ? Int(first.value) : otherScalarID
        }
        let hasSpace = first == " "
        let word = hasSpace ? Substring(scalars.dropFirst()) : piece
        var slot: Int
        if let k = Self.syllableIndex(of: word), k < wordSlots {
            slot = k
        } else {
            // FNV-1a, so the same word always gets the same id in every process.
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325
            for byte in word.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
            slot = Int(hash % UInt64(wordSlots))
        }
        return 256 + 2 * slot + (hasSpace ? 1 : 0)
    }

    /// Text for ids; words outside the synthetic vocabulary come back as synthetic words.
    package func text(_ ids: [Int]) -> String {
        var out = ""
        for id in ids {
            switch id {
            case imStartID: out += "<|im_start|>"
            case imEndID: out += "<|im_end|>"
            case otherScalarID: out += "\u{FFFD}"
            case 0..<256: out.unicodeScalars.append(Unicode.Scalar(UInt8(id)))
            case 256..<(256 + 2 * wordSlots):
                let slot = (id - 256) / 2
                if (id - 256) % 2 == 1 { out += " " }
                out += Self.word(slot)
            default: out += "\u{FFFD}"
            }
        }
        return out
    }

    /// A chat message: role and text content.
    package struct ChatMessage: Sendable {
        package var role: String
        package var content: String
        package init(role: String, content: String) {
            self.role = role
            self.content = content
        }
    }

    /// Token ids of the ChatML-style template the mock bills prompts by:
    /// `<|im_start|>{role}\n{content}<|im_end|>\n` per message, then `<|im_start|>assistant\n`.
    /// The role is one token and the specials are one token each, so a prompt costs
    /// 3 + Σ (5 + tokens(content)).
    package func chatTemplateIDs(_ messages: [ChatMessage]) -> [Int] {
        var ids: [Int] = []
        for message in messages {
            ids.append(imStartID)
            ids.append(id(of: Substring(message.role.isEmpty ? "user" : message.role)))
            ids.append(10)
            ids.append(contentsOf: self.ids(message.content))
            ids.append(imEndID)
            ids.append(10)
        }
        ids.append(imStartID)
        ids.append(id(of: "assistant"))
        ids.append(10)
        return ids
    }

    package func chatPromptTokens(_ messages: [ChatMessage]) -> Int {
        3 + messages.reduce(0) { $0 + 5 + count($1.content) }
    }
}
