import JSONSchema
import Testing

struct StructuredOutputTests {
    static let schema = try! JSONSchema(
        text: #"""
            {"type": "object", "required": ["city", "temperature"], "additionalProperties": false,
             "properties": {"city": {"type": "string"}, "temperature": {"type": "number"},
                            "tags": {"type": "array", "items": {"enum": ["sunny", "rainy"]}}}}
            """#)

    @Test(arguments: [
        (#"{"city": "Oslo", "temperature": -3.5}"#, "stop" as String?, StructuredOutputVerdict.valid),
        ("  {\"city\": \"Oslo\", \"temperature\": 1}\n", "stop", .valid),
        (#"{"city": "Oslo", "temperature": -3.5}"#, "length", .valid),
        (#"{"city": "Oslo", "temp"#, "length", .truncated),
        (#"{"city": "Oslo", "temp"#, nil, .truncated),
        (
            #"{"city": "Oslo", "tags": ["sunny", "windy"], "temperature": 2}"#, "stop",
            .schemaViolation(pointer: "/tags/1", keyword: "enum", message: "value is not one of the 2 allowed by enum")
        ),
        (
            #"{"city": "Oslo"}"#, "stop",
            .schemaViolation(pointer: "", keyword: "required", message: "missing required property \"temperature\"")
        ),
    ])
    func classifies(output: String, finishReason: String?, expected: StructuredOutputVerdict) {
        #expect(Self.schema.check(output: output, finishReason: finishReason) == expected)
    }

    @Test(arguments: [
        ("```json\n{\"city\": \"Oslo\", \"temperature\": 1}\n```", "stop" as String?),
        (#"{"city": "Oslo", "temperature": 1} trailing"#, "stop"),
        (#"{"city": "Oslo", "temp"#, "stop"),  // ended mid-document but the server says it stopped normally
        ("Sure! Here is the JSON", nil),
        ("", "stop"),
    ])
    func notJSON(output: String, finishReason: String?) {
        guard case .notJSON(let message) = Self.schema.check(output: output, finishReason: finishReason) else {
            Issue.record("expected notJSON for \(output)")
            return
        }
        #expect(message.contains("at byte"))
    }

    @Test func lengthCutMalformedOutputIsTruncated() {
        // At max_tokens any unparseable text counts as truncation, even if the cut left it malformed-looking.
        #expect(Self.schema.check(output: #"{"city": "Os"#, finishReason: "length") == .truncated)
    }
}
