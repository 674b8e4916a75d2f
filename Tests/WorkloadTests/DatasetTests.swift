import Foundation
import Testing
@testable import Workload

private func write(_ text: String, ext: String) throws -> String {
    let path = NSTemporaryDirectory() + "tpbench-dataset-\(UUID()).\(ext)"
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

@Test func jsonlPromptsAndMessages() throws {
    let path = try write("""
        {"prompt": "hello there", "max_tokens": 12}

        {"messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}]}
        """, ext: "jsonl")
    let entries = try Dataset.load(path: path)
    #expect(entries.count == 2)
    #expect(entries[0] == DatasetEntry(content: .text("hello there"), maxTokens: 12))
    #expect(entries[1].content == .messages([("system", "be brief"), ("user", "hi")]))
    #expect(entries[1].maxTokens == nil)
}

@Test func shareGPTUsesTheFirstHumanTurnAndTheReplyLength() throws {
    let path = try write("""
        [{"id": "a", "conversations": [{"from": "human", "value": "What is TP?"},
                                        {"from": "gpt", "value": "Tensor parallelism splits each layer across GPUs."}]},
         {"id": "b", "conversations": [{"from": "gpt", "value": "orphan reply"}]}]
        """, ext: "json")
    let entries = try Dataset.load(path: path)
    #expect(entries.count == 1)
    #expect(entries[0].content == .text("What is TP?"))
    #expect(entries[0].maxTokens == 7)
}

@Test func badDatasetsNameTheLine() throws {
    let path = try write("{\"prompt\": \"ok\"}\n{\"text\": \"no prompt\"}\n", ext: "jsonl")
    #expect {
        try Dataset.load(path: path)
    } throws: { error in
        "\(error)".contains("line 2") && "\(error)".contains("\"prompt\"")
    }
    #expect(throws: DatasetError.self) { try Dataset.load(path: "/nonexistent/prompts.jsonl") }
}
