import Foundation
import JSON
import Metrics

extension MarkdownReport {
    static func failuresSection(_ result: RunResult) -> String {
        var out = "## Failures\n\n"
        let failing = result.summaries.filter { $0.failed > 0 }
        guard !failing.isEmpty else { return out + "No request failed.\n\n" }
        out += "Every failed request has exactly one class; failures are excluded from latency percentiles and "
            + "included in error rate, goodput and SLO attainment.\n\n"
        var table = MarkdownTable(["target", "class", "count", "share of requests", "sample message"],
                                  alignments: [.left, .left, .right, .right, .left])
        for s in failing {
            let ordered = s.failures.sorted { lhs, rhs in
                let l = FailureClass(rawValue: lhs.key), r = FailureClass(rawValue: rhs.key)
                if let l, let r { return l < r }
                return lhs.key < rhs.key
            }
            for (name, count) in ordered {
                let sample = s.failureSamples[name].map { String($0.prefix(200)) } ?? ""
                table.add([Format.code(s.target), name, String(count),
                           Format.percent(s.requests > 0 ? Double(count) / Double(s.requests) : nil),
                           sample.isEmpty ? "(no message)" : sample])
            }
        }
        return out + table.render() + "\n"
    }

    static func schemaSection(_ result: RunResult) -> String {
        let checked = result.summaries.compactMap { s in s.schema.map { (s.target, $0) } }
        guard !checked.isEmpty else { return "" }
        var out = "## Schema validity\n\nEach successful structured-output response is parsed and validated against "
            + "the request's JSON schema; \"valid\" means it parses **and** conforms, not merely parses.\n\n"
        var table = MarkdownTable(["target", "checked", "valid", "valid rate", "not JSON", "truncated",
                                   "schema violations"])
        for (target, schema) in checked {
            table.add([Format.code(target), String(schema.checked), String(schema.valid),
                       Format.percent(schema.validRate), String(schema.notJSON), String(schema.truncated),
                       String(schema.violations)])
        }
        out += table.render() + "\n"
        let samples = checked.flatMap { target, schema in schema.samples.map { "\(Format.code(target)): \($0)" } }
        if !samples.isEmpty {
            out += "First invalid responses:\n\n" + samples.map { "- \(MarkdownTable.escape($0))\n" }.joined() + "\n"
        }
        return out
    }

    static func clientHealthSection(_ result: RunResult) -> String {
        var out = "## Client health\n\n"
        guard let health = result.clientHealth else {
            return out + "Not recorded (the report was rebuilt from request records, or the run did not measure "
                + "it).\n\n"
        }
        for warning in health.warnings { out += "> **Warning:** \(MarkdownTable.escape(warning))\n>\n" }
        if !health.warnings.isEmpty { out = String(out.dropLast(2)) + "\n" }
        else { out += "No warnings: the client kept up with the load.\n\n" }
        var table = MarkdownTable(["measure", "value"])
        table.add(["process CPU", Format.percent(health.processCPUShare) + " of one core"])
        table.add(["max resident memory", Format.number(health.maxResidentMiB, digits: 1) + " MiB"])
        table.add(["token events parsed", Format.number(health.eventsPerSecond, digits: 0) + " events/s"])
        if let ms = health.timestampUncertaintyP99Ms {
            table.add(["timestamps uncertain by up to (p99)", Format.number(ms, digits: 3) + " ms"])
        }
        if let share = health.kernelStampedShare {
            table.add(["buffers stamped with the kernel's receive time", Format.percent(share)])
        }
        if let ms = health.readWaitP99Ms {
            table.add(["data waited in the kernel before the client read it (p99, not in the figures)",
                       Format.number(ms, digits: 3) + " ms"])
        }
        for loop in health.loops {
            table.add(["loop \(loop.index) CPU", Format.percent(loop.cpuShare) + " of one core"])
            table.add(["loop \(loop.index) lag p99 / max",
                       Format.ms(Double(loop.loopLagP99Us) / 1000) + " / "
                       + Format.ms(Double(loop.loopLagMaxUs) / 1000) + " ms"])
            if let share = loop.runQueueWaitShare {
                table.add(["loop \(loop.index) waiting for a CPU (runnable, not running)",
                           Format.percent(share) + " of the run"])
            }
            if let p99 = loop.timestampUncertaintyP99Us, let max = loop.timestampUncertaintyMaxUs {
                table.add(["loop \(loop.index) stamp uncertainty p99 / max",
                           Format.number(p99 / 1000, digits: 3) + " / " + Format.number(max / 1000, digits: 3) + " ms"])
            }
        }
        return out + table.render() + "\n"
    }

