/// What a deployment tpbench launched itself did (`launch:`): kept in the comparison, one per deployment.
package struct LaunchRecord: Sendable, Codable, Equatable {
    package var name: String
    /// The first replica's command line, as a shell would need it typed.
    package var commandLine: String
    package var replicas: Int
    /// From the launch to the last replica's ready check and warm-up; nil when it never became ready.
    package var startupSeconds: Double?
    /// `GET /version` (vLLM and the mock answer it); nil where the server has none.
    package var serverVersion: String?
    /// The replicas' logs, relative to the comparison's folder.
    package var logFiles: [String]
    /// Why it did not start or stopped early (exit status, ready-check timeout); nil when it ran to the end.
    package var failure: String?
    /// The last lines of the (first) replica's log.
    package var logTail: [String] = []
    /// How the comparison used it: "launched once, kept for every repeat" or "relaunched for each repeat".
    package var lifecycle: String?

    package init(name: String, commandLine: String, replicas: Int, logFiles: [String]) {
        self.name = name
        self.commandLine = commandLine
        self.replicas = replicas
        self.logFiles = logFiles
    }
}
