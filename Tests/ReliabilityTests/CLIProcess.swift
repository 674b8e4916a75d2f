import Foundation
import Testing

/// The real `tpbench` binary as a child process whose output goes to files (no pipe can fill up and block it),
/// so tests can signal it mid-run.
final class CLIProcess: @unchecked Sendable {  // used from one test at a time
    let process = Process()
    let stdoutURL: URL
    let stderrURL: URL

    static var binary: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("tpbench")
    }

    init(_ arguments: [String], environment: [String: String] = [:]) throws {
        let base = temporaryDirectory("cli")
        try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        stdoutURL = base.appendingPathComponent("stdout")
        stderrURL = base.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: stdoutURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrURL.path, contents: nil)
        process.executableURL = Self.binary
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["OPENAI_API_KEY"] = nil
        process.environment = env.merging(environment) { $1 }
        process.standardOutput = try FileHandle(forWritingTo: stdoutURL)
        process.standardError = try FileHandle(forWritingTo: stderrURL)
        try process.run()
    }

    var stdout: String { (try? String(contentsOf: stdoutURL, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? "" }

    func signal(_ number: Int32) { kill(process.processIdentifier, number) }

    /// Waits for the exit up to `seconds`; kills the process (and returns nil) if it did not exit.
    func wait(seconds: Double) async -> Int32? {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return nil
        }
        return process.terminationStatus
    }

    /// Runs to completion (bounded) and returns the status.
    static func run(_ arguments: [String], environment: [String: String] = [:],
                    seconds: Double = 30) async throws -> (status: Int32?, stdout: String, stderr: String) {
        let p = try CLIProcess(arguments, environment: environment)
        let status = await p.wait(seconds: seconds)
        return (status, p.stdout, p.stderr)
    }
}

/// Lines in a file (0 when it does not exist yet).
func lineCount(_ url: URL) -> Int {
    guard let data = FileManager.default.contents(atPath: url.path) else { return 0 }
    return data.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
}

/// Polls until `condition` holds or `seconds` pass.
func eventually(_ seconds: Double, _ condition: () -> Bool) async -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return condition()
}

func expectNoCrash(_ stderr: String, sourceLocation: SourceLocation = #_sourceLocation) {
    for marker in ["Fatal error", "Stack dump", "Current stack trace", "SIGSEGV", "SIGILL", "SIGTRAP", "Illegal instruction"] {
        #expect(!stderr.contains(marker), "crashed: \(stderr)", sourceLocation: sourceLocation)
    }
}
