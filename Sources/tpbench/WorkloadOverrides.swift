import ArgumentParser
import JSON
import LoadGen
import Workload

/// Command-line flags that override a workload file's fields.
struct WorkloadOverrides: ParsableArguments {
    @Option(help: "Endpoint: chat (/v1/chat/completions) or completions (/v1/completions).")
    var api: WorkloadSpec.API?

    @Option(help: "Closed loop: requests kept in flight. With --rate: the most in flight at once.")
    var concurrency: Int?

    @Option(help: "Open loop: requests per second.")
    var rate: Double?

    @Option(help: "Open-loop arrivals: constant, poisson or gamma.")
    var arrival: LoadSpec.Arrival?

    @Option(help: "Total requests to send (warm-up included).")
    var requests: Int?

    @Option(help: "Stop issuing after this many seconds.")
    var duration: Double?

    @Option(help: "Requests at the start excluded from results.")
    var warmup: Int?

    @Option(help: "Synthetic prompt length in tokens.")
    var promptTokens: Int?

    @Option(help: "max_tokens of each request.")
    var maxTokens: Int?

    @Option(help: ArgumentHelp("Replay a trace file instead of a synthetic load: Mooncake JSONL (timestamp ms, "
                               + "input_length, output_length, hash_ids), or CSV/JSONL with time_s, prompt_tokens, "
                               + "output_tokens[, session].", valueName: "file"))
    var trace: String?

    @Option(help: "With a trace: multiply its times by this (0.5 replays twice as fast).")
    var traceTimeScale: Double?

    @Option(help: ArgumentHelp("Multi-turn: turns per session; each turn resends the conversation so far "
                               + "(--concurrency sessions at once, or --rate sessions per second).", valueName: "n"))
    var turns: Int?

    @Option(help: ArgumentHelp("Multi-turn: seconds between an answer and the next turn.", valueName: "s"))
    var thinkTime: Double?

    @Option(help: ArgumentHelp("Multi-turn: start at most this many sessions.", valueName: "n"))
    var sessions: Int?

    @Option(help: ArgumentHelp("Multi-turn: resend earlier answers as the server wrote them (responses) or as "
                               + "seeded words of their lengths (synthetic)."))
    var history: SessionSpec.History?

    @Option(help: "JSON object merged into every request body, e.g. '{\"ignore_eos\": true}'.")
    var extraBody: String?

    @Option(help: "Seed for prompts, output lengths and arrivals.")
    var seed: UInt64?

    func validate() throws {
        try checkRange { try Limits.check("--concurrency", concurrency, in: Limits.concurrency) }
        try checkRange { try Limits.check("--rate", rate, in: Limits.rate, unit: " requests/s") }
        try checkRange { try Limits.check("--requests", requests, in: Limits.requests) }
        try checkRange { try Limits.check("--duration", duration, in: Limits.durationS, unit: " s") }
        try checkRange { try Limits.check("--prompt-tokens", promptTokens, in: Limits.tokens) }
        try checkRange { try Limits.check("--max-tokens", maxTokens, in: Limits.tokens) }
        try checkRange { try Limits.check("--warmup", warmup, in: Limits.warmupRequests) }
        try checkRange { try Limits.check("--trace-time-scale", traceTimeScale, in: 0.000_001...1_000_000) }
        try checkRange { try Limits.check("--turns", turns, in: Limits.turns) }
        try checkRange { try Limits.check("--think-time", thinkTime, in: Limits.thinkTimeS, unit: " s") }
        try checkRange { try Limits.check("--sessions", sessions, in: Limits.sessions) }
        if let extraBody {
            do { _ = try RequestBodyBuilder.parseExtraBody(extraBody) } catch { throw ValidationError("\(error)") }
        }
    }

