import Analysis

/// Alerts of the range, filtered by VM and signature (a plain GET form: no script needed), each
/// linking to its flow and to its packets as pcap.
enum AlertsPage {
    static func render(_ c: PageContext, filter: ConsoleFilter) throws -> String {
        let all = try c.alerts()
        let vmNames = Set(all.map(\.alert.vm)).union(c.store.vmNames.values).filter { !$0.isEmpty }.sorted()
        let signatures = Set(all.map(\.alert.alert.signature)).sorted()
        let shown = all.filter { a in
            (filter.vm.map { $0.isEmpty || $0 == a.alert.vm } ?? true)
                && (filter.signature.map { $0.isEmpty || $0 == a.alert.alert.signature } ?? true)
        }
        var body = "<p class=\"note\">\(HTML.escape(c.rangeText)).</p>"
        if !c.links.isStatic {
            func options(_ values: [String], _ selected: String?) -> String {
                "<option value=\"\">any</option>" + values.map {
                    "<option value=\"\(HTML.escape($0))\"\($0 == selected ? " selected" : "")>\(HTML.escape($0))</option>"
                }.joined()
            }
            body += """
            <form class="filter" method="get" action="/alerts">
            <label>VM <select name="vm">\(options(vmNames, filter.vm))</select></label>
            <label>Signature <select name="signature">\(options(signatures, filter.signature))</select></label>
            <label>Since <input name="since" size="18" value="\(HTML.escape(filter.since ?? ""))" placeholder="-1h, 2026-12-01T10:00Z"></label>
            <label>Until <input name="until" size="18" value="\(HTML.escape(filter.until ?? ""))" placeholder="now"></label>
            <button type="submit">Show</button>
            </form>
            """
        }
        let bySignature = Dictionary(grouping: shown, by: \.alert.alert.signature).map { ($0.key, $0.value.count) }
            .sorted { ($0.1, $1.0) > ($1.1, $0.0) }
        if !bySignature.isEmpty {
            body += "<h2>By signature</h2><div class=\"plot\">"
                + SVGPlot.bars(bySignature.prefix(10).map { (label: $0.0, value: Double($0.1), color: nil) }, width: 900, labelWidth: 400) + "</div>"
        }
        body += "<h2>\(HTML.count(shown.count)) alerts</h2>" + c.alertTable(shown)
        return HTML.page(title: "Alerts", links: c.links, current: "Alerts", body: body, footer: c.footer)
    }
}
