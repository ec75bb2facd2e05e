import Analysis
import BMAContract

/// Response actions: what the analyzer's rules sent to bmad (and what they only would have sent
/// in dry run, or held back), newest first, with each action's expiry and whether it is still in
/// force; read from the store's responses.jsonl. Without any, the page says how to configure
/// them and names what bmad enforces otherwise.
enum ActionsPage {
    static func render(_ c: PageContext) -> String {
        let records = ResponseRecord.read(storeDirectory: c.store.store.directory)
        let body = records.isEmpty ? none : list(records, c)
        return HTML.page(title: "Actions", links: c.links, current: "Actions", body: body, footer: c.footer)
    }

    /// The most records listed (the latest).
    static let rows = 500

    static func list(_ records: [ResponseRecord], _ c: PageContext) -> String {
        let now = SystemClock.wallNanoseconds()
        let sent = records.filter { $0.expires_ns != nil }
        let inForce = sent.filter { ($0.expires_ns ?? 0) > now }
        var html = HTML.cards([("actions sent to bmad", HTML.count(sent.count)), ("in force now", HTML.count(inForce.count)),
                               ("dry run / held back", HTML.count(records.count - sent.count))])
        let shown = records.suffix(rows).reversed()
        html += HTML.table(
            ["Time (UTC)", "Rule", "Outcome", "Action", "Target", "VM", "Expires (UTC)", "State", "#bmad id", "Alert"],
            shown.map { r in
                let state: String
                if let e = r.expires_ns { state = e > now ? "<b>in force</b>" : "expired" } else { state = "—" }
                let vm = r.vm.map { c.scopeVM == nil ? HTML.link(c.links.vm($0), c.store.vmName($0)) : HTML.escape(c.store.vmName($0)) } ?? "—"
                return [HTML.escape(HTML.time(r.alert_ns)), HTML.escape(r.rule), HTML.escape(r.outcome + (r.error.map { ": \($0)" } ?? "")),
                        "<code>\(HTML.escape(r.kind))</code> \(HTML.escape(String(format: "%g s", r.seconds)))",
                        HTML.escape(r.target), vm, r.expires_ns.map { HTML.escape(HTML.time($0)) } ?? "—", state,
                        r.action_id.map(String.init) ?? "—", HTML.escape(r.signature)]
            }, empty: "")
        if records.count > rows { html += "<p class=\"note\">The latest \(rows) of \(records.count).</p>" }
        html += "<p class=\"note\">On the host: <code>bmactl action list</code> shows what bmad enforces, with counters; "
            + "<code>bmactl action remove ID</code> ends an action early.</p>"
        return html
    }

    static let none = """
        <p><b>No response actions are configured</b>, or none has been sent yet. The analyzer sends actions \
        (drop, rate-limit, force-mirror, allow) to bmad under the rules of the <code>response:</code> section \
        of its configuration (docs/response.md).</p>
        <h2>What a host enforces otherwise</h2>
        <table><thead><tr><th>On the host</th><th>Command</th></tr></thead><tbody>
        <tr><td>Response actions, with counters and expiry</td><td><code>bmactl action list</code>, <code>bmactl action add</code></td></tr>
        <tr><td>Mirror policies (always, never, on-anomaly; rate limits, sticky seconds)</td><td><code>bmactl policy list</code></td></tr>
        <tr><td>Forced mirroring of a VM or a flow, with its expiry</td><td><code>bmactl mirror force VM --seconds N</code>, <code>bmactl mirror cancel VM</code></td></tr>
        <tr><td>A VM's sensitivity</td><td><code>bmactl sensitivity set S --vm VM</code></td></tr>
        <tr><td>Keeping a baseline from learning</td><td><code>bmactl baseline freeze VM</code></td></tr>
        </tbody></table>
        """
}
