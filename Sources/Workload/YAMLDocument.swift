import Foundation
import Yams

/// Reading a file tpbench parses with `NodeReader` (workloads, deployments, presets, model configs, device files):
/// the text, then its root node, each failure a `WorkloadError` of the file's kind.
enum YAMLDocument {
    /// The file's text; an error naming the reason and `hint` (what to check, what the file should be).
    static func read(_ path: String, kind: String, hint: String) throws -> String {
        do {
            return try String(contentsOf: URL(fileURLWithPath: path), encoding: .utf8)
        } catch {
            throw failure(file: path, kind: kind, "cannot read the file (\(error.localizedDescription)); \(hint)")
        }
    }

    /// The document's root node (JSON is YAML too); an error when it is not valid YAML or is empty.
    static func root(_ text: String, file: String, kind: String) throws -> Node {
        let root: Node?
        do { root = try Yams.compose(yaml: text) } catch { throw failure(file: file, kind: kind, "not valid YAML: \(error)") }
        guard let root else { throw failure(file: file, kind: kind, "the file is empty") }
        return root
    }

    private static func failure(file: String, kind: String, _ message: String) -> WorkloadError {
        WorkloadError(file: file, issues: [WorkloadIssue(path: "", line: nil, message: message)], kind: kind)
    }
}
