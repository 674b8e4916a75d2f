import ArgumentParser
import ServerMetrics

/// Server-side metrics and GPU telemetry flags shared by `run` and `compare`.
struct ServerMetricsOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Prometheus endpoint to scrape instead of <url>/metrics (repeatable, one per replica; NAME=URL for one "
            + "deployment of a comparison).",
        valueName: "[name=]url"))
    var metricsURL: [String] = []

    @Flag(help: "Do not scrape the servers' /metrics during the run.")
    var noServerMetrics = false

    @Option(help: ArgumentHelp(
        "DCGM exporter to scrape for GPU utilization, power, memory and link traffic during the run (repeatable; "
            + "NAME=URL for one deployment of a comparison), e.g. http://127.0.0.1:9400/metrics.",
        valueName: "[name=]url"))
    var gpuMetricsURL: [String] = []

    @Option(help: ArgumentHelp(
        "nvidia-smi to sample launched deployments' GPUs with when no DCGM exporter is named (default: nvidia-smi "
            + "on PATH, if there is one).", valueName: "path"))
    var nvidiaSMI: String?

    @Flag(help: "Do not read GPU telemetry (DCGM exporter or nvidia-smi) during the run.")
    var noGPUMetrics = false

    func validate() throws {
        if noGPUMetrics && (!gpuMetricsURL.isEmpty || nvidiaSMI != nil) {
            throw ValidationError("--no-gpu-metrics contradicts --gpu-metrics-url and --nvidia-smi; drop one")
        }
        for entry in gpuMetricsURL {
            let url = ServerMetricsSettings.split(entry).url
            guard !(url.hasPrefix("http://") || url.hasPrefix("https://")) else { continue }
            throw ValidationError(
                "--gpu-metrics-url must be an http(s) URL of a DCGM exporter such as http://127.0.0.1:9400/metrics, "
                    + "got \(url)")
        }
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

    var gpuSettings: GPUTelemetrySettings {
        GPUTelemetrySettings(enabled: !noGPUMetrics, urls: gpuMetricsURL, nvidiaSMI: nvidiaSMI)
    }
}
