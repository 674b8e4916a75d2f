import Foundation

/// Appends SVG elements to a string; escapes text so any target or workload name yields well-formed XML.
struct SVGBuilder {
    private var body = ""
    private let width: Int
    private let height: Int
    private var clipCount = 0

    init(width: Int, height: Int) {
        self.width = width
        self.height = height
    }

    mutating func rect(x: Double, y: Double, width: Double, height: Double, fill: String) {
        body += "<rect x=\"\(n(x))\" y=\"\(n(y))\" width=\"\(n(width))\" height=\"\(n(height))\" fill=\"\(fill)\"/>\n"
    }

    mutating func line(x1: Double, y1: Double, x2: Double, y2: Double, stroke: String, width: Double = 1) {
        body += "<line x1=\"\(n(x1))\" y1=\"\(n(y1))\" x2=\"\(n(x2))\" y2=\"\(n(y2))\" stroke=\"\(stroke)\""
            + " stroke-width=\"\(n(width))\"/>\n"
    }

    mutating func circle(cx: Double, cy: Double, r: Double, fill: String) {
        body += "<circle cx=\"\(n(cx))\" cy=\"\(n(cy))\" r=\"\(n(r))\" fill=\"\(fill)\"/>\n"
    }

    mutating func polyline(_ points: [(Double, Double)], stroke: String) {
        guard !points.isEmpty else { return }
        let list = points.map { "\(n($0.0)),\(n($0.1))" }.joined(separator: " ")
        body += "<polyline points=\"\(list)\" fill=\"none\" stroke=\"\(stroke)\" stroke-width=\"2\""
            + " stroke-linejoin=\"round\"/>\n"
    }

    mutating func text(_ content: String, x: Double, y: Double, size: Int, anchor: String, weight: String = "normal",
                       fill: String = "#222222", rotate: Double? = nil) {
        let transform = rotate.map { " transform=\"rotate(\(n($0)) \(n(x)) \(n(y)))\"" } ?? ""
        body += "<text x=\"\(n(x))\" y=\"\(n(y))\" font-size=\"\(size)\" text-anchor=\"\(anchor)\""
            + " font-weight=\"\(weight)\" fill=\"\(fill)\"\(transform)>\(Self.escape(content))</text>\n"
    }

    /// Clips series to the plot area so a fixed axis range never lets lines run over the labels.
    mutating func openClip(x: Double, y: Double, width: Double, height: Double) {
        clipCount += 1
        let id = "plot\(clipCount)"
        body += "<clipPath id=\"\(id)\"><rect x=\"\(n(x))\" y=\"\(n(y))\" width=\"\(n(width))\""
            + " height=\"\(n(height))\"/></clipPath>\n<g clip-path=\"url(#\(id))\">\n"
    }

    mutating func closeClip() {
        body += "</g>\n"
    }

    func finish() -> String {
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            + "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\""
            + " viewBox=\"0 0 \(width) \(height)\" font-family=\"DejaVu Sans, Liberation Sans, Arial, sans-serif\">\n"
            + body + "</svg>\n"
    }

    /// Coordinates with two decimals: sub-pixel enough, and keeps files small.
    private func n(_ value: Double) -> String {
        value.isFinite ? String(format: "%.2f", value) : "0"
    }

    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            // Control characters are not allowed in XML 1.0 at all.
            case _ where scalar.value < 0x20 && scalar != "\t" && scalar != "\n": out += " "
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
