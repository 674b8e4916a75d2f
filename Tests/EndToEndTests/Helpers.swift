import Curl
import LoadGen
import Workload

/// A closed-loop workload for tests.
func closedLoop(concurrency: Int, requests: Int, promptTokens: Int = 32, maxTokens: Int = 100,
                model: String? = nil, timeouts: TimeoutSpec = TimeoutSpec()) -> WorkloadSpec {
    var spec = WorkloadSpec()
    spec.model = model
    spec.load.concurrency = concurrency
    spec.load.requests = requests
    spec.prompt.tokens = .fixed(promptTokens)
    spec.prompt.calibrate = false
    spec.output.maxTokens = .fixed(maxTokens)
    spec.timeouts = timeouts
    return spec
}
