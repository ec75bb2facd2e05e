import Foundation

/// Plots as inline SVG: drawn on the server, readable without JavaScript, printable and kept
/// whole in a static report.
enum SVGPlot {
    static let palette = ["#2f6fd6", "#d9480f", "#2b8a3e", "#9c36b5", "#c2255c", "#0b7285", "#e67700", "#5c940d", "#495057"]

    struct Series {
        var name: String
        var values: [Double]
    }

    /// One line per series over time buckets (bucket i starts at `starts[i]`), with axes, a grid,
    /// time labels and a legend. An empty plot says so instead of drawing a flat line.
    static func lines(_ series: [Series], starts: [UInt64], bucketNs: UInt64, unit: String, width: Int = 560, height: Int = 220,
                      empty: String = "nothing in this range") -> String {
        let left = 52.0, right = 12.0, top = 12.0, bottom = 42.0 + Double((series.count + 2) / 3) * 16
        let h = Double(height) + Double((series.count + 2) / 3) * 16
        let w = Double(width)
        let plotW = w - left - right, plotH = h - top - bottom
        let maxValue = series.flatMap(\.values).max() ?? 0
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(width) \(Int(h))\" width=\"100%\" role=\"img\" aria-label=\"\(HTML.escape(unit))\">"
        svg += "<rect x=\"0\" y=\"0\" width=\"\(width)\" height=\"\(Int(h))\" fill=\"#fff\"/>"
        guard maxValue > 0, let n = series.first?.values.count, n > 0 else {
            return svg + "<text x=\"\(width / 2)\" y=\"\(Int(h) / 2)\" text-anchor=\"middle\" fill=\"#5f6b7a\" font-size=\"13\">\(HTML.escape(empty))</text></svg>"
        }
        let top_ = niceCeiling(maxValue)
        func x(_ i: Int) -> Double { left + (n == 1 ? plotW / 2 : Double(i) * plotW / Double(n - 1)) }
        func y(_ v: Double) -> Double { top + plotH - v / top_ * plotH }
        for k in 0...4 {
            let v = top_ * Double(k) / 4
            let yy = y(v)
            svg += "<line x1=\"\(f(left))\" y1=\"\(f(yy))\" x2=\"\(f(w - right))\" y2=\"\(f(yy))\" stroke=\"#e3e6ea\"/>"
            svg += "<text x=\"\(f(left - 6))\" y=\"\(f(yy + 4))\" text-anchor=\"end\" font-size=\"11\" fill=\"#5f6b7a\">\(short(v))</text>"
        }
        let labelEvery = max(1, n / 5)
        for i in stride(from: 0, to: n, by: labelEvery) where i < starts.count {
            svg += "<text x=\"\(f(x(i)))\" y=\"\(f(top + plotH + 16))\" text-anchor=\"middle\" font-size=\"11\" fill=\"#5f6b7a\">\(timeLabel(starts[i], spanNs: bucketNs * UInt64(n)))</text>"
        }
        svg += "<line x1=\"\(f(left))\" y1=\"\(f(top + plotH))\" x2=\"\(f(w - right))\" y2=\"\(f(top + plotH))\" stroke=\"#8a94a3\"/>"
        for (k, s) in series.enumerated() {
            let color = palette[k % palette.count]
            let points = s.values.enumerated().map { "\(f(x($0.offset))),\(f(y($0.element)))" }.joined(separator: " ")
            svg += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\" points=\"\(points)\"><title>\(HTML.escape(s.name))</title></polyline>"
            let lx = left + Double(k % 3) * (plotW / 3), ly = top + plotH + 34 + Double(k / 3) * 16
            svg += "<rect x=\"\(f(lx))\" y=\"\(f(ly - 9))\" width=\"10\" height=\"10\" fill=\"\(color)\"/>"
            svg += "<text x=\"\(f(lx + 14))\" y=\"\(f(ly))\" font-size=\"12\" fill=\"#1d2330\">\(HTML.escape(s.name)) (\(short(s.values.reduce(0, +))))</text>"
        }
        svg += "<text x=\"\(f(left))\" y=\"\(f(top - 2))\" font-size=\"11\" fill=\"#5f6b7a\">\(HTML.escape(unit))</text>"
        return svg + "</svg>"
    }

    /// Horizontal bars, largest first as given; labels longer than their column are cut (the
    /// whole label is the bar's tooltip).
    static func bars(_ items: [(label: String, value: Double, color: String?)], width: Int = 560, labelWidth: Double = 190) -> String {
        let row = 22.0, labelW = labelWidth, right = 60.0
        let maxChars = Int(labelW / 6.8)
        let h = (items.map(\.value).max() ?? 0) > 0 ? Int(Double(items.count) * row + 8) : 28
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(width) \(h)\" width=\"100%\" role=\"img\">"
        svg += "<rect x=\"0\" y=\"0\" width=\"\(width)\" height=\"\(h)\" fill=\"#fff\"/>"
        let maxValue = items.map(\.value).max() ?? 0
        guard maxValue > 0 else {
            return svg + "<text x=\"\(width / 2)\" y=\"18\" text-anchor=\"middle\" fill=\"#5f6b7a\" font-size=\"13\">none</text></svg>"
        }
        let barW = Double(width) - labelW - right
        for (i, item) in items.enumerated() {
            let y = 4 + Double(i) * row
            let len = max(1, item.value / maxValue * barW)
            let color = item.color ?? palette[i % palette.count]
            let label = item.label.count > maxChars ? item.label.prefix(maxChars - 1) + "…" : item.label
            svg += "<text x=\"\(f(labelW - 6))\" y=\"\(f(y + 15))\" text-anchor=\"end\" font-size=\"12\" fill=\"#1d2330\">\(HTML.escape(label))</text>"
            svg += "<rect x=\"\(f(labelW))\" y=\"\(f(y + 3))\" width=\"\(f(len))\" height=\"15\" rx=\"2\" fill=\"\(color)\"><title>\(HTML.escape(item.label)): \(short(item.value))</title></rect>"
            svg += "<text x=\"\(f(labelW + len + 4))\" y=\"\(f(y + 15))\" font-size=\"12\" fill=\"#1d2330\">\(short(item.value))</text>"
        }
        return svg + "</svg>"
    }

    static func f(_ v: Double) -> String { String(format: "%.1f", v) }

    static func short(_ v: Double) -> String {
        if v >= 1_000_000 { return String(format: "%.1fM", v / 1_000_000) }
        if v >= 10_000 { return String(format: "%.0fk", v / 1000) }
        if v == v.rounded() { return String(Int(v)) }
        return String(format: "%.1f", v)
    }

    /// 1, 2 or 5 times a power of ten, at least `v`.
    static func niceCeiling(_ v: Double) -> Double {
        let p = pow(10, floor(log10(v)))
        for m in [1.0, 2, 5, 10] where m * p >= v { return m * p }
        return 10 * p
    }

    /// HH:MM:SS for a range within an hour, HH:MM within a day, else MM-DD HH:MM (UTC).
    static func timeLabel(_ ns: UInt64, spanNs: UInt64) -> String {
        let full = HTML.time(ns)  // 2026-12-01 10:00:05
        let parts = full.split(separator: " ")
        if spanNs <= 3_600_000_000_000 { return String(parts[1]) }
        let hm = String(parts[1].prefix(5))
        return spanNs <= TimeRange.day ? hm : "\(parts[0].dropFirst(5)) \(hm)"
    }
}
