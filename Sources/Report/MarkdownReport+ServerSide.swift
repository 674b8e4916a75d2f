import Foundation
import Metrics

extension MarkdownReport {
    /// "Server side": what the servers' /metrics said during the run, next to the client's view of it.
    static func serverSideSection(_ result: RunResult, charts: [(path: String, title: String)]) -> String {
        guard let all = result.serverMetrics, !all.isEmpty else { return "" }
        var out = "## Server side\n\n"
        out += "Scraped from each server's Prometheus `/metrics` about once a second during the run, on the client's "
            + "clock (second 0 is the start of the load). Latencies are means from histogram deltas (end of run minus "
            + "start), so they cover every request the server handled in the window, warm-up and other clients "
            + "included.\n\n"
        for server in all {
            out += "### Target \(Format.code(server.target))\n\n"
            guard server.family != nil, !server.samples.isEmpty else {
                out += "No server metrics: " + (server.notes.isEmpty ? "nothing could be scraped" : "")
                out += server.notes.map(MarkdownTable.escape).joined(separator: "; ") + ".\n\n"
                continue
            }
            out += "Server family \(Format.code(server.family ?? "?")), \(server.samples.count) scrapes of "
                + server.endpoints.map(Format.code).joined(separator: ", ") + ".\n\n"
            out += stateTable(server, result: result)
            out += latencyTable(server)
            out += ttftDecomposition(server, clientTTFTMs: result.summaries.first { $0.target == server.target }?
                .ttftMs?.mean)
            for note in server.notes { out += "> **Note:** \(MarkdownTable.escape(note))\n\n" }
        }
        let own = charts.filter { $0.path.hasSuffix(".svg") && $0.path.contains("/server-") }
        if !own.isEmpty {
            out += "Charts: " + own.map { "[\($0.title)](\($0.path))" }.joined(separator: " · ") + "\n\n"
        }
        return out
    }

    private static func stateTable(_ server: ServerSideMetrics, result: RunResult) -> String {
        var table = MarkdownTable(["measure", "value"])
        let clientPeak = result.timeSeries[server.target]?.map(\.inFlight).max()
        table.add(["peak running requests (server)", count(server.peakRunning)
                   + (clientPeak.map { " (client: \(Format.number($0, digits: 1)) in flight, peak 1 s mean)" } ?? "")])
        table.add(["peak waiting requests (server)", count(server.peakWaiting)])
        table.add(["peak KV-cache usage", Format.percent(server.peakKVCacheUsage)])
        table.add(["preemptions during the run", count(server.preemptionsDuringRun)])
        table.add(["prefix-cache hit rate", Format.percent(server.window?.prefixCacheHitRate)])
        return table.render() + "\n"
    }

    private static func latencyTable(_ server: ServerSideMetrics) -> String {
        guard let window = server.window else { return "" }
        let rows: [(String, HistogramDelta?)] = [
            ("queue (waiting for a batch slot)", window.queue), ("prefill", window.prefill),
            ("decode", window.decode), ("TTFT (server)", window.timeToFirstToken),
            ("inter-token latency (server)", window.interToken), ("E2E (server)", window.endToEnd),
        ]
        var table = MarkdownTable(["phase", "mean (ms)", "observations"], alignments: [.left, .right, .right])
        for (label, delta) in rows {
            table.add([label, Format.ms(delta?.meanMs),
                       delta.map { Format.number($0.count, digits: 0) } ?? "not exported"])
        }
        return table.render() + "\n"
    }

    /// Client TTFT = (network, HTTP and tokenisation outside the engine) + queue + prefill + (rest of the engine's
    /// TTFT: scheduling, the first decode step, detokenisation).
    private static func ttftDecomposition(_ server: ServerSideMetrics, clientTTFTMs: Double?) -> String {
        guard let window = server.window, let client = clientTTFTMs, client.isFinite else { return "" }
        let serverTTFT = window.timeToFirstToken?.meanMs
        let queue = window.queue?.meanMs
        let prefill = window.prefill?.meanMs
        guard serverTTFT != nil || queue != nil else { return "" }
        var out = "**TTFT decomposition (means):**\n\n"
        var table = MarkdownTable(["part", "ms", "share of client TTFT"], alignments: [.left, .right, .right])
        func add(_ label: String, _ value: Double?) {
            table.add([label, Format.ms(value), Format.percent(value.flatMap { client > 0 ? $0 / client : nil })])
        }
        add("client TTFT", client)
        add("outside the engine (network, HTTP, tokenisation) = client − server TTFT", serverTTFT.map { client - $0 })
        add("queue", queue)
        add("prefill", prefill)
        if let serverTTFT, let queue, let prefill {
            add("rest of server TTFT (scheduling, first step, detokenisation)", serverTTFT - queue - prefill)
        }
        out += table.render() + "\n"
        if serverTTFT == nil { out += "The server exports no TTFT histogram, so the network share is unknown.\n\n" }
        if prefill == nil { out += "The server exports no prefill-time histogram.\n\n" }
        return out
    }

    private static func count(_ value: Double?) -> String {
        guard let value, value.isFinite else { return "n/a" }
        return Format.number(value, digits: value == value.rounded() ? 0 : 1)
    }
}
