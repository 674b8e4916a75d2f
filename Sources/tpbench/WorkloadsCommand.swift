import ArgumentParser
import Foundation
import Workload

/// `tpbench workloads`: the workloads compiled into the binary, listed, printed or written out for editing.
struct WorkloadsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "workloads",
        abstract: "List the built-in workloads and deployment files, print one, or write one out to edit.",
        discussion: """
            The files of the repository's Workloads/ folder travel inside the binary, so `tpbench demo` runs from \
            any directory. Examples:
              tpbench workloads                                    # list them
              tpbench workloads show seed-structured-output        # print one
              tpbench workloads write seed-structured-output --to my-bench
            """)

    @Argument(help: "list (default), show NAME, or write NAME.")
    var action: String = "list"

    @Argument(help: "A built-in's name (see the list).")
    var name: String?

    @Option(help: "Directory to write into (with write); its schemas/ and data/ files come along.")
    var to: String = "."

    @Flag(help: "Overwrite the workload file if it already exists (with write).")
    var force = false

    func validate() throws {
        guard ["list", "show", "write"].contains(action) else {
            throw ValidationError("unknown action '\(action)'; use list, show NAME or write NAME")
        }
        if action != "list" {
            guard let name else { throw ValidationError("\(action) needs a NAME; `tpbench workloads` lists them") }
            guard BuiltInWorkloads.entry(named: name) != nil else {
                throw ValidationError("'\(name)' is not a built-in; choose one of "
                                      + BuiltInWorkloads.topLevel.map(\.name).joined(separator: ", "))
            }
        }
    }

    func run() throws {
        switch action {
        case "show":
            print(BuiltInWorkloads.entry(named: name!)!.text, terminator: "")
        case "write":
            let paths = try BuiltInWorkloads.write(name!, to: URL(fileURLWithPath: to), overwrite: force)
            for path in paths { print("wrote \(path)") }
        default:
            let entries = BuiltInWorkloads.topLevel
            let width = entries.map(\.name.count).max() ?? 0
            for entry in entries {
                print(entry.name.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + entry.summary)
            }
            print("\n(`tpbench workloads write NAME --to DIR` writes one out with its schemas/ and data/ files)")
        }
    }
}
