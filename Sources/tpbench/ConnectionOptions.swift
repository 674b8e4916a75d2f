import ArgumentParser
import Curl
import Foundation
import LoadGen
import Workload

/// Connection flags shared by every command that sends load.
struct ConnectionOptions: ParsableArguments {
    /// Here rather than with the workload's overrides: it names a model on the server, and `plan`, which has no
    /// server, takes `--model` for its model preset.
    @Option(help: "Model id (default: the workload's, else the first id from GET /v1/models).")
    var model: String?

    @Option(help: "Connect timeout in seconds (default 10).")
    var connectTimeout: Double?

    @Option(help: "Seconds allowed until the first generated token (default 300).")
    var firstTokenTimeout: Double?

    @Option(help: "Longest silence in seconds between received bytes of a response (default 60).")
    var idleTimeout: Double?

    @Option(help: "Total seconds allowed per request (default 1800).")
    var totalTimeout: Double?

    @Flag(help: "Use HTTP/2 (HTTP/1.1 by default).")
    var http2 = false

    @Flag(help: "Skip TLS certificate verification.")
    var insecure = false

    @Flag(help: "Open a new TCP connection for every request instead of reusing keep-alive connections.")
    var newConnectionPerRequest = false

    @Option(help: "Environment variable holding the API key sent as a bearer token (never printed or saved).")
    var apiKeyEnv: String = "OPENAI_API_KEY"

    @Option(help: "API key on the command line (lands in shell history; prefer --api-key-env).")
    var apiKey: String?

    @Option(help: "File whose first line is the API key.")
    var apiKeyFile: String?

    @Flag(help: "Keep generated texts in requests.jsonl (they may be sensitive; off by default).")
    var saveOutputs = false

    @Flag(inversion: .prefixedNo, help: "Ask for per-chunk usage (vLLM's continuous_usage_stats) to measure ITL per token.")
    var continuousUsage = true

    @Option(help: "Most new connections opened per second (paces a large concurrency's start; keep-alive reuse is free).")
    var connectRate: Double = 2000

    @Option(help: ArgumentHelp("How requests are spread over replicas: least-outstanding, round-robin, or session "
                               + "(sticky: a session's turns, or a trace's session ids, stay on one replica)."))
    var routing: RequestSettings.Routing = .leastOutstanding

    @Option(help: """
        Where a token's receive time comes from: kernel (the kernel's receive time of the packet, so time the data \
        waited for the client's loop is not in the figures) or wake (when the client's loop woke for it).
        """)
    var receiveTime: ReceiveTimeSource = .kernel

    @Flag(help: """
        Run the client's loop and scheduler threads at real-time priority (SCHED_FIFO; root or CAP_SYS_NICE), \
        so a server sharing this machine's cores cannot delay sends and receive stamps in the run queue.
        """)
    var realtime = false

    func validate() throws {
        try checkRange { try Limits.check("--connect-rate", connectRate, in: Limits.connectRate, unit: " connections/s") }
        if apiKey != nil && apiKeyFile != nil { throw ValidationError("give --api-key or --api-key-file, not both") }
        if apiKeyFile != nil { _ = try resolvedAPIKey() }
        for (name, value) in [("--connect-timeout", connectTimeout), ("--first-token-timeout", firstTokenTimeout),
                              ("--idle-timeout", idleTimeout), ("--total-timeout", totalTimeout)] {
            try checkRange { try Limits.check(name, value, in: Limits.timeoutS, unit: " s") }
        }
    }

    func apply(to timeouts: inout TimeoutSpec) {
        if let connectTimeout { timeouts.connectS = connectTimeout }
        if let firstTokenTimeout { timeouts.firstTokenS = firstTokenTimeout }
        if let idleTimeout { timeouts.idleS = idleTimeout }
        if let totalTimeout { timeouts.totalS = totalTimeout }
    }

    /// The API key from --api-key, --api-key-file or the environment, in that order.
    func resolvedAPIKey() throws -> String? {
        if let apiKey {
            FileHandle.standardError.write(Data(("warning: --api-key puts the key in your shell history and process "
                + "list; prefer --api-key-env VAR or --api-key-file FILE\n").utf8))
            return apiKey
        }
        if let apiKeyFile {
            guard let text = try? String(contentsOfFile: apiKeyFile, encoding: .utf8) else {
                throw ValidationError("--api-key-file: cannot read \(apiKeyFile)")
            }
            let key = text.split(whereSeparator: \.isNewline).first.map(String.init)?
                .trimmingCharacters(in: .whitespaces) ?? ""
            guard !key.isEmpty else { throw ValidationError("--api-key-file: \(apiKeyFile) is empty") }
            return key
        }
        if let key = ProcessInfo.processInfo.environment[apiKeyEnv], !key.isEmpty { return key }
        return nil
    }

    func settings() -> RequestSettings {
        var headers: [String] = []
        if let key = (try? resolvedAPIKey()) ?? nil {
            headers.append("Authorization: Bearer \(key)")
        }
        var settings = RequestSettings(
            httpVersion: http2 ? .http2 : .http1, insecure: insecure,
            freshConnectionPerRequest: newConnectionPerRequest, headers: headers, keepOutputText: saveOutputs,
            continuousUsage: continuousUsage,
            routing: routing)
        settings.connectRate = connectRate
        settings.receiveTimes = receiveTime
        settings.realtime = realtime
        return settings
    }
}

extension RequestSettings.Routing: ExpressibleByArgument {}
extension ReceiveTimeSource: ExpressibleByArgument {}

/// Limits' range checks as argument-parser validation errors: exit 2 with the usage line, like any bad flag.
func checkRange(_ body: () throws -> Void) throws {
    do { try body() } catch let failure as ValidationFailure { throw ValidationError(failure.description) }
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data("error: \(message)\n".utf8))
}

/// A progress or status line on standard error (not an error: no prefix).
func printStatus(_ message: String) {
    FileHandle.standardError.write(Data("\(message)\n".utf8))
}
