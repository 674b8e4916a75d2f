import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Metrics
import Testing
@testable import Report

/// Collects element names and text so tests can check an SVG is well-formed and labelled.
final class SVGInspector: NSObject, XMLParserDelegate {
    var elements: [String: Int] = [:]
    var texts: [String] = []
    var rootAttributes: [String: String] = [:]
    private var current = ""

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        if elements.isEmpty { rootAttributes = attributes }
        elements[name, default: 0] += 1
        current = ""
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) { current += string }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        if name == "text" { texts.append(current) }
        current = ""
    }

    static func inspect(_ svg: String) throws -> SVGInspector {
        let inspector = SVGInspector()
        let parser = XMLParser(data: Data(svg.utf8))
        parser.delegate = inspector
        let ok = parser.parse()
        #expect(ok, "not well-formed XML: \(parser.parserError.map { "\($0)" } ?? "?")")
        return inspector
    }
}

@Suite struct SVGChartTests {
    @Test func everyReportChartIsWellFormedWithAxesLabelsAndLegend() throws {
        let directory = try Fixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let records = Fixture.records()
        try ReportWriter.write(result: Fixture.result(records), records: records, to: directory)
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.appendingPathComponent("charts").path)
        #expect(Set(files) == ["ttft-cdf.svg", "itl-event-distribution.svg", "ttft-over-time.svg",
                               "output-tokens-per-second.svg", "requests-in-flight.svg"])
        for file in files {
            let svg = try String(contentsOf: directory.appendingPathComponent("charts/\(file)"), encoding: .utf8)
            let chart = try SVGInspector.inspect(svg)
            #expect(chart.rootAttributes["viewBox"] == "0 0 800 450", "\(file)")
            #expect(chart.rootAttributes["width"] == "800" && chart.rootAttributes["height"] == "450")
            #expect((chart.elements["polyline"] ?? 0) >= 2, "\(file): one line per target")
            #expect((chart.elements["line"] ?? 0) >= 8, "\(file): axes and grid")
            #expect(chart.texts.contains("tp1") && chart.texts.contains(Fixture.awkwardTarget), "\(file): legend")
            #expect(chart.texts.contains { $0.contains("(ms)") || $0.contains("(s)") || $0.contains("/s") },
                    "\(file): units on an axis")
            #expect(chart.texts.contains("0"), "\(file): ticks start at zero")
            #expect(!svg.contains("nan") && !svg.contains("inf"), "\(file)")
        }
        let cdf = try SVGInspector.inspect(
            String(contentsOf: directory.appendingPathComponent("charts/ttft-cdf.svg"), encoding: .utf8))
        #expect(cdf.texts.contains("100%") && cdf.texts.contains("time to first token (ms)"))
    }

    @Test func emptyChartSaysSoAndStaysWellFormed() throws {
        let svg = ReportCharts.latencyCDF(title: "TTFT <none> & \"empty\"", xLabel: "ms", histograms: []).render()
        let chart = try SVGInspector.inspect(svg)
        #expect(chart.texts.contains("no data"))
        #expect(chart.texts.contains("TTFT <none> & \"empty\""))
    }

    @Test(arguments: [(0.0, 1.0), (0.0, 437.0), (12.0, 13.5), (0.0, 98_765.0), (-5.0, 5.0), (0.0, 0.0)])
    func niceTicksCoverTheRangeWithRoundSteps(low: Double, high: Double) {
        let scale = NiceScale(range: low...max(low, high))
        #expect(scale.lower <= low && scale.upper >= high)
        #expect((3...12).contains(scale.ticks.count))
        let mantissa = scale.step / pow(10, log10(scale.step).rounded(.down))
        #expect([1, 2, 5, 10].contains { abs(mantissa - Double($0)) < 1e-9 })
    }

    @Test func tickLabelsAreShortAndExact() {
        #expect(NiceScale.format(200, step: 50) == "200")
        #expect(NiceScale.format(0.2, step: 0.2) == "0.2")
        #expect(NiceScale.format(0.05, step: 0.05) == "0.05")
        #expect(NiceScale.format(20_000, step: 5_000) == "20k")
    }

    @Test func comparisonChartsAreReusable() throws {
        let a = LatencyHistogram(milliseconds: (1...500).map { Double($0) })
        let b = LatencyHistogram(milliseconds: (1...500).map { Double($0) * 2.8 })
        let cdf = ReportCharts.latencyCDF(title: "TTFT CDF of all deployments", xLabel: "TTFT (ms)", histograms: [
            .init(name: "TP=1 x4 replicas", histogram: a), .init(name: "TP=4", histogram: b),
        ]).render()
        #expect(try SVGInspector.inspect(cdf).elements["polyline"] == 2)
        let scatter = ReportCharts.throughputVsLatency(
            title: "Throughput vs latency", xLabel: "output tokens/s", yLabel: "TTFT p99 (ms)",
            points: [("TP=1", 4200, 380), ("TP=4", 3900, 1100)]).render()
        let inspected = try SVGInspector.inspect(scatter)
        #expect(inspected.elements["circle"] == 2)
        #expect(inspected.texts.contains("TP=4"))
    }
}
