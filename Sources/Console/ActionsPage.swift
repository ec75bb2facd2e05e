/// Response actions. The analyzer sends none to bmad yet, and the page says so rather than
/// showing an empty list as if nothing were needed; it names what bmad does enforce today.
enum ActionsPage {
    static func render(_ c: PageContext) -> String {
        let body = """
        <p><b>No response actions are configured.</b> This analyzer raises alerts; it does not send actions \
        (drop, rate-limit, allow) to bmad, so nothing is enforced from here and nothing expires.</p>
        <h2>What a host enforces today</h2>
        <table><thead><tr><th>On the host</th><th>Command</th></tr></thead><tbody>
        <tr><td>Mirror policies (always, never, on-anomaly; rate limits, sticky seconds)</td><td><code>bmactl policy list</code></td></tr>
        <tr><td>Forced mirroring of a VM or a flow, with its expiry</td><td><code>bmactl mirror force VM --seconds N</code>, <code>bmactl mirror cancel VM</code></td></tr>
        <tr><td>A VM's sensitivity</td><td><code>bmactl sensitivity set S --vm VM</code></td></tr>
        <tr><td>Keeping a baseline from learning</td><td><code>bmactl baseline freeze VM</code></td></tr>
        </tbody></table>
        """
        return HTML.page(title: "Actions", links: c.links, current: "Actions", body: body, footer: c.footer)
    }
}
