import Foundation
import JSON
import JSONSchema
import Yams

/// Loads and validates a workload file (YAML, or JSON as a subset of it). Nothing is sent until the whole file
/// is valid: every problem is collected with its field path and line.
package enum WorkloadLoader {
    static let topKeys = ["name", "api", "model", "prompt", "output", "load", "slo", "seed", "timeouts", "extra_body",
                          "trace", "sessions"]

    package static func load(path: String) throws -> WorkloadSpec {
        let url = URL(fileURLWithPath: path)
        let text = try YAMLDocument.read(path, kind: "workload", hint: "check the path")
        return try parse(text, file: path, baseDirectory: url.deletingLastPathComponent())
    }

    package static func parse(_ text: String, file: String = "<inline>", baseDirectory: URL) throws -> WorkloadSpec {
        let root = try YAMLDocument.root(text, file: file, kind: "workload")
        var reader = NodeReader()
        var spec = WorkloadSpec()
        if let fields = reader.mapping(root, "", allowed: topKeys) {
            readTop(fields, into: &spec, reader: &reader, baseDirectory: baseDirectory)
        }
        validateCombination(spec, root: root, reader: &reader)
        guard reader.issues.isEmpty else { throw WorkloadError(file: file, issues: reader.issues) }
        return spec
    }

    private static func readTop(_ fields: [String: Node], into spec: inout WorkloadSpec, reader: inout NodeReader,
                                baseDirectory: URL) {
        if let name = reader.string(fields["name"], "name") { spec.name = name }
        if let node = fields["api"], let text = reader.string(node, "api") {
            if let api = WorkloadSpec.API(rawValue: text) { spec.api = api } else {
                reader.fail("api", node, "must be chat or completions, got '\(text)'")
            }
        }
        spec.model = reader.string(fields["model"], "model")
        if let seed = reader.int(fields["seed"], "seed", min: 0) { spec.seed = UInt64(seed) }
        if let node = fields["prompt"] { readPrompt(node, into: &spec.prompt, reader: &reader, base: baseDirectory) }
        if let node = fields["output"] { readOutput(node, into: &spec.output, reader: &reader, base: baseDirectory) }
        if let node = fields["load"] { readLoad(node, into: &spec.load, reader: &reader) }
        if let node = fields["trace"] { spec.trace = readTrace(node, reader: &reader, base: baseDirectory) }
        if let node = fields["sessions"] { spec.sessions = readSessions(node, reader: &reader) }
        if let node = fields["slo"], let f = reader.mapping(node, "slo", allowed: ["ttft_ms", "itl_ms", "tpot_ms", "e2e_ms"]) {
            spec.slo.ttftMs = reader.double(f["ttft_ms"], "slo.ttft_ms", in: Limits.sloMs)
            spec.slo.itlMs = reader.double(f["itl_ms"], "slo.itl_ms", in: Limits.sloMs)
            spec.slo.tpotMs = reader.double(f["tpot_ms"], "slo.tpot_ms", in: Limits.sloMs)
            spec.slo.e2eMs = reader.double(f["e2e_ms"], "slo.e2e_ms", in: Limits.sloMs)
        }
        if let node = fields["timeouts"],
           let f = reader.mapping(node, "timeouts", allowed: ["connect", "first_token", "idle", "total"]) {
            if let v = reader.duration(f["connect"], "timeouts.connect", in: Limits.timeoutS) { spec.timeouts.connectS = v }
            if let v = reader.duration(f["first_token"], "timeouts.first_token", in: Limits.timeoutS) { spec.timeouts.firstTokenS = v }
            if let v = reader.duration(f["idle"], "timeouts.idle", in: Limits.timeoutS) { spec.timeouts.idleS = v }
            if let v = reader.duration(f["total"], "timeouts.total", in: Limits.timeoutS) { spec.timeouts.totalS = v }
        }
        if let node = fields["extra_body"] {
            if case .object(let object)? = reader.json(node, "extra_body") {
                spec.extraBody = object
            } else {
                reader.fail("extra_body", node, "must be a mapping of request fields, e.g. {ignore_eos: true}")
            }
        }
    }

    static func readTokenCount(_ node: Node, _ path: String, reader: inout NodeReader,
                               in range: ClosedRange<Int> = Limits.tokens) -> TokenCount? {
        if case .scalar = node {
            return reader.int(node, path, in: range).map { .fixed($0) }
        }
        guard let f = reader.mapping(node, path, allowed: ["mean", "stddev", "min", "max", "uniform"]) else { return nil }
        if let uniform = f["uniform"] {
            guard case .sequence(let seq) = uniform, seq.count == 2,
                  let a = reader.int(seq[0], "\(path).uniform[0]", in: range),
                  let b = reader.int(seq[1], "\(path).uniform[1]", in: range) else {
                reader.fail("\(path).uniform", uniform, "must be a list of two whole numbers [low, high]")
                return nil
            }
            guard a <= b else {
                reader.fail("\(path).uniform", uniform, "low (\(a)) must not exceed high (\(b))")
                return nil
            }
            return .uniform(a, b)
        }
        guard let mean = reader.double(f["mean"], "\(path).mean",
                                       in: Double(range.lowerBound)...Double(range.upperBound)) else {
            if f["mean"] == nil { reader.fail(path, node, "needs mean (and optional stddev, min, max) or uniform: [a, b]") }
            return nil
        }
        let stddev = reader.double(f["stddev"], "\(path).stddev", in: 0...Double(range.upperBound)) ?? 0
        let low = reader.int(f["min"], "\(path).min", in: range) ?? range.lowerBound
        let high = reader.int(f["max"], "\(path).max", in: range) ?? min(range.upperBound, Int(mean + 6 * stddev + 1))
        guard low <= high else {
            reader.fail(path, node, "min (\(low)) must not exceed max (\(high))")
            return nil
        }
        return .normal(mean: mean, stddev: stddev, min: low, max: high)
    }

    private static func readPrompt(_ node: Node, into prompt: inout PromptSpec, reader: inout NodeReader, base: URL) {
        guard let f = reader.mapping(node, "prompt",
                                     allowed: ["tokens", "system", "prefix_tokens", "dataset", "calibrate"]) else { return }
        if let t = f["tokens"], let count = readTokenCount(t, "prompt.tokens", reader: &reader) { prompt.tokens = count }
        prompt.system = reader.string(f["system"], "prompt.system")
        if let p = reader.int(f["prefix_tokens"], "prompt.prefix_tokens", in: Limits.optionalTokens) { prompt.prefixTokens = p }
        if let c = reader.bool(f["calibrate"], "prompt.calibrate") { prompt.calibrate = c }
        if let d = f["dataset"], let path = reader.string(d, "prompt.dataset") {
            let resolved = resolve(path, base: base)
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: resolved, isDirectory: &isDirectory), isDirectory.boolValue {
                reader.fail("prompt.dataset", d, "'\(path)' is a directory, not a dataset file (looked at \(resolved))")
            } else if FileManager.default.isReadableFile(atPath: resolved) {
                prompt.dataset = resolved
            } else {
                reader.fail("prompt.dataset", d, "file '\(path)' not found or not readable (looked at \(resolved))")
            }
        }
    }

    private static func readOutput(_ node: Node, into output: inout OutputSpec, reader: inout NodeReader, base: URL) {
        guard let f = reader.mapping(node, "output", allowed: ["max_tokens", "min_tokens", "ignore_eos", "json_schema",
                                                               "temperature"]) else { return }
        if let t = f["max_tokens"], let count = readTokenCount(t, "output.max_tokens", reader: &reader) {
            output.maxTokens = count
        }
        output.minTokens = reader.int(f["min_tokens"], "output.min_tokens", in: Limits.optionalTokens)
        output.ignoreEOS = reader.bool(f["ignore_eos"], "output.ignore_eos")
        if let t = f["temperature"], let value = reader.double(t, "output.temperature", in: Limits.temperature) {
            output.temperature = value
        }
        if let s = f["json_schema"] { readSchema(s, into: &output, reader: &reader, base: base) }
    }

    private static func readSchema(_ node: Node, into output: inout OutputSpec, reader: inout NodeReader, base: URL) {
        let path = "output.json_schema"
        var schema: JSONValue?
        if case .scalar = node, let file = reader.string(node, path) {
            let resolved = resolve(file, base: base)
            guard let data = FileManager.default.contents(atPath: resolved) else {
                reader.fail(path, node, "schema file '\(file)' not found (looked at \(resolved))")
                return
            }
            do {
                schema = try JSONValue.parse(bytes: [UInt8](data))
            } catch {
                reader.fail(path, node, "schema file '\(file)' is not valid JSON: \(error)")
                return
            }
            output.jsonSchemaSource = file
        } else {
            schema = reader.json(node, path)
            output.jsonSchemaSource = "inline"
        }
        guard let schema else { return }
        do {
            _ = try JSONSchema(schema)
            output.jsonSchema = schema
        } catch {
            reader.fail(path, node, "invalid JSON schema: \(error)")
        }
    }

    private static func readLoad(_ node: Node, into load: inout LoadSpec, reader: inout NodeReader) {
        let allowed = ["concurrency", "rate", "arrival", "burstiness", "ramp_up", "stages", "requests", "duration",
                       "warmup", "cooldown"]
        guard let f = reader.mapping(node, "load", allowed: allowed) else { return }
        load.concurrency = reader.int(f["concurrency"], "load.concurrency", in: Limits.concurrency)
        load.rate = reader.double(f["rate"], "load.rate", in: Limits.rate)
        if let a = f["arrival"], let text = reader.string(a, "load.arrival") {
            if let arrival = LoadSpec.Arrival(rawValue: text) { load.arrival = arrival } else {
                reader.fail("load.arrival", a, "must be constant, poisson or gamma, got '\(text)'")
            }
        }
        if let b = reader.double(f["burstiness"], "load.burstiness", in: Limits.burstiness) { load.burstiness = b }
        load.requests = reader.int(f["requests"], "load.requests", in: Limits.requests)
        load.durationS = reader.duration(f["duration"], "load.duration")
        if let c = f["cooldown"], let s = reader.duration(c, "load.cooldown") { load.cooldownS = s }
        if let w = f["warmup"] {
            if case .mapping = w, let wf = reader.mapping(w, "load.warmup", allowed: ["requests", "duration"]) {
                load.warmupRequests = reader.int(wf["requests"], "load.warmup.requests", in: Limits.warmupRequests) ?? 0
                load.warmupS = reader.duration(wf["duration"], "load.warmup.duration") ?? 0
            } else if w.int != nil {
                load.warmupRequests = reader.int(w, "load.warmup", in: Limits.warmupRequests) ?? 0
            } else if case .scalar = w {
                load.warmupS = reader.duration(w, "load.warmup") ?? 0
            } else {
                reader.fail("load.warmup", w, "must be a request count, a duration like 10s, or {requests|duration}")
            }
        }
        if let r = f["ramp_up"], let rf = reader.mapping(r, "load.ramp_up", allowed: ["from", "to", "duration"]) {
            let from = reader.double(rf["from"], "load.ramp_up.from", in: 0...Limits.rate.upperBound)
            let to = reader.double(rf["to"], "load.ramp_up.to", in: Limits.rate)
            let duration = reader.duration(rf["duration"], "load.ramp_up.duration")
            if let from, let to, let duration {
                load.rampUp = LoadSpec.Ramp(from: from, to: to, durationS: duration)
            } else if rf["from"] == nil || rf["to"] == nil || rf["duration"] == nil {
                reader.fail("load.ramp_up", r, "needs from, to (req/s) and duration")
            }
        }
        if let s = f["stages"] {
            guard case .sequence(let seq) = s, !seq.isEmpty else {
                reader.fail("load.stages", s, "must be a non-empty list of {rate | concurrency, duration}")
                return
            }
            for (i, item) in seq.enumerated() {
                let path = "load.stages[\(i)]"
                guard let sf = reader.mapping(item, path, allowed: ["rate", "concurrency", "duration"]) else { continue }
                let rate = reader.double(sf["rate"], "\(path).rate", in: Limits.rate)
                let concurrency = reader.int(sf["concurrency"], "\(path).concurrency", in: Limits.concurrency)
                let duration = reader.duration(sf["duration"], "\(path).duration")
                if (sf["rate"] == nil) == (sf["concurrency"] == nil) {
                    reader.fail(path, item, "needs exactly one of rate or concurrency")
                } else if sf["duration"] == nil {
                    reader.fail(path, item, "needs a duration")
                } else if let duration, rate != nil || concurrency != nil {
                    load.stages.append(LoadSpec.Stage(rate: rate, concurrency: concurrency, durationS: duration))
                }
            }
        }
    }

    private static func readTrace(_ node: Node, reader: inout NodeReader, base: URL) -> TraceSpec? {
        guard let f = reader.mapping(node, "trace", allowed: ["file", "format", "time_scale", "start", "window",
                                                              "block_tokens"]) else { return nil }
        guard let fileNode = f["file"], let path = reader.string(fileNode, "trace.file") else {
            if f["file"] == nil { reader.fail("trace", node, "needs file: the trace to replay (Mooncake JSONL, CSV or JSONL)") }
            return nil
        }
        let resolved = resolve(path, base: base)
        var format: TraceSpec.Format?
        if let formatNode = f["format"], let text = reader.string(formatNode, "trace.format") {
            format = TraceSpec.Format(rawValue: text)
            if format == nil {
                let names = TraceSpec.Format.allCases.map(\.rawValue).joined(separator: ", ")
                reader.fail("trace.format", formatNode, "must be one of \(names), got '\(text)'")
                return nil
            }
        }
        let scale = reader.double(f["time_scale"], "trace.time_scale", in: 0.000_001...1_000_000) ?? 1
        let start = reader.duration(f["start"], "trace.start", in: 0...Limits.durationS.upperBound) ?? 0
        let window = reader.duration(f["window"], "trace.window")
        let blockTokens = reader.int(f["block_tokens"], "trace.block_tokens", in: 1...1_048_576) ?? 512
        do {
            return try TraceLoader.spec(file: resolved, format: format, timeScale: scale, startS: start,
                                        windowS: window, blockTokens: blockTokens)
        } catch {
            reader.fail("trace.file", fileNode, "\(error) (looked at \(resolved))")
            return nil
        }
    }

    private static func readSessions(_ node: Node, reader: inout NodeReader) -> SessionSpec? {
        guard let f = reader.mapping(node, "sessions", allowed: ["turns", "think_time", "history", "count"]) else {
            return nil
        }
        var spec = SessionSpec()
        if let t = f["turns"], let turns = readTokenCount(t, "sessions.turns", reader: &reader, in: Limits.turns) {
            spec.turns = turns
        }
        if let t = f["think_time"], let spread = readSpread(t, "sessions.think_time", reader: &reader,
                                                            in: Limits.thinkTimeS) {
            spec.thinkTime = spread
        }
        if let h = f["history"], let text = reader.string(h, "sessions.history") {
            if let history = SessionSpec.History(rawValue: text) { spec.history = history } else {
                reader.fail("sessions.history", h, "must be responses (resend the server's answers) or synthetic "
                            + "(seeded words of the answers' lengths), got '\(text)'")
            }
        }
        spec.count = reader.int(f["count"], "sessions.count", in: Limits.sessions)
        return spec
    }

    /// A duration, fixed ("2s"), normal ({mean, stddev, min, max}) or uniform ({uniform: [a, b]}), in seconds.
    static func readSpread(_ node: Node, _ path: String, reader: inout NodeReader,
                           in range: ClosedRange<Double>) -> Spread? {
        if case .scalar = node { return reader.duration(node, path, in: range).map { .fixed($0) } }
        guard let f = reader.mapping(node, path, allowed: ["mean", "stddev", "min", "max", "uniform"]) else { return nil }
        if let uniform = f["uniform"] {
            guard case .sequence(let seq) = uniform, seq.count == 2,
                  let a = reader.duration(seq[0], "\(path).uniform[0]", in: range),
                  let b = reader.duration(seq[1], "\(path).uniform[1]", in: range) else {
                reader.fail("\(path).uniform", uniform, "must be a list of two durations [low, high], e.g. [1s, 5s]")
                return nil
            }
            guard a <= b else {
                reader.fail("\(path).uniform", uniform, "low (\(a) s) must not exceed high (\(b) s)")
                return nil
            }
            return .uniform(a, b)
        }
        guard let mean = reader.duration(f["mean"], "\(path).mean", in: range) else {
            if f["mean"] == nil { reader.fail(path, node, "needs mean (and optional stddev, min, max) or uniform: [a, b]") }
            return nil
        }
        let stddev = reader.duration(f["stddev"], "\(path).stddev", in: range) ?? 0
        let low = reader.duration(f["min"], "\(path).min", in: range) ?? range.lowerBound
        let high = reader.duration(f["max"], "\(path).max", in: range) ?? min(range.upperBound, mean + 6 * stddev)
        guard low <= high else {
            reader.fail(path, node, "min (\(low) s) must not exceed max (\(high) s)")
            return nil
        }
        return .normal(mean: mean, stddev: stddev, min: low, max: high)
    }

    private static func validateCombination(_ spec: WorkloadSpec, root: Node, reader: inout NodeReader) {
        let load = spec.load
        let loadNode = root["load"]
        if !load.stages.isEmpty && (load.rate != nil || load.rampUp != nil) {
            reader.fail("load", loadNode, "stages cannot be combined with rate or ramp_up; put each rate in a stage")
        }
        if load.rate != nil && load.rampUp != nil {
            reader.fail("load", loadNode, "give either rate or ramp_up, not both")
        }
        if spec.trace != nil {
            // The trace is the load: its times are the arrivals, its lengths the prompts and outputs.
            if load.rate != nil || load.rampUp != nil || !load.stages.isEmpty {
                reader.fail("load", loadNode, "a trace sets the arrival times; drop rate, ramp_up and stages (keep "
                            + "concurrency as a ceiling, requests as a cap, warmup and cooldown)")
            }
            if spec.prompt.dataset != nil {
                reader.fail("prompt.dataset", root["prompt"], "a trace sets the prompts' lengths; use either a trace or a dataset")
            }
            if spec.prompt.prefixTokens > 0 {
                reader.fail("prompt.prefix_tokens", root["prompt"], "a trace's hash_ids set the shared prefixes; drop "
                            + "prefix_tokens")
            }
        } else if load.isClosedLoop && load.requests == nil && load.durationS == nil && loadNode != nil
                    && spec.sessions?.count == nil {
            reader.fail("load", loadNode, "needs requests or duration to know when to stop"
                        + (spec.sessions != nil ? " (or sessions.count)" : ""))
        }
        if spec.sessions != nil {
            // A turn's prompt is the conversation so far: the trace's and dataset's fixed prompts do not apply.
            if spec.trace != nil {
                reader.fail("sessions", root["sessions"], "a trace's rows are single requests; use either a trace or "
                            + "sessions (a trace's session column routes its rows with --routing session)")
            }
            if spec.prompt.dataset != nil {
                reader.fail("sessions", root["sessions"], "sessions build their turns from synthetic prompts; drop "
                            + "prompt.dataset")
            }
            if spec.prompt.prefixTokens > 0 {
                reader.fail("prompt.prefix_tokens", root["prompt"], "a session's history is its shared prefix; drop "
                            + "prefix_tokens (prompt.system is a prefix every session shares)")
            }
        }
        if load.rate != nil || load.rampUp != nil, load.requests == nil, load.durationS == nil, load.rampUp == nil,
           spec.sessions?.count == nil {
            reader.fail("load", loadNode, "an open-loop rate needs requests or duration to know when to stop")
        }
        if let requests = load.requests, load.warmupRequests >= requests {
            reader.fail("load.warmup", loadNode, "warm-up (\(load.warmupRequests)) must be fewer than requests (\(requests))")
        }
        if spec.output.jsonSchema != nil && spec.api == .completions {
            // vLLM accepts response_format only on chat; completions use structured_outputs/guided_json.
        }
        if spec.prompt.prefixTokens > 0, spec.prompt.prefixTokens >= spec.prompt.tokens.nominal, spec.prompt.dataset == nil,
           spec.trace == nil {
            reader.fail("prompt.prefix_tokens", root["prompt"], "must be smaller than prompt.tokens "
                        + "(\(spec.prompt.tokens.nominal)); the prefix is part of the prompt")
        }
    }

    static func resolve(_ path: String, base: URL) -> String {
        if path.hasPrefix("/") { return path }
        let relative = base.appendingPathComponent(path).path
        if FileManager.default.fileExists(atPath: relative) { return relative }
        // Also try from the working directory (e.g. "Workloads/schemas/x.json" given from the repo root).
        return FileManager.default.fileExists(atPath: path) ? path : relative
    }
}
