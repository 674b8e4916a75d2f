/// The fields of one streamed chunk (or one non-streamed response) that measurement needs.
package struct StreamChunk: Sendable, Equatable {
    /// Generated answer text carried by this chunk (`delta.content` for chat, `text` for completions).
    package var content = ""
    /// Reasoning text (`delta.reasoning_content` or `delta.reasoning`), which counts as generated tokens too.
    package var reasoning = ""
    package var finishReason: String?
    package var promptTokens: Int?
    package var completionTokens: Int?
    /// `usage.prompt_tokens_details.cached_tokens`: prompt tokens the server's prefix cache held.
    package var cachedTokens: Int?
    /// `usage.completion_tokens_details.reasoning_tokens`: output tokens that were reasoning.
    package var reasoningTokens: Int?
    /// An in-band error (`{"error": {...}}` or `{"object": "error", ...}`).
    package var errorMessage: String?
    /// A `choices[].index` other than 0, in an answer to a request for one choice.
    package var otherChoiceIndex: Int?
    /// Set when decoding without text: a generated-text field was non-empty (its text was not kept).
    package var sawTokenText = false
    /// Set when decoding without text: an answer field (`content`, `text`) was non-empty.
    package var sawAnswerText = false
    /// Whether `content`/`reasoning` are filled; without text the scan only notes that text was there.
    private var keepText = true

    package init() {}

    /// Whether the chunk carries at least one generated token (role-only and usage-only chunks do not).
    package var carriesTokens: Bool { sawTokenText || !content.isEmpty || !reasoning.isEmpty }

    /// Whether the chunk carries answer text (not only reasoning).
    package var carriesAnswer: Bool { sawAnswerText || !content.isEmpty }

    /// Decodes a chunk of `/v1/chat/completions` or `/v1/completions` (streamed or whole) from JSON bytes.
    /// - Parameter keepText: false skips unescaping and copying generated text (the per-event hot path when
    ///   neither outputs nor a schema check need it); `carriesTokens` is the same either way.
    package static func decode(_ bytes: UnsafeRawBufferPointer, keepText: Bool = true) throws -> StreamChunk {
        var chunk = StreamChunk()
        chunk.keepText = keepText
        var scanner = JSONScanner(bytes)
        var isErrorObject = false
        var topLevelMessage: String?
        try scanner.forEachMember { s, key in
            if key.equals("choices") {
                try s.forEachElement { try chunk.readChoice(&$0) }
            } else if key.equals("usage") {
                try chunk.readUsage(&s)
            } else if key.equals("error") {
                chunk.errorMessage = try readError(&s)
            } else if key.equals("object") {
                isErrorObject = try s.readOptionalStringEquals("error")
            } else if key.equals("message") {
                topLevelMessage = try? s.readOptionalString()
                if topLevelMessage == nil { try s.skipValue() }
            } else {
                try s.skipValue()
            }
        }
        guard scanner.isAtEnd else { throw JSONScanner.Malformed(offset: scanner.position, reason: "trailing bytes") }
        if isErrorObject && chunk.errorMessage == nil { chunk.errorMessage = topLevelMessage ?? "error object" }
        return chunk
    }

    private mutating func readChoice(_ s: inout JSONScanner) throws {
        if try s.peek() != 0x7B { try s.skipValue(); return }
        try s.forEachMember { s, key in
            if key.equals("delta") || key.equals("message") {
                try self.readDelta(&s)
            } else if key.equals("text") {
                if try s.peek() == 0x22 { try self.readText(&s, into: \.content, answer: true) } else { try s.skipValue() }
            } else if key.equals("finish_reason") {
                if let reason = try s.readOptionalString() { self.finishReason = reason }
            } else if key.equals("index") {
                // tpbench asks for one choice (n = 1): any other index is a server answering something else.
                if let index = try s.readCount("choices[].index"), index != 0 { self.otherChoiceIndex = index }
            } else {
                try s.skipValue()
            }
        }
    }

    private mutating func readDelta(_ s: inout JSONScanner) throws {
        if try s.peek() != 0x7B { try s.skipValue(); return }
        try s.forEachMember { s, key in
            if key.equals("content") {
                if try s.peek() == 0x22 { try self.readText(&s, into: \.content, answer: true) } else { try s.skipValue() }
            } else if key.equals("reasoning_content") || key.equals("reasoning") {
                if try s.peek() == 0x22 { try self.readText(&s, into: \.reasoning, answer: false) } else { try s.skipValue() }
            } else {
                try s.skipValue()
            }
        }
    }

    private mutating func readText(_ s: inout JSONScanner, into field: WritableKeyPath<StreamChunk, String>,
                                   answer: Bool) throws {
        if keepText {
            self[keyPath: field] += try s.readString()
        } else if try s.readRawString().count > 0 {
            sawTokenText = true
            if answer { sawAnswerText = true }
        }
    }

    private mutating func readUsage(_ s: inout JSONScanner) throws {
        if try s.peek() != 0x7B { try s.skipValue(); return }
        try s.forEachMember { s, key in
            if key.equals("prompt_tokens") {
                self.promptTokens = try s.readCount("usage.prompt_tokens")
            } else if key.equals("completion_tokens") {
                self.completionTokens = try s.readCount("usage.completion_tokens")
            } else if key.equals("completion_tokens_details") {
                if try s.peek() != 0x7B { try s.skipValue(); return }
                try s.forEachMember { s, key in
                    if key.equals("reasoning_tokens") {
                        self.reasoningTokens = try s.readCount("usage.completion_tokens_details.reasoning_tokens")
                    } else {
                        try s.skipValue()
                    }
                }
            } else if key.equals("prompt_tokens_details") {
                if try s.peek() != 0x7B { try s.skipValue(); return }
                try s.forEachMember { s, key in
                    if key.equals("cached_tokens") {
                        self.cachedTokens = try s.readCount("usage.prompt_tokens_details.cached_tokens")
                    } else {
                        try s.skipValue()
                    }
                }
            } else {
                try s.skipValue()
            }
        }
    }

    private static func readError(_ s: inout JSONScanner) throws -> String {
        switch try s.peek() {
        case 0x22:
            return try s.readString()
        case 0x7B:
            var message = ""
            var code: String?
            try s.forEachMember { s, key in
                if key.equals("message") {
                    message = (try s.readOptionalString()) ?? ""
                } else if key.equals("code") {
                    if try s.peek() == 0x22 {
                        code = try s.readString()
                    } else if let n = try s.readOptionalInt() {
                        code = String(n)
                    }
                } else {
                    try s.skipValue()
                }
            }
            if message.isEmpty { message = "error event" }
            return code.map { "\(message) (code \($0))" } ?? message
        default:
            try s.skipValue()
            return "error event"
        }
    }
}

