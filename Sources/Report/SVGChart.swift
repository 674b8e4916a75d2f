import Foundation

/// One named series of a chart.
package struct ChartSeries: Sendable, Equatable {
    package enum Style: Sendable, Equatable {
        /// Straight segments between points.
        case line
        /// Horizontal then vertical segments (CDFs and binned distributions).
        case step
        /// Markers only, each labelled with its `pointLabels` entry (e.g. throughput vs latency per deployment).
        case scatter
    }

    package var name: String
    package var points: [ChartPoint]
    package var style: Style
    /// Text drawn beside each point of a scatter series (same count as `points`, or empty).
    package var pointLabels: [String]

    package init(name: String, points: [ChartPoint], style: Style = .line, pointLabels: [String] = []) {
        self.name = name
        self.points = points.filter { $0.x.isFinite && $0.y.isFinite }
        self.style = style
        self.pointLabels = pointLabels
    }
}

package struct ChartPoint: Sendable, Equatable {
    package var x: Double
    package var y: Double

    package init(x: Double, y: Double) {
        self.x = x
        self.y = y
    }
}

/// A small hand-written SVG line/step/scatter chart: title, axes with "nice" ticks, axis labels with units, a
/// legend and a fixed palette. Hand-written because no Swift charting library is available offline, and plain SVG
/// renders in browsers, GitHub and IDE previews alike.
package struct SVGChart: Sendable {
    package var title: String
    /// A smaller second line under the title for caveats (binning, clipping).
    package var subtitle: String?
    /// Axis labels carry the unit, e.g. "TTFT (ms)".
    package var xLabel: String
    package var yLabel: String
    package var series: [ChartSeries]
    /// Fixed axis ranges; nil = from the data (starting at 0 when all values are positive).
    package var xRange: ClosedRange<Double>?
    package var yRange: ClosedRange<Double>?
    /// Formats tick values, e.g. as percentages for a CDF.
    package var yTickFormat: TickFormat
    package var width: Int
    package var height: Int
    /// Shown in the middle of the plot when there is nothing to draw, so an empty chart says why.
    package var emptyMessage: String

    package enum TickFormat: Sendable {
        case number
        /// Values 0…1 shown as 0%…100%.
        case percent
    }

    /// Colour-blind-safe palette (Okabe–Ito), in series order.
    package static let palette = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442",
                                 "#000000"]

    package init(title: String, xLabel: String, yLabel: String, series: [ChartSeries],
                xRange: ClosedRange<Double>? = nil, yRange: ClosedRange<Double>? = nil,
                yTickFormat: TickFormat = .number, width: Int = 800, height: Int = 450,
                emptyMessage: String = "no data", subtitle: String? = nil) {
        self.title = title
        self.subtitle = subtitle
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.series = series
        self.xRange = xRange
        self.yRange = yRange
        self.yTickFormat = yTickFormat
        self.width = width
        self.height = height
        self.emptyMessage = emptyMessage
    }

    private var legendRows: Int { series.count > 1 ? (series.count + 2) / 3 : 0 }

    /// The chart as a standalone SVG document.
    package func render() -> String {
        let left = 78.0, right = 24.0, top = subtitle == nil ? 44.0 : 58.0
        let bottom = 58.0 + Double(legendRows) * 20
        let plotW = Double(width) - left - right, plotH = Double(height) - top - bottom
        let all = series.flatMap(\.points)
        let xTicks = NiceScale(range: xRange ?? Self.dataRange(all.map(\.x)))
        let yTicks = NiceScale(range: yRange ?? Self.dataRange(all.map(\.y)))
        func px(_ x: Double) -> Double { left + (x - xTicks.lower) / (xTicks.upper - xTicks.lower) * plotW }
        func py(_ y: Double) -> Double { top + plotH - (y - yTicks.lower) / (yTicks.upper - yTicks.lower) * plotH }

        var svg = SVGBuilder(width: width, height: height)
        svg.rect(x: 0, y: 0, width: Double(width), height: Double(height), fill: "#ffffff")
        svg.text(title, x: Double(width) / 2, y: 26, size: 16, anchor: "middle", weight: "bold")
        if let subtitle {
            svg.text(subtitle, x: Double(width) / 2, y: 44, size: 12, anchor: "middle", fill: "#555555")
        }
        // Grid and ticks.
        for tick in yTicks.ticks {
            let y = py(tick)
            svg.line(x1: left, y1: y, x2: left + plotW, y2: y, stroke: "#e3e3e3")
            let label = yTickFormat == .percent ? NiceScale.format(tick * 100, step: yTicks.step * 100) + "%"
                : NiceScale.format(tick, step: yTicks.step)
            svg.text(label, x: left - 8, y: y + 4, size: 12, anchor: "end")
        }
        for tick in xTicks.ticks {
            let x = px(tick)
            svg.line(x1: x, y1: top, x2: x, y2: top + plotH, stroke: "#efefef")
            svg.line(x1: x, y1: top + plotH, x2: x, y2: top + plotH + 5, stroke: "#333333")
            svg.text(NiceScale.format(tick, step: xTicks.step), x: x, y: top + plotH + 19, size: 12, anchor: "middle")
        }
        // Axes.
        svg.line(x1: left, y1: top + plotH, x2: left + plotW, y2: top + plotH, stroke: "#333333", width: 1.5)
        svg.line(x1: left, y1: top, x2: left, y2: top + plotH, stroke: "#333333", width: 1.5)
        svg.text(xLabel, x: left + plotW / 2, y: top + plotH + 40, size: 13, anchor: "middle")
        svg.text(yLabel, x: 20, y: top + plotH / 2, size: 13, anchor: "middle", rotate: -90)

        if all.isEmpty {
            svg.text(emptyMessage, x: left + plotW / 2, y: top + plotH / 2, size: 14, anchor: "middle", fill: "#777777")
        }
        svg.openClip(x: left, y: top, width: plotW, height: plotH)
        for (index, s) in series.enumerated() {
            let colour = Self.palette[index % Self.palette.count]
            let points = s.points.map { (px($0.x), py($0.y)) }
            switch s.style {
            case .line: svg.polyline(points, stroke: colour)
            case .step:
                var stepped: [(Double, Double)] = []
                for (i, p) in points.enumerated() {
                    if i > 0 { stepped.append((p.0, points[i - 1].1)) }
                    stepped.append(p)
                }
                svg.polyline(stepped, stroke: colour)
            case .scatter:
                for (i, p) in points.enumerated() {
                    svg.circle(cx: p.0, cy: p.1, r: 5, fill: colour)
                    if i < s.pointLabels.count {
                        svg.text(s.pointLabels[i], x: p.0 + 8, y: p.1 - 6, size: 11, anchor: "start")
                    }
                }
            }
        }
        svg.closeClip()
        // Legend: up to three entries per row under the x-axis label.
        if series.count > 1 {
            let column = (Double(width) - left - right) / 3
            for (index, s) in series.enumerated() {
                let x = left + Double(index % 3) * column
                let y = top + plotH + 60 + Double(index / 3) * 20
                let colour = Self.palette[index % Self.palette.count]
                svg.rect(x: x, y: y - 10, width: 14, height: 10, fill: colour)
                svg.text(s.name, x: x + 20, y: y, size: 12, anchor: "start")
            }
        } else if let only = series.first, !only.name.isEmpty {
            svg.text(only.name, x: left + plotW, y: top - 8, size: 12, anchor: "end", fill: Self.palette[0])
        }
        return svg.finish()
    }

    /// Data extent, anchored at zero for non-negative data (latencies and rates read wrongly from a cut axis).
    static func dataRange(_ values: [Double]) -> ClosedRange<Double> {
        guard let low = values.min(), let high = values.max() else { return 0...1 }
        let lower = low >= 0 ? 0 : low
        return lower...(high > lower ? high : lower + 1)
    }
}