    /// Most turn rows the report lists; result.json has every turn.
    static let maxTurnRows = 20

    /// Multi-turn runs: per turn number, how the prompt (the history) grew and TTFT with it.
    static func turnsSection(_ result: RunResult) -> String {
        let multi = result.summaries.filter { $0.turns != nil }
        guard !multi.isEmpty else { return "" }
        var out = "## Turns\n\nEach turn of a session resends the conversation so far (earlier user messages and "
            + "answers) and a new message, so its prompt grows turn by turn; a prefix cache that kept the history "
            + "(one replica per session: `--routing session`) spares its prefill, and TTFT shows whether it did.\n\n"
        var table = MarkdownTable(["target", "turn", "requests", "ok", "prompt tokens (mean)", "prefix cache hits",
                                   "TTFT p50 (ms)", "TTFT p90 (ms)", "TTFT p99 (ms)"],
                                  alignments: [.left, .right, .right, .right, .right, .right, .right, .right, .right])
        for s in multi {
            let turns = s.turns ?? []
            for turn in turns.prefix(maxTurnRows) {
                table.add([Format.code(s.target), String(turn.turn), String(turn.requests), String(turn.succeeded),
                           turn.promptTokensMean.map { Format.number($0, digits: 0) } ?? "n/a",
                           Format.percent(turn.prefixCacheHitRate), Format.ms(turn.ttftMs?.p50),
                           Format.ms(turn.ttftMs?.p90), Format.ms(turn.ttftMs?.p99)])
            }
        }
        out += table.render() + "\n"
        if multi.contains(where: { ($0.turns?.count ?? 0) > maxTurnRows }) {
            out += "Turns past \(maxTurnRows) are in result.json (`turns`).\n\n"
        }
        return out
    }

    static func replicasSection(_ result: RunResult) -> String {
        let multi = result.summaries.filter { $0.requestsPerReplica.count > 1 }
        guard !multi.isEmpty else { return "" }
        let out = "## Replicas\n\n"
        var table = MarkdownTable(["target", "replica", "requests", "share"],
                                  alignments: [.left, .left, .right, .right])
        for s in multi {
            for (replica, count) in s.requestsPerReplica.sorted(by: { $0.key < $1.key }) {
                table.add([Format.code(s.target), replica, String(count),
                           Format.percent(s.requests > 0 ? Double(count) / Double(s.requests) : nil)])
            }
        }
        return out + table.render() + "\n"
    }

    static func notesSection(_ result: RunResult) -> String {
        var notes = result.notes
        for s in result.summaries {
            let name = Format.code(s.target)
            if s.outputTokensEstimated {
                notes.append("\(name): some output token counts were estimated from events (no `usage` from the "
                             + "server); TPOT and token throughput are estimates.")
            }
            if s.nonStreamedResponses > 0 {
                notes.append("\(name): \(s.nonStreamedResponses) responses were not streamed; their TTFT equals E2E.")
            }
            if s.itlTokenMs == nil && s.succeeded > 0 {
                notes.append("\(name): ITL per token is unavailable: the server sent no per-chunk usage (vLLM: "
                             + "`continuous_usage_stats`).")
            }
        }
        guard !notes.isEmpty else { return "" }
        return "## Notes\n\n" + notes.map { "- \(MarkdownTable.escape($0))\n" }.joined() + "\n"
    }

    static func manifestSection(_ result: RunResult) -> String {
        let env = result.environment
        var out = "## Run manifest\n\n"
        var table = MarkdownTable(["field", "value"], alignments: [.left, .left])
        table.add(["run id", Format.code(result.runID)])
        table.add(["started", result.startedAt])
        table.add(["wall clock", Format.duration(result.wallSeconds)])
        let command = env.commandLine.joined(separator: " ")
        table.add(["command line", command.isEmpty ? "n/a" : Format.code(command)])
        table.add(["seed", seed(of: result.workload).map(String.init) ?? "n/a"])
        table.add(["tpbench version", env.tpbenchVersion])
        table.add(["result schema", Format.code(result.schema)])
        table.add(["client host", "\(env.host) (\(env.cores) cores, \(env.os))"])
        out += table.render() + "\n"
        if !result.targets.isEmpty {
            var targets = MarkdownTable(
                ["target", "URLs", "TP", "GPUs", "GPU", "interconnect", "cost", "server models"],
                alignments: [.left, .left, .right, .right, .left, .left, .right, .left])
            for t in result.targets {
                targets.add([Format.code(t.name), t.baseURLs.joined(separator: ", "),
                             t.tensorParallel.map(String.init) ?? "n/a", t.gpus.map(String.init) ?? "n/a",
                             t.gpu ?? "n/a", t.interconnect ?? "n/a",
                             t.hourlyCost.map { Format.money($0) + "/h" } ?? "n/a",
                             t.serverModels?.joined(separator: ", ") ?? "n/a"])
            }
            out += targets.render() + "\n"
        }
        if let workload = prettyJSON(result.workload) {
            out += "<details><summary>Workload as run</summary>\n\n```json\n\(workload)\n```\n\n</details>\n\n"
        }
        return out
    }

