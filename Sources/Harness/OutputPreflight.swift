#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// An output directory that cannot hold a run's results.
package struct OutputDirectoryError: Error, Sendable, CustomStringConvertible {
    package var path: String
    package var reason: String

    package var description: String {
        "cannot write results to --out \(path): \(reason) (choose another --out directory or free disk space)"
    }
}

/// Checks, before anything is sent, that a run's results can be written: measuring into a directory that
/// turns out unwritable (or a full disk) at the end would waste the whole run.
package enum OutputPreflight {
    /// Free space below which a run does not start: requests.jsonl takes ~1 KB per request and the report
    /// files a few MB.
    package static let minimumFreeBytes: UInt64 = 16 << 20

    /// Creates `directory`, writes and removes a probe file in it, and checks the free space of its file system.
    /// - Throws: `OutputDirectoryError` naming the path and the system's reason.
    package static func check(_ directory: URL, minimumFreeBytes: UInt64 = OutputPreflight.minimumFreeBytes) throws {
        let path = directory.path
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            let underlying = (error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError
            let reason = underlying?.domain == NSPOSIXErrorDomain
                ? String(cString: strerror(Int32(underlying?.code ?? 0))) : (error as NSError).localizedDescription
            throw OutputDirectoryError(path: path, reason: "cannot create the directory (\(reason))")
        }
        let probe = directory.appendingPathComponent(".tpbench-write-test-\(getpid())").path
        guard let file = fopen(probe, "w") else {
            throw OutputDirectoryError(path: path, reason: "not writable (\(String(cString: strerror(errno))))")
        }
        let written = fputs("ok\n", file) >= 0 && fflush(file) == 0
        let reason = String(cString: strerror(errno))
        fclose(file)
        unlink(probe)
        guard written else { throw OutputDirectoryError(path: path, reason: "writing failed (\(reason))") }
        var stats = statvfs()
        if statvfs(path, &stats) == 0 {
            let free = UInt64(stats.f_bavail) * UInt64(stats.f_frsize)
            if free < minimumFreeBytes {
                throw OutputDirectoryError(
                    path: path, reason: "only \(free >> 20) MiB free, at least \(minimumFreeBytes >> 20) MiB needed")
            }
        }
    }
}
