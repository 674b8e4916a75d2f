import Foundation
import LatencyModel
import MockServer
import Testing

func jsonObject(_ text: String) -> [String: Any]? {
    (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any]
}

/// Fast timing for functional tests: fixed 5 ms TTFT and 1 ms ITL.
func fast(_ c: inout MockConfiguration) {
    c.fixedLatency = .init(timeToFirstTokenMs: 5, interTokenLatencyMs: 1)
}

@Suite struct EndpointTests {
    @Test func streamedChatHasRoleChunkContentUsageAndDone() async throws {
        try await withMock(fast) { server in
            let r = try await MiniClient.request(port: server.ports[0], path: "/v1/chat/completions", body: chatBody())
            #expect(r.status == 200)
            #expect(r.header("content-type")?.hasPrefix("text/event-stream") == true)
            let events = r.dataEvents
            #expect(events.count == 8)  // role, 5 tokens, usage, [DONE]
            #expect(events.first?.contains("\"delta\":{\"role\":\"assistant\",\"content\":\"\"}") == true)
            #expect(events.last == "[DONE]")
            let usage = jsonObject(events[events.count - 2])
            #expect((usage?["choices"] as? [Any])?.isEmpty == true)
            let counts = usage?["usage"] as? [String: Int]
            #expect(counts?["completion_tokens"] == 5)
            // "hello there" is 2 tokens; the template adds 3 + 5.
            #expect(counts?["prompt_tokens"] == 10)
            #expect(events[5].contains("\"finish_reason\":\"length\""))
            for event in events.dropLast() { #expect(jsonObject(event) != nil) }
        }
    }

    @Test func continuousUsageStatsOnEveryChunk() async throws {
        try await withMock(fast) { server in
            let body = chatBody(maxTokens: 4).replacingOccurrences(
                of: "\"include_usage\":true", with: "\"include_usage\":true,\"continuous_usage_stats\":true")
            let r = try await MiniClient.request(port: server.ports[0], path: "/v1/chat/completions", body: body)
            let content = r.dataEvents.dropFirst().prefix(4)
            for (i, event) in content.enumerated() {
                let usage = jsonObject(event)?["usage"] as? [String: Int]
                #expect(usage?["completion_tokens"] == i + 1)
            }
        }
    }

    @Test func nonStreamingCompletionReportsUsage() async throws {
        try await withMock(fast) { server in
            let body = "{\"model\":\"qwen3-30b-a3b\",\"prompt\":\"one two three four\",\"max_tokens\":7}"
            let r = try await MiniClient.request(port: server.ports[0], path: "/v1/completions", body: body)
            #expect(r.status == 200)
            let json = jsonObject(r.body)
            #expect(json?["object"] as? String == "text_completion")
            let usage = json?["usage"] as? [String: Int]
            #expect(usage == ["prompt_tokens": 4, "completion_tokens": 7, "total_tokens": 11])
            let text = ((json?["choices"] as? [[String: Any]])?.first?["text"] as? String) ?? ""
            #expect(MockTokenizer().count(text) == 7)
        }
    }

    @Test func modelsHealthVersionAndMetrics() async throws {
        try await withMock(fast) { server in
            let port = server.ports[0]
            let models = try await MiniClient.request(port: port, method: .GET, path: "/v1/models")
            let ids = (jsonObject(models.body)?["data"] as? [[String: Any]])?.compactMap { $0["id"] as? String }
            #expect(ids == ["Qwen/Qwen3-30B-A3B-Instruct-2507", "qwen3-30b-a3b"])
            #expect(try await MiniClient.request(port: port, method: .GET, path: "/health").status == 200)
            _ = try await MiniClient.request(port: port, path: "/v1/chat/completions", body: chatBody())
            let metrics = try await MiniClient.request(port: port, method: .GET, path: "/metrics").body
            for name in [
                "vllm:num_requests_running", "vllm:num_requests_waiting", "vllm:kv_cache_usage_perc",
                "vllm:num_preemptions_total", "vllm:prompt_tokens_total", "vllm:generation_tokens_total",
                "vllm:request_success_total", "vllm:time_to_first_token_seconds", "vllm:inter_token_latency_seconds",
                "vllm:e2e_request_latency_seconds", "vllm:request_queue_time_seconds", "vllm:iteration_tokens_total",
                "tpbench_mock_emission_lateness_seconds",
            ] {
                #expect(metrics.contains("\(name)"), "missing \(name)")
            }
            #expect(metrics.contains("vllm:generation_tokens_total{model_name=\"Qwen/Qwen3-30B-A3B-Instruct-2507\"} 5"))
        }
    }

    @Test func badRequestsGetDocumentedErrors() async throws {
        try await withMock(fast) { server in
            let port = server.ports[0]
            func check(_ body: String, _ status: Int, _ type: String, path: String = "/v1/chat/completions") async throws {
                let r = try await MiniClient.request(port: port, path: path, body: body)
                #expect(r.status == status, "\(body)")
                let error = jsonObject(r.body)?["error"] as? [String: Any]
                #expect(error?["type"] as? String == type)
                #expect(error?["code"] as? Int == status)
                #expect(error?["message"] is String)
                #expect(error?.keys.contains("param") == true)
            }
            try await check("{not json", 400, "BadRequestError")
            try await check("{\"model\":\"qwen3-30b-a3b\"}", 400, "BadRequestError")
            try await check("{\"model\":\"gpt-9\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", 404,
                "NotFoundError")
            try await check(chatBody(maxTokens: 10_000_000), 400, "BadRequestError")
            try await check(chatBody(maxTokens: 0), 400, "BadRequestError")
            try await check("{\"prompt\":[1,\"a\"]}", 400, "BadRequestError", path: "/v1/completions")
            try await check("{}", 404, "NotFoundError", path: "/v1/nothing")
            let health = try await MiniClient.request(port: port, method: .GET, path: "/health")
            #expect(health.status == 200)
        }
    }

    @Test func stopStringsMinTokensAndSeed() async throws {
        try await withMock(
            { c in
                fast(&c)
                c.outputLength = .init(mean: 3, standardDeviation: 0)
            }
        ) { server in
            let port = server.ports[0]
            let seeded = chatBody(maxTokens: 20, extra: ",\"seed\":7")
            let a = try await MiniClient.request(port: port, path: "/v1/chat/completions", body: seeded)
            let b = try await MiniClient.request(port: port, path: "/v1/chat/completions", body: seeded)
            #expect(streamedText(a) == streamedText(b))
            // Without ignore_eos the model stops after ~3 tokens; min_tokens overrides that.
            #expect(MockTokenizer().count(streamedText(a)) == 3)
            #expect(a.dataEvents.contains { $0.contains("\"finish_reason\":\"stop\"") })
            let long = try await MiniClient.request(
                port: port, path: "/v1/chat/completions", body: chatBody(maxTokens: 20, extra: ",\"min_tokens\":9"))
            #expect(MockTokenizer().count(streamedText(long)) == 9)
            let eos = try await MiniClient.request(
                port: port, path: "/v1/chat/completions", body: chatBody(maxTokens: 20, extra: ",\"ignore_eos\":true,\"seed\":11"))
            #expect(MockTokenizer().count(streamedText(eos)) == 20)
            // A stop string cuts the text before it.
            let full = streamedText(eos)
            let word = String(full.split(separator: " ")[3])
            let stopped = try await MiniClient.request(
                port: port, path: "/v1/chat/completions",
                body: chatBody(maxTokens: 20, extra: ",\"ignore_eos\":true,\"seed\":11,\"stop\":[\" \(word)\"]"))
            let text = streamedText(stopped)
            #expect(!text.contains(" \(word)"))
            #expect(stopped.dataEvents.contains { $0.contains("\"stop_reason\":\" \(word)\"") })
        }
    }

    @Test func tokenizeAndDetokenizeRoundTrip() async throws {
        try await withMock(fast) { server in
            let port = server.ports[0]
            let prompt = (0..<50).map { MockTokenizer.word($0 * 37) }.joined(separator: " ")
            let r = try await MiniClient.request(port: port, path: "/tokenize", body: "{\"prompt\":\"\(prompt)\"}")
            let json = jsonObject(r.body)
            #expect(json?["count"] as? Int == 50)
            let tokens = json?["tokens"] as? [Int] ?? []
            let back = try await MiniClient.request(
                port: port, path: "/detokenize", body: "{\"tokens\":[\(tokens.map(String.init).joined(separator: ","))]}")
            #expect(jsonObject(back.body)?["prompt"] as? String == prompt)
            // The chat template count /tokenize reports is what usage bills.
            let chat = try await MiniClient.request(
                port: port, path: "/tokenize", body: "{\"messages\":[{\"role\":\"user\",\"content\":\"hello there\"}]}")
            #expect(jsonObject(chat.body)?["count"] as? Int == 10)
        }
    }
}
