import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The console in a real browser: headless Chromium opens every page of an analyzer serving the
/// masscan scenario's store; no page logs a console message (script errors, refused resources
/// all land there), and each screenshot has content. BMA_CONSOLE_SCREENSHOTS=DIR keeps the
/// fleet and VM screenshots (docs/console-overview.png, docs/console-vm.png come from it).
final class ConsoleBrowserTests: IntegrationTestCase {
    func testEveryPageRendersInChromiumWithoutConsoleErrors() throws {
        guard let chromium = TestEnvironment.which("chromium") else {
            throw XCTSkip("chromium is not installed (Debian package chromium; scripts/setup installs it)")
        }
        guard DetectionTshark.path != nil else { throw XCTSkip("tshark is not installed") }
        let scratch = try makeScratch()
        let browser = Browser(path: chromium, scratch: scratch)

        // The check itself: a page with a script error is caught, a blank page is blank.
        let broken = try scratch.write("<html><body><script>nosuch();</script></body></html>", to: "broken.html")
        let control = try browser.open("file://\(broken)", screenshot: "broken.png", size: "400,300")
        XCTAssertTrue(control.consoleLines.contains { $0.contains("nosuch is not defined") }, "chromium's console log is read: \(control.stderr.suffix(2000))")
        XCTAssertLessThan(try Browser.ink(control.png, in: scratch).ink, 0.01, "a blank page measures blank")

        let fixture = try ConsoleStoreFixture.make(in: scratch)
        let (analyzer, port) = try ConsoleHTTP.serve(store: fixture.store, in: scratch)
        defer { _ = analyzer.kill(signal: SIGTERM, grace: 5) }
        let range = "since=0"  // the whole store: both VMs' attacks
        let alerts = try ConsoleHTTP.get(port: port, "/alerts?\(range)")
        let alertPage = try XCTUnwrap(ConsoleHTTP.links(alerts.text).first { $0.hasPrefix("/alerts/") && !$0.hasSuffix("/pcap") })
        let pages = [("overview", "/?\(range)"), ("vm", "/vm/101?\(range)"), ("alerts", "/alerts?\(range)"), ("alert", alertPage),
                     ("actions", "/actions")]
        let keep = ProcessInfo.processInfo.environment["BMA_CONSOLE_SCREENSHOTS"]
        for (name, path) in pages {
            let shot = try browser.open("http://127.0.0.1:\(port)\(path)", screenshot: "\(name).png", size: "1280,1100")
            XCTAssertEqual(shot.consoleLines, [], "\(name): console messages")
            let size = (try? FileManager.default.attributesOfItem(atPath: shot.png)[.size] as? Int) ?? 0
            XCTAssertGreaterThan(size, 20_000, "\(name): a screenshot of a page with content is not that small")
            let measured = try Browser.ink(shot.png, in: scratch)
            XCTAssertEqual(measured.width, 1280)
            XCTAssertGreaterThan(measured.ink, 0.03, "\(name): not blank")
            XCTAssertGreaterThan(measured.colours, 8, "\(name): text, plots and tables in several colours")
            if let keep, name == "overview" || name == "vm" {
                try? FileManager.default.removeItem(atPath: "\(keep)/console-\(name).png")
                try FileManager.default.copyItem(atPath: shot.png, toPath: "\(keep)/console-\(name).png")
            }
        }
        // The plots are drawn: the DOM chromium built holds their lines.
        let dom = try browser.dumpDOM("http://127.0.0.1:\(port)/vm/101?\(range)")
        XCTAssertGreaterThanOrEqual(dom.components(separatedBy: "<polyline").count - 1, 2, "packets and reasons over time")
        XCTAssertTrue(dom.contains("port-scan"))
    }
}

/// Headless Chromium, one process per page, each bounded in time.
struct Browser {
    var path: String
    var scratch: ScratchDirectory

    struct Shot {
        var png: String
        var stderr: String
        /// Lines chromium logged from pages' consoles (errors, warnings, refused resources).
        var consoleLines: [String] { stderr.split(separator: "\n").filter { $0.contains(":CONSOLE") }.map(String.init) }
    }

    private var flags: [String] {
        ["--headless", "--disable-gpu", "--no-sandbox", "--hide-scrollbars", "--user-data-dir=\(scratch.file("chromium-profile"))",
         "--enable-logging=stderr", "--v=0"]
    }

    func open(_ url: String, screenshot name: String, size: String) throws -> Shot {
        let png = scratch.file(name)
        let run = try AnalyzerCommand.run(path, flags + ["--screenshot=\(png)", "--window-size=\(size)", url], in: scratch,
                                          label: "chromium", timeout: 120)
        guard run.status == .exited(0), FileManager.default.fileExists(atPath: png) else {
            throw ScratchError(message: "chromium did not write \(png)\n\(run)")
        }
        return Shot(png: png, stderr: run.stderr)
    }

    func dumpDOM(_ url: String) throws -> String {
        let run = try AnalyzerCommand.run(path, flags + ["--dump-dom", url], in: scratch, label: "chromium-dom", timeout: 120)
        guard run.status == .exited(0) else { throw ScratchError(message: "chromium --dump-dom\n\(run)") }
        return run.stdout
    }

    /// Width, share of non-white pixels and distinct colours of a PNG (Tests/Tools/png_ink.py).
    static func ink(_ png: String, in scratch: ScratchDirectory) throws -> (width: Int, ink: Double, colours: Int) {
        let script = TestEnvironment.packageRoot.appendingPathComponent("Tests/Tools/png_ink.py").path
        let run = try AnalyzerCommand.run("/usr/bin/env", ["python3", script, png], in: scratch, label: "png-ink", timeout: 120)
        let f = run.stdout.split(separator: " ").map { String($0).trimmingCharacters(in: .whitespacesAndNewlines) }
        guard run.status == .exited(0), f.count == 4, let w = Int(f[0]), let ink = Double(f[2]), let colours = Int(f[3]) else {
            throw ScratchError(message: "png_ink: \(run)")
        }
        return (w, ink, colours)
    }
}
