import ArgumentParser
import ServerMetrics

/// Server-side metrics flags shared by `run` and `compare`.
struct ServerMetricsOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Prometheus endpoint to scrape instead of <url>/metrics (repeatable, one per replica; NAME=URL for one "
            + "deployment of a comparison).",
        valueName: "[name=]url"))
    var metricsURL: [String] = []

    @Flag(help: "Do not scrape the servers' /metrics during the run.")
    var noServerMetrics = false

    func validate() throws {
        if noServerMetrics && !metricsURL.isEmpty {
            throw ValidationError("--metrics-url and --no-server-metrics contradict each other; drop one")
        }
        for entry in metricsURL {
            let url = ServerMetricsSettings.split(entry).url
            guard !(url.hasPrefix("http://") || url.hasPrefix("https://")) else { continue }
            throw ValidationError(
                "--metrics-url must be an http(s) URL such as http://127.0.0.1:8000/metrics, got \(url)")
        }
    }

    var settings: ServerMetricsSettings {
        ServerMetricsSettings(enabled: !noServerMetrics, urls: metricsURL)
    }
}
