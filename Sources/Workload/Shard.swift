/// One shard of a load split across client processes or machines (`--shard i/n`): shard `index` (0-based) of
/// `count`. Closed loops split their concurrency and request count (remainders go to the first shards); open
/// loops keep every `count`-th arrival of the one seeded schedule, so the shards' union is exactly the schedule a
/// single process would offer. Request `k` of a shard is request `k × count + index` of the whole workload.
package struct Shard: Sendable, Equatable, CustomStringConvertible, Codable {
    package var index: Int
    package var count: Int

    package init(index: Int, count: Int) {
        self.index = index
        self.count = count
    }

    package static let whole = Shard(index: 0, count: 1)

    package var description: String { "\(index + 1)/\(count)" }

    package struct ParseError: Error, Sendable, CustomStringConvertible {
        package let text: String
        package var description: String {
            "--shard '\(text)': expected I/N with 1 ≤ I ≤ N, e.g. --shard 2/4 (shards are numbered from 1; "
                + "in a Kubernetes Indexed Job use $((JOB_COMPLETION_INDEX + 1))/N)"
        }
    }

    /// Parses "I/N" with I counted from 1.
    package static func parse(_ text: String) throws -> Shard {
        let parts = text.split(separator: "/").map { Int(String($0.filter { !$0.isWhitespace })) }
        guard parts.count == 2, let i = parts[0], let n = parts[1], n >= 1, (1...n).contains(i) else {
            throw ParseError(text: text)
        }
        return Shard(index: i - 1, count: n)
    }

    /// This shard's part of `total` items dealt round-robin (item k goes to shard k mod count).
    package func share(of total: Int) -> Int {
        total / count + (index < total % count ? 1 : 0)
    }

    /// The workload-wide number of this shard's `local`-th item.
    package func globalIndex(_ local: Int) -> Int { local * count + index }
}

extension LoadPlan {
    /// The part of the plan one shard offers.
    package func sharded(_ shard: Shard) -> LoadPlan {
        guard shard.count > 1 else { return self }
        var plan = self
        plan.phases = phases.map { phase in
            var phase = phase
            if case .closed(let n) = phase.kind { phase.kind = .closed(max(1, shard.share(of: n))) }
            return phase
        }
        plan.maxRequests = maxRequests.map(shard.share(of:))
        plan.concurrencyCeiling = concurrencyCeiling.map { max(1, shard.share(of: $0)) }
        return plan
    }
}
