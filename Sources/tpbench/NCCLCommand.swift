import ArgumentParser
import Foundation
import Interconnect
import Report

struct NCCLCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nccl",
        abstract: "Interconnect doctor: read NCCL_DEBUG=INFO logs and say how the GPUs talk and what it costs.",
        discussion: """
            Start vLLM with NCCL_DEBUG=INFO (NCCL_DEBUG_SUBSYS=INIT,GRAPH also says whether P2P is NVLink) and \
            pass its log; logs of several ranks or nodes may be given together or interleaved in one file.
            Example: tpbench nccl vllm-tp4.log
            """
    )

    @Argument(help: "NCCL log files (vLLM's stdout/stderr with NCCL_DEBUG=INFO).")
    var logFiles: [String]

    @Option(help: "Layers of the served model, to size the per-step cost (two all-reduces per layer).")
    var layers: Int = 48

    @Flag(help: "Print the diagnosis as JSON.")
    var json = false

    func validate() throws {
        guard !logFiles.isEmpty else { throw ValidationError("give at least one log file") }
        guard (1...1000).contains(layers) else { throw ValidationError("--layers must be 1...1000, got \(layers)") }
    }

    func run() throws {
        let log: NCCLLog
        do {
            log = try NCCLLogParser.parse(files: logFiles)
        } catch {
            printError("\(error)")
            throw ExitCode(2)
        }
        let diagnosis = NCCLDoctor.diagnose(log, layers: layers)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(diagnosis), as: UTF8.self))
        } else {
            print(NCCLDoctor.render(diagnosis, files: logFiles), terminator: "")
        }
    }
}

/// `compare --nccl-log NAME=FILE`: the interconnect verdict of a deployment, put into the comparison.
struct NCCLLogOptions: ParsableArguments {
    @Option(help: ArgumentHelp("A deployment's NCCL_DEBUG=INFO log, for the comparison's interconnect verdict "
                               + "(repeatable).", valueName: "name=file"))
    var ncclLog: [String] = []

    @Option(help: "Layers of the served model, for the NCCL verdict's per-step cost.")
    var ncclLayers: Int = 48

    func validate() throws {
        for entry in ncclLog where entry.firstIndex(of: "=") == nil {
            throw ValidationError("--nccl-log takes NAME=FILE (the deployment's name, then its log), got \(entry)")
        }
    }

    /// Reads every log now (a missing file stops the command before any load is sent) and returns the hook
    /// that puts the verdicts into the comparison.
    func annotator() throws -> @Sendable (inout Comparison) -> Void {
        var notes: [String: InterconnectNote] = [:]
        for entry in ncclLog {
            guard let equals = entry.firstIndex(of: "=") else { continue }
            let name = String(entry[..<equals]), path = String(entry[entry.index(after: equals)...])
            do {
                let diagnosis = NCCLDoctor.diagnose(try NCCLLogParser.parse(files: [path]), layers: ncclLayers)
                notes[name] = InterconnectNote(
                    source: path, verdict: NCCLDoctor.comparisonSentence(deployment: name, diagnosis),
                    details: NCCLDoctor.render(diagnosis, files: [path], maxChannelRows: 16))
            } catch {
                printError("\(error)")
                throw ExitCode(2)
            }
        }
        let collected = notes
        return { comparison in comparison.addInterconnect(collected) }
    }
}
