import ArgumentParser
import Curl
import Foundation
import LoadGen
import Workload

/// Connection flags shared by every command that sends load.
struct ConnectionOptions: ParsableArguments {
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

    @Flag(inversion: .prefixedNo, help: "Ask for per-chunk usage (vLLM's continuous_usage_stats) to measure ITL per token.")
    var continuousUsage = true

    @Option(help: "How requests are spread over replicas: least-outstanding or round-robin.")
    var routing: RequestSettings.Routing = .leastOutstanding

    func validate() throws {
        for (name, value) in [("--connect-timeout", connectTimeout), ("--first-token-timeout", firstTokenTimeout),
                              ("--idle-timeout", idleTimeout), ("--total-timeout", totalTimeout)] {
            if let value, !(value > 0) || !value.isFinite {
                throw ValidationError("\(name) must be a positive number of seconds, got \(value)")
            }
        }
    }

    func apply(to timeouts: inout TimeoutSpec) {
        if let connectTimeout { timeouts.connectS = connectTimeout }
        if let firstTokenTimeout { timeouts.firstTokenS = firstTokenTimeout }
        if let idleTimeout { timeouts.idleS = idleTimeout }
        if let totalTimeout { timeouts.totalS = totalTimeout }
    }

    func settings() -> RequestSettings {
        var headers: [String] = []
        if let key = ProcessInfo.processInfo.environment[apiKeyEnv], !key.isEmpty {
            headers.append("Authorization: Bearer \(key)")
        }
        return RequestSettings(
            httpVersion: http2 ? .http2 : .http1, insecure: insecure,
            freshConnectionPerRequest: newConnectionPerRequest, headers: headers, continuousUsage: continuousUsage,
            routing: routing)
    }
}

extension RequestSettings.Routing: ExpressibleByArgument {}

func printError(_ message: String) {
    FileHandle.standardError.write(Data("error: \(message)\n".utf8))
}
