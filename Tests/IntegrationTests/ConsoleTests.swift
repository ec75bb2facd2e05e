import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The web console of `bma-analyzer serve` and `bma-analyzer report`, on a store filled from
/// what bmad mirrored of the masscan scenario: every page answers with its content, an alert's
/// pcap holds the alert's packets (read by tshark), the report writes the same pages, and an
/// address other than loopback needs a password.
final class ConsoleTests: IntegrationTestCase {
    func testConsoleServesEveryPageAndEachAlertsPackets() throws {
        guard DetectionTshark.path != nil else { throw XCTSkip("tshark is not installed") }
        let scratch = try makeScratch()
        let fixture = try ConsoleStoreFixture.make(in: scratch)
        XCTAssertGreaterThan(fixture.reasons["port-scan"] ?? 0, 100, "bmad mirrored the scan for port-scan: \(fixture.reasons)")
        let (analyzer, port) = try ConsoleHTTP.serve(store: fixture.store, in: scratch)
        defer { _ = analyzer.kill(signal: SIGTERM, grace: 5) }
        // The attack's day: the default range is the store's last day, which holds it too.
        let range = "since=\(fixture.attackSpan.lowerBound / 1_000_000_000 - 3600)&until=\(fixture.attackSpan.upperBound / 1_000_000_000 + 3600)"

        let overview = try ConsoleHTTP.get(port: port, "/?\(range)")
        XCTAssertEqual(overview.status, 200, overview.text)
        XCTAssertEqual(overview.headers["content-type"], "text/html; charset=utf-8")
        XCTAssertTrue(overview.headers["content-security-policy"]?.hasPrefix("default-src 'none';") ?? false, "\(overview.headers)")
        XCTAssertEqual(overview.headers["x-content-type-options"], "nosniff")
        XCTAssertTrue(overview.text.contains("cam1 (101)"), "the VM by name and id")
        let whole = try ConsoleHTTP.get(port: port, "/?since=0")
        XCTAssertTrue(whole.text.contains("cam2 (102)") && whole.text.contains("cam1 (101)"), "both VMs over the whole store")
        XCTAssertTrue(overview.text.contains("port-scan"), "the top reasons name bmad's reason")
        XCTAssertTrue(overview.text.contains("<polyline"), "the packets-over-time plot has a line")
        XCTAssertFalse(overview.text.contains("nothing in this range"), "no empty plot")
        Self.assertSelfContained(overview.text, "/")

        let vm = try ConsoleHTTP.get(port: port, "/vm/101?\(range)")
        XCTAssertEqual(vm.status, 200, vm.text)
        XCTAssertTrue(vm.text.contains("Why: reasons over time"))
        XCTAssertGreaterThanOrEqual(vm.text.components(separatedBy: "<polyline").count - 1, 2, "packets and one line per reason")
        XCTAssertTrue(vm.text.contains("<title>port-scan</title>"), "port-scan has its line in the reasons plot")
        XCTAssertTrue(vm.text.contains("198.124.152.15 tcp/"), "the scan's target among the destinations")
        XCTAssertTrue(vm.text.contains("Network performance of its mirrored TCP flows"))
        XCTAssertTrue(vm.text.contains("BMA SCAN vertical port scan of one host"), "its alert")
        Self.assertSelfContained(vm.text, "/vm/101")

        let actions = try ConsoleHTTP.get(port: port, "/actions")
        XCTAssertEqual(actions.status, 200)
        XCTAssertTrue(actions.text.contains("No response actions are configured"))

        let alerts = try ConsoleHTTP.get(port: port, "/alerts?since=0")
        XCTAssertEqual(alerts.status, 200, alerts.text)
        let alertPages = Array(Set(ConsoleHTTP.links(alerts.text).filter { $0.hasPrefix("/alerts/") && !$0.hasSuffix("/pcap") })).sorted()
        XCTAssertFalse(alertPages.isEmpty, "alerts link to their pages: \(alerts.text.prefix(3000))")
        let eve = try AnalyzerCommand.analyzerOK(["alerts", "--store", fixture.store, "--json"], in: scratch, label: "alerts")
        let expected = try EVE.objects(in: eve.stdout).map(\.alert)
        XCTAssertEqual(alertPages.count, expected.count, "one page per stored alert")

        // Filters: by VM and by signature; an unknown signature shows none.
        let scan = "BMA SCAN vertical port scan of one host"
        let bySignature = try ConsoleHTTP.get(port: port, "/alerts?vm=cam1&signature=\(scan.replacingOccurrences(of: " ", with: "+"))&\(range)")
        XCTAssertEqual(bySignature.status, 200)
        XCTAssertTrue(bySignature.text.contains("<h2>1 alerts</h2>"), String(bySignature.text.prefix(4000)))
        let tunnelVM = try ConsoleHTTP.get(port: port, "/alerts?vm=cam2&since=0")
        XCTAssertFalse(tunnelVM.text.contains(">\(scan)</a>"), "cam2 did not scan")
        XCTAssertTrue(tunnelVM.text.contains("<a href=\"/vm/102"), "cam2's alerts link to its page")
        let none = try ConsoleHTTP.get(port: port, "/alerts?signature=nothing&\(range)")
        XCTAssertTrue(none.text.contains("No alerts in this range."))
        let badTime = try ConsoleHTTP.get(port: port, "/alerts?since=yesterday-ish")
        XCTAssertEqual(badTime.status, 400)
        XCTAssertTrue(badTime.text.contains("since &#39;yesterday-ish&#39; is not a time"), badTime.text)
        XCTAssertEqual(try ConsoleHTTP.get(port: port, "/alerts/0-0").status, 404)
        XCTAssertEqual(try ConsoleHTTP.get(port: port, "/vm/notanumber").status, 404)
        XCTAssertEqual(try ConsoleHTTP.get(port: port, "/nowhere").status, 404)

        // The scan alert: its page lists its flow's packets and its pcap holds them.
        let scanAlert = try XCTUnwrap(expected.first { $0.alert.signature == scan })
        var checked = 0
        for page in alertPages {
            let alert = try ConsoleHTTP.get(port: port, page)
            XCTAssertEqual(alert.status, 200, page)
            guard alert.text.contains("<h1>\(scan)</h1>") else { continue }
            XCTAssertTrue(alert.text.contains("\(scanAlert.src_ip ?? "?") and \(scanAlert.dest_ip ?? "?")"), "its flow's hosts")
            let pcapLink = try XCTUnwrap(ConsoleHTTP.links(alert.text).first { $0.hasSuffix("/pcap") })
            let pcap = try ConsoleHTTP.get(port: port, pcapLink)
            XCTAssertEqual(pcap.status, 200)
            XCTAssertEqual(pcap.headers["content-type"], "application/vnd.tcpdump.pcap")
            XCTAssertTrue(pcap.headers["content-disposition"]?.contains("attachment; filename=\"alert-") ?? false)
            let file = scratch.file("alert.pcap")
            XCTAssertTrue(FileManager.default.createFile(atPath: file, contents: Data(pcap.body)))
            let rows = try AnalyzerTshark.rows(file, ["ip.src", "ip.dst", "tcp.dstport", "tcp.flags.syn"], in: scratch, label: "tshark-alert")
            XCTAssertGreaterThanOrEqual(rows.count, scanAlert.bma.count, "at least the alert's \(scanAlert.bma.count) probes")
            XCTAssertTrue(rows.allSatisfy { Set([$0["ip.src"], $0["ip.dst"]]) == Set([scanAlert.src_ip, scanAlert.dest_ip]) },
                          "only the alert's two hosts: \(rows.prefix(5))")
            let probedPorts = Set(rows.filter { $0["ip.src"] == scanAlert.src_ip }.compactMap { $0["tcp.dstport"] })
            XCTAssertTrue(probedPorts.contains(String(scanAlert.dest_port ?? 0)), "the alert's own flow is among them")
            XCTAssertGreaterThanOrEqual(probedPorts.count, Int(scanAlert.bma.details["distinct_ports"] ?? "") ?? 1, "every port the alert counted")
            XCTAssertTrue(alert.text.contains("Download its \(rows.count) packets (pcap)"), "the page counts what the pcap holds")
            checked += 1
        }
        XCTAssertEqual(checked, 1, "the scan alert's page was found among \(alertPages)")
    }

