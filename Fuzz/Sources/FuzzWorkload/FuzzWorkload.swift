import Foundation
import Workload

/// Loads arbitrary text as a workload file: it must be accepted or rejected with issues, never crash or hang.
/// File references resolve against an empty scratch directory, so datasets and schemas are simply missing.
private let base = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("tpbench-fuzz-empty")

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWorkload(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    do {
        let spec = try WorkloadLoader.parse(text, file: "fuzz.yaml", baseDirectory: base)
        _ = LoadPlan(spec.load)
    } catch {
        _ = "\(error)"
    }
    return 0
}

/// SwiftPM links executables with `main` aliased to `FuzzWorkload_main`, so libFuzzer's own `main` is never used: this
/// entry point hands control to libFuzzer's driver instead.
@_cdecl("FuzzWorkload_main")
public func fuzzWorkloadMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv, fuzzWorkload)
}

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt
