import Foundation
import Testing
@testable import Report

/// A chart no one can read is a defect: headless Chromium (Debian package `chromium`) renders one chart to PNG
/// and the PNG must be far from blank. Without Chromium the test fails and says how to install it.
@Suite struct BrowserRenderTests {
    static let width = 800, height = 450

    static func chromium() -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for name in ["chromium", "chromium-browser", "google-chrome"] {
            for directory in path.split(separator: ":") {
                let candidate = "\(directory)/\(name)"
                if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            }
        }
        return nil
    }

    /// Screenshots `svg` and returns the PNG bytes.
    static func screenshot(_ svg: URL, browser: String, into directory: URL) throws -> Data {
        let png = directory.appendingPathComponent(svg.deletingPathExtension().lastPathComponent + ".png")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: browser)
        // --no-sandbox: CI runs as root, where Chromium refuses its sandbox. A private profile keeps runs apart.
        process.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                             "--user-data-dir=\(directory.appendingPathComponent("profile").path)",
                             "--screenshot=\(png.path)", "--window-size=\(width),\(height)", svg.absoluteString]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(120)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        return try Data(contentsOf: png)
    }

    /// Width and height from the PNG's IHDR chunk.
    static func pngSize(_ data: Data) -> (Int, Int)? {
        let bytes = [UInt8](data.prefix(24))
        guard bytes.count == 24, bytes[0..<8] == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] else { return nil }
        func be32(_ at: Int) -> Int { bytes[at..<at + 4].reduce(0) { $0 << 8 | Int($1) } }
        return (be32(16), be32(20))
    }

    @Test func chromiumRendersTheTTFTChartAsAVisibleImage() throws {
        let browser = try #require(Self.chromium(), """
            headless Chromium is needed to check that charts render: install it with \
            `apt-get install -y chromium` (Debian package `chromium`)
            """)
        let directory = try Fixture.temporaryDirectory()
        let keep = ProcessInfo.processInfo.environment["TPBENCH_KEEP_RENDER"] != nil
        defer { if !keep { try? FileManager.default.removeItem(at: directory) } }
        let records = Fixture.records()
        try ReportWriter.write(result: Fixture.result(records), records: records, to: directory)
        let blank = directory.appendingPathComponent("blank.svg")
        try """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Self.width)" height="\(Self.height)" \
            viewBox="0 0 \(Self.width) \(Self.height)"><rect width="100%" height="100%" fill="#ffffff"/></svg>
            """.write(to: blank, atomically: true, encoding: .utf8)

        let chart = try Self.screenshot(directory.appendingPathComponent("charts/ttft-cdf.svg"), browser: browser,
                                        into: directory)
        let baseline = try Self.screenshot(blank, browser: browser, into: directory)
        if keep { print("rendered chart: \(directory.appendingPathComponent("ttft-cdf.png").path)") }
        #expect(Self.pngSize(chart).map { $0 == (Self.width, Self.height) } == true, "PNG size")
        #expect(Self.pngSize(baseline) != nil)
        // A white page compresses to almost nothing; axes, text and curves do not. Deflate size is a robust
        // stand-in for "non-white pixels" without a PNG decoder.
        #expect(chart.count > 5 * baseline.count, "chart PNG \(chart.count) B vs blank \(baseline.count) B")
        #expect(chart.count > 8_000, "chart PNG is only \(chart.count) bytes")
    }
}
