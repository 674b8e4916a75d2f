import Testing
@testable import OpenAI

/// Parses a whole byte stream split into the given pieces; returns each event's data as a string.
private func parse(_ pieces: [[UInt8]]) throws -> [String] {
    var parser = SSEParser()
    var events: [String] = []
    for piece in pieces {
        try piece.withUnsafeBytes { raw in
            try parser.feed(raw) { events.append(String(decoding: $0, as: UTF8.self)) }
        }
    }
    return events
}

/// A stream exercising the SSE spec: all three line ends, comments, multi-line data, field without space,
/// an ignored field, multi-byte UTF-8 and an event that ends at the very last byte. Parsed whole, most events take
/// the parser's no-copy path (a one-line event and its blank line in one buffer); split, they take the copying one.
private let sample: [UInt8] = Array((
    ": ping\n"
    + "data: {\"choices\":[{\"delta\":{\"content\":\"héllo 世界 🙂\"}}]}\n\n"
    + "event: message\r\ndata:first line\r\ndata: second line\r\n\r\n"
    + "id: 7\rdata: carriage\r\r"
    + "data\n\n"
    + "retry: 10\n: comment only\n\n"
    + "data: crlf\r\n\r\ndata: two\n\n"
    + "data: [DONE]\n\n"
).utf8)

private let expected = [
    "{\"choices\":[{\"delta\":{\"content\":\"héllo 世界 🙂\"}}]}",
    "first line\nsecond line",
    "carriage",
    "",
    "crlf",
    "two",
    "[DONE]",
]

@Test func parsesWholeStream() throws {
    #expect(try parse([sample]) == expected)
}

@Test func identicalEventsAtEveryTwoWaySplit() throws {
    for cut in 0...sample.count {
        let events = try parse([Array(sample[..<cut]), Array(sample[cut...])])
        #expect(events == expected, "split at byte \(cut)")
    }
}

@Test func identicalEventsAtEveryByte() throws {
    #expect(try parse(sample.map { [$0] }) == expected)
}

@Test(arguments: 1...200)
func identicalEventsAtRandomSplits(seed: Int) throws {
    var state = UInt64(seed) &* 0x9E37_79B9_7F4A_7C15
    func next() -> Int {
        state ^= state << 13; state ^= state >> 7; state ^= state << 17
        return Int(state % 9)
    }
    var pieces: [[UInt8]] = []
    var index = 0
    while index < sample.count {
        let length = min(sample.count - index, next())
        pieces.append(Array(sample[index..<(index + length)]))
        index += length
    }
    #expect(try parse(pieces) == expected)
}

@Test func eventLargerThanLimitFails() throws {
    var parser = SSEParser(maxEventBytes: 64)
    let big = Array(("data: " + String(repeating: "x", count: 100) + "\n\n").utf8)
    #expect(throws: SSEParser.Failure.eventTooLarge(limit: 64)) {
        try big.withUnsafeBytes { try parser.feed($0) { _ in } }
    }
}

@Test func unterminatedEventIsReportedAtFinish() throws {
    var parser = SSEParser()
    var count = 0
    try Array("data: {\"a\":1}\n\ndata: partial".utf8).withUnsafeBytes { try parser.feed($0) { _ in count += 1 } }
    #expect(count == 1)
    let hadPending = parser.finish()
    #expect(hadPending)
}
