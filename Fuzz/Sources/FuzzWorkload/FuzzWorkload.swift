import Foundation
import Workload

/// Loads arbitrary text as a workload file: it must be accepted or rejected with issues, never crash or hang.
/// File references resolve against an empty scratch directory, so datasets and schemas are simply missing.
private let base = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("tpbench-fuzz-empty")

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWorkload(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    do {
        let spec = try WorkloadLoader.parse(text, file: "fuzz.yaml", baseDirectory: base)
        _ = LoadPlan(spec.load)
    } catch {
        _ = "\(error)"
    }
    return 0
}
