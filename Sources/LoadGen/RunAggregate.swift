import Metrics
import NIOConcurrencyHelpers

/// What a run learns from its records as they finish, in bounded memory: the measured requests' summary, the
/// token events of all of them, and a thinned series of send lags for the client-health check. The runner's record
/// queue feeds it on every completion while the caller may read it, hence the lock.
package final class RunAggregate: Sendable {
    /// Send-lag samples kept for the trend check; past it every other one is dropped and the stride doubles.
    static let sendLagSampleLimit = 16_384

    private struct State: Sendable {
        var builder: SummaryBuilder
        var tokenEvents = 0
        var sendLags: [SendLagSample] = []
        var sendLagStride = 1
        var sendLagSeen = 0
    }

    /// One open-loop request's start on the run's timeline and how late it left.
    package struct SendLagSample: Sendable, Equatable {
        package var startMs: Double
        package var lagMs: Double
    }

    private let state: NIOLockedValueBox<State>

    package init(target: String, slo: SLO?) {
        state = NIOLockedValueBox(State(builder: SummaryBuilder(target: target, slo: slo)))
    }

    package func add(_ record: RequestRecord) {
        state.withLockedValue { state in
            state.tokenEvents += record.tokenEventOffsetsMs.count
            state.builder.add(record)
            guard record.excludedAs == nil, let lag = record.sendLagMs else { return }
            if state.sendLagSeen % state.sendLagStride == 0 {
                state.sendLags.append(SendLagSample(startMs: record.startMs, lagMs: lag))
                if state.sendLags.count >= Self.sendLagSampleLimit {
                    state.sendLags = state.sendLags.enumerated().filter { $0.offset % 2 == 0 }.map(\.element)
                    state.sendLagStride *= 2
                }
            }
            state.sendLagSeen += 1
        }
    }

    /// The measured requests' summary builder (warm-up and cool-down requests left out).
    package var builder: SummaryBuilder { state.withLockedValue { $0.builder } }
    /// Token events received, excluded requests included.
    package var tokenEvents: Int { state.withLockedValue { $0.tokenEvents } }
    /// Warm-up and cool-down requests (in requests.jsonl, not in the results).
    package var excludedRequests: Int { state.withLockedValue { $0.builder.excludedRequests } }
    /// Open-loop send lags by start time: all of them up to `sendLagSampleLimit`, evenly thinned beyond.
    package var sendLags: [SendLagSample] { state.withLockedValue { $0.sendLags } }
}
