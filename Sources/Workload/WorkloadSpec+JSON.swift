import JSON

extension TokenCount {
    var json: JSONValue {
        switch self {
        case .fixed(let n): return .number(Double(n))
        case .normal(let mean, let stddev, let lo, let hi):
            return .object(JSONObject([("mean", .number(mean)), ("stddev", .number(stddev)),
                                       ("min", .number(Double(lo))), ("max", .number(Double(hi)))]))
        case .uniform(let a, let b):
            return .object(JSONObject([("uniform", .array([.number(Double(a)), .number(Double(b))]))]))
        }
    }
}

extension Spread {
    var json: JSONValue {
        switch self {
        case .fixed(let s): return .number(s)
        case .normal(let mean, let stddev, let lo, let hi):
            return .object(JSONObject([("mean", .number(mean)), ("stddev", .number(stddev)), ("min", .number(lo)),
                                       ("max", .number(hi))]))
        case .uniform(let a, let b): return .object(JSONObject([("uniform", .array([.number(a), .number(b)]))]))
        }
    }
}

extension WorkloadSpec {
    /// The workload as run, in the workload file's own vocabulary (saved in result.json and manifest.json).
    package var json: JSONValue {
        func optional(_ value: Double?) -> JSONValue { value.map { .number($0) } ?? .null }
        func optional(_ value: Int?) -> JSONValue { value.map { .number(Double($0)) } ?? .null }
        var prompt = JSONObject([("tokens", self.prompt.tokens.json),
                                 ("prefix_tokens", .number(Double(self.prompt.prefixTokens))),
                                 ("calibrate", .bool(self.prompt.calibrate))])
        if let system = self.prompt.system { prompt["system"] = .string(system) }
        if let dataset = self.prompt.dataset { prompt["dataset"] = .string(dataset) }
        var output = JSONObject([("max_tokens", self.output.maxTokens.json)])
        if let v = self.output.minTokens { output["min_tokens"] = .number(Double(v)) }
        if let v = self.output.ignoreEOS { output["ignore_eos"] = .bool(v) }
        if let v = self.output.temperature { output["temperature"] = .number(v) }
        if let schema = self.output.jsonSchema { output["json_schema"] = schema }
        if let source = self.output.jsonSchemaSource { output["json_schema_source"] = .string(source) }
        var load = JSONObject([("concurrency", optional(self.load.concurrency)), ("rate", optional(self.load.rate)),
                               ("arrival", .string(self.load.arrival.rawValue)),
                               ("burstiness", .number(self.load.burstiness)),
                               ("requests", optional(self.load.requests)), ("duration_s", optional(self.load.durationS)),
                               ("warmup_requests", .number(Double(self.load.warmupRequests))),
                               ("warmup_s", .number(self.load.warmupS)), ("cooldown_s", .number(self.load.cooldownS))])
        if let ramp = self.load.rampUp {
            load["ramp_up"] = .object(JSONObject([("from", .number(ramp.from)), ("to", .number(ramp.to)),
                                                  ("duration_s", .number(ramp.durationS))]))
        }
        if !self.load.stages.isEmpty {
            load["stages"] = .array(self.load.stages.map { stage in
                .object(JSONObject([("rate", optional(stage.rate)), ("concurrency", optional(stage.concurrency)),
                                    ("duration_s", .number(stage.durationS))]))
            })
        }
        var object = JSONObject([
            ("name", .string(name)), ("api", .string(api.rawValue)), ("model", model.map { .string($0) } ?? .null),
            ("prompt", .object(prompt)), ("output", .object(output)), ("load", .object(load)),
            ("slo", .object(JSONObject([("ttft_ms", optional(slo.ttftMs)), ("itl_ms", optional(slo.itlMs)),
                                        ("tpot_ms", optional(slo.tpotMs)), ("e2e_ms", optional(slo.e2eMs))]))),
            ("seed", .number(Double(seed))),
            ("timeouts", .object(JSONObject([("connect_s", .number(timeouts.connectS)),
                                             ("first_token_s", .number(timeouts.firstTokenS)),
                                             ("idle_s", .number(timeouts.idleS)), ("total_s", .number(timeouts.totalS))]))),
        ])
        if let extra = extraBody { object["extra_body"] = .object(extra) }
        if let trace {
            var section = JSONObject([("file", .string(trace.file)), ("format", .string(trace.format.rawValue)),
                                      ("time_scale", .number(trace.timeScale)), ("start_s", .number(trace.startS)),
                                      ("window_s", optional(trace.windowS)),
                                      ("block_tokens", .number(Double(trace.blockTokens))),
                                      ("requests", .number(Double(trace.rows.count))),
                                      ("last_arrival_s", .number(trace.lastArrivalS))])
            section["repeated_block_share"] = .number(trace.repeatedBlockShare)
            object["trace"] = .object(section)
        }
        if let sessions {
            object["sessions"] = .object(JSONObject([
                ("turns", sessions.turns.json), ("think_time_s", sessions.thinkTime.json),
                ("history", .string(sessions.history.rawValue)), ("count", optional(sessions.count))]))
        }
        return .object(object)
    }
}