/// Extracts a human-readable message from an HTTP error body (OpenAI, vLLM, TGI and FastAPI shapes).
package func errorMessage(fromBody body: [UInt8]) -> String? {
    let text = String(decoding: body.prefix(2048), as: UTF8.self).trimmingCharacters()
    if text.isEmpty { return nil }
    let parsed: String? = body.withUnsafeBytes { raw in
        var scanner = JSONScanner(raw)
        var found: String?
        do {
            guard try scanner.peek() == 0x7B else { return nil }
            try scanner.forEachMember { s, key in
                if key.equals("error") {
                    let chunk = try StreamChunk.readErrorValue(&s)
                    found = found ?? chunk
                } else if key.equals("message") || key.equals("detail") {
                    if try s.peek() == 0x22 {
                        let value = try s.readString()
                        if found == nil { found = value }
                    } else {
                        try s.skipValue()
                    }
                } else {
                    try s.skipValue()
                }
            }
        } catch {
            return nil
        }
        return found
    }
    return parsed ?? String(text.prefix(300))
}

extension StreamChunk {
    fileprivate static func readErrorValue(_ s: inout JSONScanner) throws -> String { try readError(&s) }
}

extension String {
    func trimmingCharacters() -> String {
        var view = Substring(self)
        while let f = view.first, f.isWhitespace { view.removeFirst() }
        while let l = view.last, l.isWhitespace { view.removeLast() }
        return String(view)
    }
}
