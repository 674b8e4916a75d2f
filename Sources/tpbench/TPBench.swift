import ArgumentParser

@main
struct TPBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tpbench",
        abstract: "Load generator and benchmark harness for OpenAI-compatible LLM servers (vLLM, SGLang, TGI, llama.cpp).",
        version: TPBenchVersion.current,
        subcommands: [RunCommand.self, CompareCommand.self, DemoCommand.self, MockCommand.self, ReportCommand.self]
    )
}

enum TPBenchVersion {
    static let current = "0.1.0"
}