    /// The workload's `seed`, when it has one.
    static func seed(of workload: JSONValue) -> Int? {
        guard case .object(let object) = workload, case .number(let value)? = object["seed"],
              value.isFinite, value == value.rounded(), abs(value) < 1e15 else { return nil }
        return Int(value)
    }

    static func prettyJSON(_ value: JSONValue) -> String? {
        if case .null = value { return nil }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(value) else { return nil }
        // A fenced block ends at the first line of three backticks; a workload string holding one must not.
        return String(decoding: data, as: UTF8.self).replacingOccurrences(of: "```", with: "` ` `")
    }
}

/// The metric definitions every report ends with, as Markdown footnotes, and the naming map to other tools.
enum MetricDefinitions {
    static var markdown: String {
        var names = MarkdownTable(["tpbench", "vLLM bench / SGLang", "AIPerf", "GuideLLM", "GenAI-Perf"],
                                  alignments: Array(repeating: .left, count: 5))
        names.add(["TTFT", "TTFT", "TTFT", "TTFT", "TTFT"])
        names.add(["ITL per event (`itl_event`)", "ITL", "ICL (inter-chunk latency)", "n/a", "n/a"])
        names.add(["ITL per token (`itl_token`)", "n/a", "n/a", "n/a", "n/a"])
        names.add(["TPOT", "TPOT", "ITL", "ITL", "ITL"])
        names.add(["E2E", "E2EL", "request latency", "request latency", "request latency"])
        return "## Metric definitions\n\nAll times come from one monotonic clock; `t0` is the moment a request is "
            + "handed to libcurl. The same word means different things in different tools:\n\n"
            + names.render() + "\n" + footnotes
    }

    static let footnotes = """
        [^ttft]: **TTFT** (time to first token): the first event that carries at least one generated token \
        (non-empty `delta.content`, `delta.reasoning_content` or `delta.reasoning` for chat, `text` for completions) minus `t0`. A \
        role-only first chunk does not count. For a reasoning model it is the first reasoning token.
        [^ttfa]: **Time to first answer token** (reasoning models): the first event with non-empty `content` minus \
        `t0`, over requests whose stream carried reasoning (`reasoning_content`/`reasoning`) first. The answer \
        text (schema checks, a session's history) is the `content` alone; reasoning tokens count as output tokens.
        [^itl-event]: **ITL per event** (`itl_event`): gaps between consecutive token-carrying events of one \
        request, pooled over requests. This is vLLM bench's and SGLang's "ITL" and AIPerf's "ICL".
        [^itl-token]: **ITL per token** (`itl_token`): each event's gap split evenly over the tokens it carried; \
        needs per-event token counts (vLLM's `continuous_usage_stats`), otherwise reported as unavailable.
        [^tpot]: **TPOT** (time per output token): (E2E − TTFT) / (output tokens − 1) per request, output tokens \
        from the server's `usage` when present, else counted events (flagged as estimated). GuideLLM's, AIPerf's \
        and GenAI-Perf's "ITL".
        [^e2e]: **E2E**: end of stream (`[DONE]` or clean close) minus `t0`.
        [^tokens-per-event]: **Tokens per event**: output tokens carried by each token event; above 1 means \
        multi-token chunks (speculative decoding, stream intervals), which hide latency from per-event ITL.
        [^intended]: **Intended start** (open loop): the send time the arrival schedule wanted. Send lag is the \
        actual start minus it; latencies from the intended start include it, so a stalled client cannot hide \
        queueing (coordinated omission).
        [^throughput]: **Throughput**: completed requests and output tokens per second over the measured window, \
        first measured start to last measured completion (warm-up excluded). Total throughput adds prompt tokens.
        [^goodput]: **Goodput**: requests per second that succeeded, met every SLO and, when a schema is set, were \
        schema-valid; failures count in its denominator. **SLO attainment** is the share of all requests that did.
        [^cost]: **Cost**: the deployment's hourly cost times the measured window, divided by successful requests \
        or output tokens.

        """
}
