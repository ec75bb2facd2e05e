import Foundation

/// Building blocks of the console's pages: escaping, the layout (one inline style sheet, no
/// external resource of any kind), tables and formats.
enum HTML {
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for c in text.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    static func link(_ href: String, _ text: String) -> String {
        "<a href=\"\(escape(href))\">\(escape(text))</a>"
    }

    /// A whole page: navigation, title, the body given, and a footer saying what it shows.
    static func page(title: String, links: ConsoleLinks, current: String, body: String, footer: String) -> String {
        let nav = [("Fleet", links.overview), ("Alerts", links.alerts(ConsoleFilter())), ("Actions", links.actions)]
            .map { name, href in "<a href=\"\(escape(href))\"\(name == current ? " class=\"here\"" : "")>\(name)</a>" }
            .joined(separator: " ")
        return """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(escape(title)) · BMA</title>
        <style>\(style)</style>
        </head><body>
        <header><span class="brand">BMA analyzer</span> <nav>\(nav)</nav></header>
        <main>
        <h1>\(escape(title))</h1>
        \(body)
        </main>
        <footer>\(escape(footer))</footer>
        </body></html>

        """
    }

    static let style = """
    body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
    header{background:#1d2330;color:#fff;padding:8px 20px}header a{color:#cfd8e3;margin-right:14px;text-decoration:none}
    header a.here{color:#fff;font-weight:600;border-bottom:2px solid #6cb4ff}.brand{font-weight:700;margin-right:24px}
    main{padding:12px 20px;max-width:1200px}h1{font-size:22px;margin:8px 0 12px}h2{font-size:17px;margin:22px 0 8px}
    table{border-collapse:collapse;background:#fff;width:100%;margin-bottom:8px}th,td{padding:4px 8px;border-bottom:1px solid #e3e6ea;text-align:left;vertical-align:top}
    th{background:#eef1f4;font-weight:600}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
    .cards{display:flex;flex-wrap:wrap;gap:12px}.card{background:#fff;border:1px solid #e3e6ea;border-radius:6px;padding:10px 14px;min-width:140px}
    .card b{display:block;font-size:22px}.plot{background:#fff;border:1px solid #e3e6ea;border-radius:6px;padding:6px;margin-bottom:8px}
    .sev1{color:#b00020;font-weight:600}.sev2{color:#c25e00;font-weight:600}.sev3{color:#5f6b7a}
    .note{color:#5f6b7a}.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:12px}
    form.filter{background:#fff;border:1px solid #e3e6ea;border-radius:6px;padding:8px 10px;margin-bottom:10px}
    form.filter label{margin-right:12px}footer{color:#5f6b7a;padding:12px 20px;font-size:12px}
    code{background:#eef1f4;padding:1px 4px;border-radius:3px}.wrap{word-break:break-all}
    """

    /// A table; cells are HTML already (escape text before). Columns named with a leading "#"
    /// are numbers (right-aligned).
    static func table(_ columns: [String], _ rows: [[String]], empty: String) -> String {
        guard !rows.isEmpty else { return "<p class=\"note\">\(escape(empty))</p>" }
        let numeric = columns.map { $0.hasPrefix("#") }
        let head = columns.map { "<th\($0.hasPrefix("#") ? " class=\"n\"" : "")>\(escape($0.hasPrefix("#") ? String($0.dropFirst()) : $0))</th>" }.joined()
        let body = rows.map { row in
            "<tr>" + row.enumerated().map { i, cell in "<td\(i < numeric.count && numeric[i] ? " class=\"n\"" : "")>\(cell)</td>" }.joined() + "</tr>"
        }.joined(separator: "\n")
        return "<table><thead><tr>\(head)</tr></thead><tbody>\n\(body)\n</tbody></table>"
    }

    static func cards(_ items: [(String, String)]) -> String {
        "<div class=\"cards\">" + items.map { "<div class=\"card\"><b>\(escape($0.1))</b>\(escape($0.0))</div>" }.joined() + "</div>"
    }

    // MARK: Formats

    /// UTC, to the second: 2026-12-01 10:00:05.
    static func time(_ ns: UInt64) -> String {
        let s = ns / 1_000_000_000
        let (y, m, d) = civil(days: Int64(s / 86_400))
        let t = Int(s % 86_400)
        return String(format: "%04lld-%02d-%02d %02d:%02d:%02d", y, m, d, t / 3600, t / 60 % 60, t % 60)
    }

    static func civil(days: Int64) -> (Int64, Int, Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = Int(doy - (153 * mp + 2) / 5 + 1)
        let m = Int(mp < 10 ? mp + 3 : mp - 9)
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    static func count(_ n: Int) -> String {
        let digits = String(n)
        var out = ""
        for (i, c) in digits.reversed().enumerated() {
            if i > 0, i % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return String(out.reversed())
    }

    static func bytes(_ n: UInt64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var v = Double(n)
        var u = 0
        while v >= 1024, u < units.count - 1 { v /= 1024; u += 1 }
        return u == 0 ? "\(n) B" : String(format: "%.1f", v) + " " + units[u]
    }

    static func severity(_ s: Int) -> String {
        let name = [1: "high", 2: "medium", 3: "low"][s] ?? "sev \(s)"
        return "<span class=\"sev\(s)\">\(name)</span>"
    }
}