    func apply(to spec: inout WorkloadSpec) throws {
        if let trace {
            do {
                spec.trace = try TraceLoader.spec(file: trace, timeScale: traceTimeScale ?? 1)
            } catch {
                throw ValidationError("--trace: \(error)")
            }
        } else if let traceTimeScale {
            guard var replay = spec.trace else {
                throw ValidationError("--trace-time-scale needs a trace (--trace, or trace: in the workload file)")
            }
            // Rescale the loaded rows (their times are already offset and scaled by the file's time_scale).
            replay.rows = replay.rows.map { row in
                var row = row
                row.timeS = row.timeS / replay.timeScale * traceTimeScale
                return row
            }
            replay.timeScale = traceTimeScale
            spec.trace = replay
        }
        if spec.trace != nil {
            if rate != nil || arrival != nil || promptTokens != nil || maxTokens != nil {
                throw ValidationError("a trace sets the arrivals and lengths; drop --rate, --arrival, --prompt-tokens "
                                      + "and --max-tokens (--concurrency is a ceiling, --requests a cap)")
            }
            if spec.prompt.dataset != nil || !spec.load.stages.isEmpty || spec.load.rampUp != nil || spec.load.rate != nil {
                throw ValidationError("--trace replaces the load: the workload file's rate, ramp_up, stages and "
                                      + "dataset cannot go with it")
            }
        }
        if turns != nil || thinkTime != nil || sessions != nil || history != nil {
            var conversation = spec.sessions ?? SessionSpec()
            if let turns { conversation.turns = .fixed(turns) }
            if let thinkTime { conversation.thinkTime = .fixed(thinkTime) }
            if let sessions { conversation.count = sessions }
            if let history { conversation.history = history }
            if spec.trace != nil {
                throw ValidationError("--turns, --think-time, --sessions and --history make a multi-turn load; a trace's "
                                      + "rows are single requests (route its sessions with --routing session)")
            }
            if spec.prompt.dataset != nil {
                throw ValidationError("multi-turn sessions build their turns from synthetic prompts; the workload's "
                                      + "prompt.dataset cannot go with --turns")
            }
            spec.sessions = conversation
        }
        if let api { spec.api = api }
        if let rate {
            spec.load.rate = rate
            spec.load.stages = []
            spec.load.rampUp = nil
        }
        if let concurrency { spec.load.concurrency = concurrency }
        if let arrival { spec.load.arrival = arrival }
        if let requests { spec.load.requests = requests }
        if let duration { spec.load.durationS = duration }
        if let warmup { spec.load.warmupRequests = warmup }
        if let promptTokens { spec.prompt.tokens = .fixed(promptTokens) }
        if let maxTokens { spec.output.maxTokens = .fixed(maxTokens) }
        if let seed { spec.seed = seed }
        if let extraBody {
            let extra = try RequestBodyBuilder.parseExtraBody(extraBody)
            var merged = spec.extraBody ?? JSONObject()
            for entry in extra.entries { merged[entry.key] = entry.value }
            spec.extraBody = merged
        }
        if spec.load.requests == nil && spec.load.durationS == nil && spec.load.rampUp == nil && spec.load.stages.isEmpty
            && spec.trace == nil && spec.sessions?.count == nil {
            throw ValidationError("the load needs --requests or --duration to know when to stop"
                                  + (spec.sessions != nil ? " (or --sessions)" : ""))
        }
        if spec.sessions != nil && spec.prompt.prefixTokens > 0 {
            throw ValidationError("multi-turn sessions share their history as the prefix; prompt.prefix_tokens "
                                  + "cannot go with them (use prompt.system for a prefix every session shares)")
        }
        if let requests = spec.load.requests, spec.load.warmupRequests >= requests {
            throw ValidationError("--warmup (\(spec.load.warmupRequests)) must be fewer than the requests (\(requests))")
        }
    }
}

extension WorkloadSpec.API: ExpressibleByArgument {}
extension LoadSpec.Arrival: ExpressibleByArgument {}
extension SessionSpec.History: ExpressibleByArgument {}
