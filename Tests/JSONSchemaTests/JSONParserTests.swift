import Foundation
import JSON
import Testing

struct JSONParserTests {
    @Test(arguments: [
        ("null", JSONValue.null),
        (" true ", .bool(true)),
        ("false", .bool(false)),
        ("0", .number(0)),
        ("-0", .number(-0.0)),
        ("-12", .number(-12)),
        ("1.5e3", .number(1500)),
        ("2E-2", .number(0.02)),
        ("9007199254740993", .number(9_007_199_254_740_992)),
        ("\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"", .string("a\"b\\c/d\u{8}\u{C}\n\r\t")),
        ("\"\\u00e9\\u0041\"", .string("\u{E9}A")),
        ("\"\\ud83d\\udca9\"", .string("\u{1F4A9}")),
        ("\"héllo 💩\"", .string("héllo 💩")),
        ("[1, [2], {}]", .array([.number(1), .array([.number(2)]), .object(JSONObject())])),
    ])
    func parsesValid(text: String, expected: JSONValue) throws {
        #expect(try JSONValue.parse(text) == expected)
        #expect(try JSONValue.parse(bytes: Array(text.utf8)) == expected)
    }

    /// Strings are written with exactly the escapes JSON needs (quote, backslash, control characters) and every
    /// other byte as it is, whatever sits around them; the text parses back to the same string.
    @Test(arguments: [
        ("", #""""#),
        ("plain", #""plain""#),
        ("a\"b\\c", #""a\"b\\c""#),
        ("\n\r\t\u{1}\u{1F}\u{7F}", "\"\\n\\r\\t\\u0001\\u001f\u{7F}\""),
        ("\"lead and trail\\", #""\"lead and trail\\""#),
        ("héllo \"💩\"\n", #""héllo \"💩\"\n""#),
        ("/ stays", #""/ stays""#),
    ])
    func writesStrings(value: String, expected: String) throws {
        var out = ""
        JSONValue.writeString(value, into: &out)
        #expect(out == expected)
        #expect(try JSONValue.parse(out) == .string(value))
    }

    @Test func writesALongPromptWithEveryEscapeInPlace() throws {
        // A prompt-sized string with an escape every few hundred bytes: runs copied whole must lose nothing.
        let piece = "Qwen3 thinks “carefully” about tensor parallelism\tand \"quotes\" \\ paths\n"
        let text = String(repeating: piece, count: 400)
        var out = ""
        JSONValue.writeString(text, into: &out)
        // Each quote, backslash, newline and tab gains one backslash; nothing else changes.
        let escapes = text.unicodeScalars.filter { "\"\\\n\t".unicodeScalars.contains($0) }.count
        #expect(out.unicodeScalars.count == text.unicodeScalars.count + escapes + 2)
        #expect(out.replacingOccurrences(of: "\\n", with: "").replacingOccurrences(of: "\\t", with: "")
            .replacingOccurrences(of: "\\\"", with: "").replacingOccurrences(of: "\\\\", with: "")
            == "\"" + String(repeating: "Qwen3 thinks “carefully” about tensor parallelismand quotes  paths", count: 400) + "\"")
        #expect(try JSONValue.parse(out) == .string(text))
    }

    @Test func keepsObjectKeyOrder() throws {
        guard case .object(let object) = try JSONValue.parse(#"{"z": 1, "a": 2, "m": {"y": null}}"#) else {
            Issue.record("not an object")
            return
        }
        #expect(object.keys == ["z", "a", "m"])
        #expect(object["a"] == .number(2))
    }

    @Test func integralNumbersAreIntegers() throws {
        #expect(try JSONValue.parse("3").isInteger)
        #expect(try JSONValue.parse("3.0").isInteger)
        #expect(try JSONValue.parse("1e2").isInteger)
        #expect(try !JSONValue.parse("3.5").isInteger)
    }

    /// (input, byte offset of the error, whether the input ran out mid-document)
    @Test(arguments: [
        ("", 0, true),
        ("{\"a\": 1} x", 9, false),
        ("[1, 2] [", 7, false),
        ("{\"a\": 1,}", 8, false),
        ("[1,]", 3, false),
        ("01", 1, false),
        ("1.", 2, true),
        ("1.e5", 2, false),
        ("-", 1, true),
        ("+1", 0, false),
        (".5", 0, false),
        ("tru", 3, true),
        ("trux", 0, false),
        ("nul", 3, true),
        ("\"abc", 4, true),
        ("\"a\tb\"", 2, false),
        ("\"\\x\"", 2, false),
        ("\"\\u12g4\"", 5, false),
        ("\"\\ud83d\"", 1, false),
        ("\"\\udca9\"", 1, false),
        ("\"\\ud83d\\u0041\"", 1, false),
        ("{\"a\" 1}", 5, false),
        ("{a: 1}", 1, false),
        ("{\"a\": 1, \"a\": 2}", 9, false),
        ("{\"name\": \"Ada\", \"tags\": [\"x\", ", 30, true),
        ("[NaN]", 1, false),
        ("1e400", 0, false),
    ])
    func rejectsInvalid(text: String, offset: Int, reachedEnd: Bool) {
        #expect {
            try JSONValue.parse(text)
        } throws: { error in
            guard let error = error as? JSONParseError else { return false }
            return error.offset == offset && error.reachedEndOfInput == reachedEnd
        }
    }

    @Test func rejectsInvalidUTF8() {
        #expect(throws: JSONParseError.self) { try JSONValue.parse(bytes: [0x22, 0xFF, 0x22]) }
    }

    @Test func rejectsExcessiveNesting() {
        let deep = String(repeating: "[", count: 600) + String(repeating: "]", count: 600)
        #expect(throws: JSONParseError.self) { try JSONValue.parse(deep) }
    }

    @Test func errorDescriptionNamesTheOffset() {
        #expect {
            try JSONValue.parse("[1 2]")
        } throws: { error in
            String(describing: error) == "unexpected '2', expected ',' or ']' at byte 3"
        }
    }

    @Test func codableRoundTrip() throws {
        let value = try JSONValue.parse(#"{"a": [1, 2.5, "x", null, true], "b": {"c": false}}"#)
        let encoded = try JSONEncoderShim.encode(value)
        #expect(try JSONValue.parse(encoded) == value)
    }
}

enum JSONEncoderShim {
    static func encode(_ value: JSONValue) throws -> String {
        String(decoding: try JSONEncoder().encode(value), as: UTF8.self)
    }
}
