import ArgumentParser
import Foundation
import Harness
import Workload

@main
struct TPBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tpbench",
        abstract: "Load generator and benchmark harness for OpenAI-compatible LLM servers (vLLM, SGLang, TGI, llama.cpp).",
        discussion: "Start with: tpbench demo (offline, on built-in mock deployments).",
        version: TPBenchInfo.version,
        subcommands: [
            RunCommand.self, CompareCommand.self, SweepCommand.self, DemoCommand.self, MockCommand.self,
            ReportCommand.self, MergeCommand.self, NCCLCommand.self, SelfBenchCommand.self, WorkloadsCommand.self,
            PlanCommand.self, CalibrateCommand.self,
        ]
    )

    /// Parses and runs the command; usage and input errors exit with status 2 (argument-parser's own default is
    /// 64) so every bad-input path has the one documented code.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let failure as ValidationFailure {
            // A number outside its documented range (Limits): the same exit as any other bad input.
            FileHandle.standardError.write(Data("Error: \(failure.description)\n".utf8))
            Foundation.exit(2)
        } catch {
            let code = exitCode(for: error)
            if code == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }
}