/// Axis ticks at 1, 2 or 5 × 10^k covering a range with about `target` intervals.
package struct NiceScale: Sendable {
    package let lower: Double
    package let upper: Double
    package let step: Double

    package init(range: ClosedRange<Double>, target: Int = 6) {
        // A single value still gets an axis around it.
        let range = range.upperBound > range.lowerBound ? range : range.lowerBound...(range.lowerBound + 1)
        let raw = (range.upperBound - range.lowerBound) / Double(target)
        let magnitude = pow(10, (log10(raw)).rounded(.down))
        let fraction = raw / magnitude
        let nice: Double = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10
        step = nice * magnitude
        lower = (range.lowerBound / step).rounded(.down) * step
        upper = (range.upperBound / step).rounded(.up) * step
    }

    package var ticks: [Double] {
        let count = Int(((upper - lower) / step).rounded())
        return (0...count).map { lower + Double($0) * step }
    }

    /// A tick label with as many decimals as the step needs (0.25 → "0.25", 200 → "200", 15000 → "15k").
    package static func format(_ value: Double, step: Double) -> String {
        if abs(value) >= 10_000 && step >= 1000 { return format(value / 1000, step: step / 1000) + "k" }
        let decimals = step >= 1 ? 0 : Int((-log10(step)).rounded(.up))
        let text = String(format: "%.\(decimals)f", value)
        return text == "-0" ? "0" : text
    }
}
