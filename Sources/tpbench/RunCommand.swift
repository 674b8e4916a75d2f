import ArgumentParser
import Curl
import Foundation
import LoadGen
import Metrics
import Report

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a closed-loop streaming benchmark against an OpenAI-compatible server.",
        discussion: """
            Keeps --concurrency requests in flight until --requests have completed, timestamps every streamed \
            event on a monotonic clock, and prints TTFT, ITL, TPOT, E2E, throughput and failures.
            Example: tpbench run --url http://127.0.0.1:8000 --concurrency 100 --requests 1000 \
            --prompt-tokens 1000 --max-tokens 500
            """
    )

    @Option(help: "Base URL of the server, e.g. http://127.0.0.1:8000 (a trailing /v1 is accepted). Repeat or separate with commas for replicas of one deployment.")
    var url: [String] = []

    @Option(help: "Model id (default: the first id from GET /v1/models).")
    var model: String?

    @Option(help: "Endpoint: chat (/v1/chat/completions) or completions (/v1/completions).")
    var api: APIKind = .chat

    @Option(help: "Requests kept in flight (closed loop).")
    var concurrency: Int = 10

    @Option(help: "Total requests to send.")
    var requests: Int = 100

    @Option(help: "Synthetic prompt length in tokens (approximate).")
    var promptTokens: Int = 256

    @Option(help: "max_tokens of each request.")
    var maxTokens: Int = 128

    @Option(help: "JSON object merged into every request body, e.g. '{\"ignore_eos\": true}'.")
    var extraBody: String?

    @Option(help: "Seed for prompt synthesis.")
    var seed: UInt64 = 42

    @Option(help: "Number of client engine threads.")
    var engines: Int = 1

    @OptionGroup var connection: ConnectionOptions

    @Flag(help: "Print the summary as JSON instead of a table.")
    var json = false

    @Flag(help: "Exit with status 1 if any request failed.")
    var failOnError = false

    func validate() throws {
        guard !url.isEmpty else {
            throw ValidationError("--url is required, e.g. --url http://127.0.0.1:8000 "
                                  + "(start a mock with: tpbench mock --port 8000)")
        }
        for u in urls { do { try LoadGen.URLError.check(u) } catch { throw ValidationError("\(error)") } }
        guard concurrency >= 1 else { throw ValidationError("--concurrency must be at least 1, got \(concurrency)") }
        guard requests >= 1 else { throw ValidationError("--requests must be at least 1, got \(requests)") }
        guard promptTokens >= 1 else { throw ValidationError("--prompt-tokens must be at least 1, got \(promptTokens)") }
        guard maxTokens >= 1 else { throw ValidationError("--max-tokens must be at least 1, got \(maxTokens)") }
        guard (1...64).contains(engines) else { throw ValidationError("--engines must be 1...64, got \(engines)") }
        if let extraBody {
            do { _ = try RequestBodyBuilder.parseExtraBody(extraBody) } catch { throw ValidationError("\(error)") }
        }
        try connection.validate()
    }

    var urls: [String] { url.flatMap { $0.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) } } }

    func run() async throws {
        let extra = try extraBody.map(RequestBodyBuilder.parseExtraBody) ?? [:]
        let config = RunConfiguration(
            target: Target(name: "target", baseURLs: urls), model: model, concurrency: concurrency,
            requests: requests, promptTokens: promptTokens, maxTokens: maxTokens, extraBody: extra, seed: seed,
            engines: engines, settings: connection.settings(api: api))
        let output: RunOutput
        do {
            output = try await Benchmark.run(config)
        } catch {
            printError("\(error)")
            throw ExitCode(3)
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            let data = try encoder.encode(output.summary)
            print(String(decoding: data, as: UTF8.self))
        } else {
            print("model \(output.model), concurrency \(concurrency), \(requests) requests, "
                  + "~\(promptTokens) prompt tokens, max_tokens \(maxTokens)")
            print(SummaryTable.render(output.summary))
        }
        if failOnError && output.summary.failed > 0 { throw ExitCode(1) }
    }
}

/// Connection flags shared by every command that sends load.
struct ConnectionOptions: ParsableArguments {
    @Option(help: "Connect timeout in seconds.")
    var connectTimeout: Double = 10

    @Option(help: "Seconds allowed until the first generated token.")
    var firstTokenTimeout: Double = 300

    @Option(help: "Longest silence in seconds between received bytes of a response.")
    var idleTimeout: Double = 60

    @Option(help: "Total seconds allowed per request.")
    var totalTimeout: Double = 1800

    @Flag(help: "Use HTTP/2 (HTTP/1.1 by default).")
    var http2 = false

    @Flag(help: "Skip TLS certificate verification.")
    var insecure = false

    @Flag(help: "Open a new TCP connection for every request instead of reusing keep-alive connections.")
    var newConnectionPerRequest = false

    @Option(help: "Environment variable holding the API key sent as a bearer token (never printed or saved).")
    var apiKeyEnv: String = "OPENAI_API_KEY"

    @Flag(inversion: .prefixedNo, help: "Ask for per-chunk usage (vLLM's continuous_usage_stats) to measure ITL per token.")
    var continuousUsage = true

    func validate() throws {
        for (name, value) in [("--connect-timeout", connectTimeout), ("--first-token-timeout", firstTokenTimeout),
                              ("--idle-timeout", idleTimeout), ("--total-timeout", totalTimeout)]
        where !(value > 0) || !value.isFinite {
            throw ValidationError("\(name) must be a positive number of seconds, got \(value)")
        }
    }

    func settings(api: APIKind) -> RequestSettings {
        var headers: [String] = []
        if let key = ProcessInfo.processInfo.environment[apiKeyEnv], !key.isEmpty {
            headers.append("Authorization: Bearer \(key)")
        }
        return RequestSettings(
            api: api,
            timeouts: Timeouts(connectMs: connectTimeout * 1000, firstTokenMs: firstTokenTimeout * 1000,
                               idleMs: idleTimeout * 1000, totalMs: totalTimeout * 1000),
            httpVersion: http2 ? .http2 : .http1, insecure: insecure,
            freshConnectionPerRequest: newConnectionPerRequest, headers: headers, continuousUsage: continuousUsage)
    }
}

extension APIKind: ExpressibleByArgument {}

func printError(_ message: String) {
    FileHandle.standardError.write(Data("error: \(message)\n".utf8))
}