    func testReportWritesTheSamePagesAsFiles() throws {
        guard DetectionTshark.path != nil else { throw XCTSkip("tshark is not installed") }
        let scratch = try makeScratch()
        let fixture = try ConsoleStoreFixture.make(in: scratch)
        let out = scratch.file("report")
        let since = String(fixture.attackSpan.lowerBound / 1_000_000_000 - 3600)
        let until = String(fixture.attackSpan.upperBound / 1_000_000_000 + 3600)
        let run = try AnalyzerCommand.analyzerOK(["report", "--store", fixture.store, "--since", since, "--until", until, "--out", out],
                                                 in: scratch, label: "report")
        XCTAssertTrue(run.stdout.contains("report written to \(out)/index.html"), run.description)
        let files = try FileManager.default.contentsOfDirectory(atPath: out)
        for name in ["index.html", "vm-101.html", "alerts.html", "actions.html"] { XCTAssertTrue(files.contains(name), "\(name) in \(files)") }
        let alertFiles = files.filter { $0.hasPrefix("alert-") && $0.hasSuffix(".html") }
        XCTAssertFalse(alertFiles.isEmpty, "one page per alert: \(files)")
        try Self.assertLinksResolve(in: out)
        let index = try String(contentsOfFile: "\(out)/index.html", encoding: .utf8)
        XCTAssertTrue(index.contains("port-scan") && index.contains("cam1 (101)"), "the fleet page's content")
        let pcaps = try FileManager.default.contentsOfDirectory(atPath: "\(out)/pcap")
        XCTAssertFalse(pcaps.isEmpty)
        let rows = try AnalyzerTshark.rows("\(out)/pcap/\(pcaps.sorted()[0])", ["ip.src", "ip.dst"], in: scratch, label: "tshark-report")
        XCTAssertFalse(rows.isEmpty, "the report's pcap holds packets")

        // One VM only, and the errors of a report.
        let one = scratch.file("one")
        try AnalyzerCommand.analyzerOK(["report", "--store", fixture.store, "--vm", "cam1", "--since", since, "--until", until, "--out", one],
                                       in: scratch, label: "report-vm")
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(one)/vm-101.html"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(one)/vm-102.html"), "only the VM asked for")
        let oneIndex = try String(contentsOfFile: "\(one)/index.html", encoding: .utf8)
        XCTAssertTrue(oneIndex.contains("cam1 (101)") && !oneIndex.contains("cam2"), "the fleet page of one VM shows that VM")
        try Self.assertLinksResolve(in: one)
        let unknownVM = try AnalyzerCommand.analyzer(["report", "--store", fixture.store, "--vm", "cam9", "--out", one], in: scratch, label: "report-bad-vm")
        XCTAssertEqual(unknownVM.status, .exited(3), unknownVM.description)
        XCTAssertTrue(unknownVM.stderr.contains("did you mean 'cam1'"), unknownVM.description)
        let badTime = try AnalyzerCommand.analyzer(["report", "--store", fixture.store, "--since", "soon", "--out", one], in: scratch, label: "report-bad-time")
        XCTAssertEqual(badTime.status, .exited(2), badTime.description)
        let intoFile = try AnalyzerCommand.analyzer(["report", "--store", fixture.store, "--out", "\(one)/index.html"], in: scratch, label: "report-into-file")
        XCTAssertEqual(intoFile.status, .exited(1), intoFile.description)
        XCTAssertTrue(intoFile.stderr.hasPrefix("bma-analyzer: \(one)/index.html: cannot create"), intoFile.description)
        XCTAssertFalse(intoFile.crashed)
        let noStore = try AnalyzerCommand.analyzer(["report", "--store", scratch.file("nothing"), "--out", one], in: scratch, label: "report-no-store")
        XCTAssertEqual(noStore.status, .exited(3), noStore.description)
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch.file("nothing")), "a report never creates a store")
    }

    func testAnAddressOtherThanLoopbackNeedsAPassword() throws {
        let scratch = try makeScratch()
        let store = scratch.file("store")
        let base = ["serve", "--store", store, "--socket", scratch.file("an.sock"), "--vxlan-port", "0", "--status-interval", "0"]
        let open = try AnalyzerCommand.analyzer(base + ["--console-listen", "0.0.0.0:0"], in: scratch, label: "no-password", timeout: 30)
        XCTAssertEqual(open.status, .exited(2), open.description)
        XCTAssertTrue(open.stderr.contains("bma-analyzer: --console-listen 0.0.0.0:0: an address other than loopback needs --console-password-file"), open.description)
        XCTAssertFalse(FileManager.default.fileExists(atPath: store), "refused before the store is touched")

        for (value, message) in [("nowhere", "expected HOST:PORT"), ("127.0.0.1:99999", "is not a port"), ("example.org:80", "is not an IP address")] {
            let bad = try AnalyzerCommand.analyzer(base + ["--console-listen", value], in: scratch, label: "bad-listen", timeout: 30)
            XCTAssertEqual(bad.status, .exited(2), bad.description)
            XCTAssertTrue(bad.stderr.contains(message), bad.description)
        }
        let readable = try scratch.write("secret\n", to: "readable.pw")
        chmod(readable, 0o644)
        let loose = try AnalyzerCommand.analyzer(base + ["--console-listen", "0.0.0.0:0", "--console-password-file", readable], in: scratch,
                                                 label: "readable-password", timeout: 30)
        XCTAssertEqual(loose.status, .exited(2), loose.description)
        XCTAssertTrue(loose.stderr.contains("lets others read it"), loose.description)
        let config = try scratch.write("console_listen: 192.0.2.10:8080\n", to: "analyzer.yaml")
        let fromFile = try AnalyzerCommand.analyzer(["serve", "--config", config] + base.dropFirst(), in: scratch, label: "config", timeout: 30)
        XCTAssertEqual(fromFile.status, .exited(2), "the configuration file's address is checked too: \(fromFile.description)")

        // With a password: served on every address, and every page needs it.
        let password = try scratch.write("s3cret pass\n", to: "console.pw")
        chmod(password, 0o600)
        let (analyzer, port) = try ConsoleHTTP.serve(store: store, in: scratch, extra: ["--console-listen", "0.0.0.0:0", "--console-password-file", password])
        defer { _ = analyzer.kill(signal: SIGTERM, grace: 5) }
        XCTAssertTrue(analyzer.stdout.contains("(password required)"), analyzer.stdout)
        let anonymous = try ConsoleHTTP.get(port: port, "/")
        XCTAssertEqual(anonymous.status, 401)
        XCTAssertTrue(anonymous.headers["www-authenticate"]?.hasPrefix("Basic realm=") ?? false)
        let wrong = try ConsoleHTTP.get(port: port, "/", authorization: "Basic " + Data("analyst:guess".utf8).base64EncodedString())
        XCTAssertEqual(wrong.status, 401)
        let right = try ConsoleHTTP.get(port: port, "/", authorization: "Basic " + Data("analyst:s3cret pass".utf8).base64EncodedString())
        XCTAssertEqual(right.status, 200, right.text)
        XCTAssertTrue(right.text.contains("<h1>Fleet</h1>"))

        // An address asked for must be had: taken, the node does not start (exit 1).
        let taken = try AnalyzerCommand.analyzer(["serve", "--store", scratch.file("store2"), "--socket", scratch.file("an2.sock"),
                                                  "--geneve-port", String(try AnalyzerSensorTests.freeUDPPort()), "--vxlan-port", "0",
                                                  "--console-listen", "127.0.0.1:\(port)"], in: scratch, label: "taken", timeout: 30)
        XCTAssertEqual(taken.status, .exited(1), taken.description)
        XCTAssertTrue(taken.stderr.contains("bma-analyzer: --console-listen: cannot listen on 127.0.0.1:\(port): Address already in use"), taken.description)
        XCTAssertFalse(taken.crashed, taken.description)

        // off: no console at all.
        let off = try ChildProcess(name: "console-off", executable: try TestEnvironment.binary("bma-analyzer"),
                                   arguments: ["serve", "--store", scratch.file("store3"), "--socket", scratch.file("an3.sock"),
                                               "--geneve-port", String(try AnalyzerSensorTests.freeUDPPort()), "--vxlan-port", "0",
                                               "--status-interval", "0", "--console-listen", "off"], directory: scratch.path)
        defer { _ = off.kill(signal: SIGKILL, grace: 1) }
        try off.waitForLine(containing: "bma-analyzer: listening on", timeout: 30)
        XCTAssertFalse(off.stdout.contains("console"), off.stdout)
        off.signalProcess(SIGINT)
        XCTAssertEqual(try off.waitForExit(timeout: 20), .exited(0), off.outputTail())
    }

    /// Every link of every page of a report is relative and names one of its files.
    static func assertLinksResolve(in directory: String, file: StaticString = #filePath, line: UInt = #line) throws {
        for name in try FileManager.default.contentsOfDirectory(atPath: directory) where name.hasSuffix(".html") {
            let html = try String(contentsOfFile: "\(directory)/\(name)", encoding: .utf8)
            assertSelfContained(html, name, file: file, line: line)
            for link in ConsoleHTTP.links(html) {
                XCTAssertFalse(link.hasPrefix("/"), "\(name): relative links only, not \(link)", file: file, line: line)
                let target = "\(directory)/\(link.split(separator: "#").first ?? "")"
                XCTAssertTrue(FileManager.default.fileExists(atPath: target), "\(name) links to \(link)", file: file, line: line)
            }
        }
    }

    /// No resource from elsewhere: no script, style sheet, image or font by URL.
    static func assertSelfContained(_ html: String, _ page: String, file: StaticString = #filePath, line: UInt = #line) {
        for marker in ["src=\"http", "href=\"http", "@import", "url(", "<script src", "<link rel=\"stylesheet\""] {
            XCTAssertFalse(html.contains(marker), "\(page) loads something from elsewhere (\(marker))", file: file, line: line)
        }
    }
}
