import Control
import Foundation
import XCTest

/// Runs the built bmactl against a stub bmad (a real ControlServer with canned results).
final class BmactlTests: XCTestCase {
    private var daemon: BmactlStubDaemon!

    override func setUpWithError() throws {
        _ = try BmactlBinary.require()
        daemon = try BmactlStubDaemon()
    }

    override func tearDown() {
        daemon?.stop()
        daemon = nil
    }

    private func bmactl(_ arguments: [String], stdin: String? = nil) throws -> BmactlRun {
        try BmactlBinary.run(["--socket", daemon.path] + arguments, stdin: stdin)
    }

    private func assertSuccess(_ run: BmactlRun, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(run.status, 0, "stderr: \(run.stderr)\nstdout: \(run.stdout)", file: file, line: line)
        XCTAssertEqual(run.stderr, "", file: file, line: line)
    }

    private func parse(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> JSONValue? {
        do {
            return try JSONValue.parse(text)
        } catch {
            XCTFail("not JSON (\(error)): \(text)", file: file, line: line)
            return nil
        }
    }

    // MARK: tables

    func testVMListTable() throws {
        let run = try bmactl(["vm", "list"])
        assertSuccess(run)
        XCTAssertEqual(run.lines, [
            "NAME   ID  MAC                LINK  OUTGOING  MIRRORED  LEARNING  FROZEN  SENSITIVITY",
            "web1  101  52:54:00:00:01:01  up        123k        42  no        yes             2.5",
            "db1   102  52:54:00:00:01:02  down       999         0  yes       no                -",
            "",
        ])
        XCTAssertEqual(daemon.requests.map(\.method), ["vm.list"])
    }

    func testPolicyListTable() throws {
        let run = try bmactl(["policy", "list"])
        assertSuccess(run)
        XCTAssertEqual(run.lines, [
            "ID  PRIO  NAME           MATCH                             MIRROR",
            "10   100  dns of web1    vm web1,102 udp dport 53,853      always",
            " 3    -5  quiet backups  10.0.0.0/8 -> any size >=1000 in  never",
            "",
            "generation: 7",
            "",
        ])
    }

    func testStatusKeyValueLines() throws {
        let run = try bmactl(["status"])
        assertSuccess(run)
        XCTAssertEqual(run.stdout, """
            version: 0.3.0
            uptime: 1h 2m 3s
            pid: 4242
            workers: 2
            vms: 2
            policies: 2
            policy generation: 7
            state dir: /var/lib/bma

            """)
    }

    func testStatsTables() throws {
        let run = try bmactl(["stats"])
        assertSuccess(run)
        let lines = run.lines
        XCTAssertEqual(lines.first, "uptime: 1m 41s")
        XCTAssertTrue(lines.contains("PORT    ROLE    LINK  RX PKTS  RX BYTES  TX PKTS  TX BYTES  TX FULL  MISSED"), run.stdout)
        XCTAssertTrue(lines.contains("uplink  uplink  up       7.0k    3.4 MB     1.5k    1.0 kB        0       3"), run.stdout)
        XCTAssertTrue(lines.contains("drops: tx-full 0, unknown-destination 13"), run.stdout)
        XCTAssertTrue(lines.contains("mirror: sent 10 (1.0 kB), nombuf 0, ringfull 0, too big 0"), run.stdout)
        XCTAssertTrue(lines.contains { $0.hasPrefix("VM     ID  OUTGOING") }, run.stdout)
        XCTAssertTrue(lines.contains("web1  101      1.5k         0       1.5k         0         20        10      1.0 kB      3  new-service 4"),
                      run.stdout)
        XCTAssertTrue(lines.contains("broadcast copies: 4"), run.stdout)
    }

    func testBaselineShowSummaryAndServices() throws {
        let run = try bmactl(["baseline", "show", "web1"])
        assertSuccess(run)
        XCTAssertEqual(run.lines, [
            "vm: web1",
            "learned packets: 250k",
            "learning: no",
            "frozen: yes",
            "hosts: 12",
            "destinations: 30",
            "services: 2",
            "",
            "SERVICE  PACKETS    PEAK  SIZE MEAN  SIZE STD",
            "tcp/443     200k  3.0k/s      900 B     400 B",
            "udp/53      1.2k  40.5/s       84 B      10 B",
            "",
        ])
    }

    func testVMShowListsReasonsByCount() throws {
        let run = try bmactl(["vm", "show", "101"])
        assertSuccess(run)
        XCTAssertEqual(daemon.requests("vm.show").first?.params, ["vm": 101])
        XCTAssertTrue(run.stdout.hasSuffix("reasons:\n  new-service: 12\n  rate:        5\n"), run.stdout)
        XCTAssertTrue(run.lines.contains("name: web1"), run.stdout)
        XCTAssertTrue(run.lines.contains("  learned_packets: 100000"), run.stdout)
    }

    // MARK: --json

    func testJSONOutputIsTheDaemonsResult() throws {
        let cases: [([String], JSONValue)] = [
            (["vm", "list", "--json"], BmactlCanned.vmList),
            (["--json", "status"], BmactlCanned.status),
            (["policy", "list", "--json"], BmactlCanned.policyList),
            (["policy", "show", "10", "--json"], BmactlCanned.dnsPolicy),
            (["config", "show", "--json"], BmactlCanned.config),
            (["baseline", "show", "web1", "--json"], BmactlCanned.baselineShow),
        ]
        for (arguments, expected) in cases {
            let run = try bmactl(arguments)
            assertSuccess(run)
            XCTAssertEqual(parse(run.stdout), expected, arguments.joined(separator: " "))
            XCTAssertTrue(run.stdout.contains("\n  "), "pretty-printed: \(run.stdout)")
        }
    }

    // MARK: exit codes

    func testDaemonErrorIsPrintedAsReceivedAndExits1Or3ForNotFound() throws {
        let run = try bmactl(["vm", "show", "ghost"])
        XCTAssertEqual(run.status, 3, "not found")
        XCTAssertEqual(run.stderr, "bmactl: not-found: no VM named 'ghost'\n")
        XCTAssertEqual(run.stdout, "")

        let conflict = try bmactl(["policy", "add", "--id", "10", "--json"])
        XCTAssertEqual(conflict.status, 1)
        XCTAssertEqual(conflict.stderr, "bmactl: conflict: policy 10 already exists\n")
    }

    func testUnknownSubcommandsGetASuggestion() throws {
        let typo = try bmactl(["polcy", "list"])
        XCTAssertEqual(typo.status, 2)
        XCTAssertEqual(typo.stderr, "bmactl: unknown command 'polcy' for 'bmactl'; did you mean 'policy'?\n")
        let nested = try bmactl(["policy", "lsit"])
        XCTAssertEqual(nested.stderr, "bmactl: unknown command 'lsit' for 'bmactl policy'; did you mean 'list'?\n")
        let far = try bmactl(["frobnicate"])
        XCTAssertEqual(far.status, 2)
        XCTAssertTrue(far.stderr.contains("use one of status, stats, top, vm, baseline, policy, sensitivity, mirror, config"), far.stderr)
        XCTAssertTrue(daemon.requests.isEmpty)
    }

    func testSensitivityOutOfRangeIsAClearUsageError() throws {
        for (value, message) in [("-1", "the sensitivity must be a number from 0 to 100, got '-1'"),
                                 ("101", "the sensitivity must be a number from 0 to 100, got '101'"),
                                 ("high", "the sensitivity must be a number from 0 to 100, got 'high'")] {
            let run = try bmactl(["sensitivity", "set", value])
            XCTAssertEqual(run.status, 2, value)
            XCTAssertEqual(run.stderr, "bmactl: \(message) (see bmactl sensitivity set --help)\n")
        }
        XCTAssertTrue(daemon.requests.isEmpty)
        assertSuccess(try bmactl(["sensitivity", "set", "0"]))
    }

    func testMirrorCancelAndAllowFutureVMParams() throws {
        let cancel = try bmactl(["mirror", "cancel", "web1"])
        assertSuccess(cancel)
        XCTAssertEqual(cancel.stdout, "forced mirroring of web1 cancelled\n")
        assertSuccess(try bmactl(["policy", "add", "--id", "11", "--vm", "web9", "--allow-future-vm"]))
        assertSuccess(try bmactl(["policy", "replace", "--allow-future-vm"], stdin: "[]"))
        XCTAssertEqual(daemon.requests.map(\.method), ["mirror.force", "policy.add", "policy.replace"])
        XCTAssertEqual(daemon.requests[0].params, ["vm": "web1", "seconds": 0])
        XCTAssertEqual(daemon.requests[1].params["allow_future_vm"], true)
        XCTAssertEqual(daemon.requests[1].params["match"]?["vms"], ["web9"])
        XCTAssertEqual(daemon.requests[2].params, ["policies": [], "allow_future_vm": true])
    }

    func testNoSocketExits3() throws {
        let missing = daemon.directory + "/nothing-here.sock"
        let run = try BmactlBinary.run(["--socket", missing, "status"])
        XCTAssertEqual(run.status, 3)
        XCTAssertEqual(run.stdout, "")
        XCTAssertEqual(run.stderr, "bmactl: bmad is not running? no socket at \(missing)\n")

        let viaEnvironment = try BmactlBinary.run(["vm", "list"], environment: ["BMA_SOCKET": missing])
        XCTAssertEqual(viaEnvironment.status, 3)
        XCTAssertTrue(viaEnvironment.stderr.contains(missing), viaEnvironment.stderr)
    }

    func testSocketFromEnvironment() throws {
        let run = try BmactlBinary.run(["status", "--json"], environment: ["BMA_SOCKET": daemon.path])
        assertSuccess(run)
        XCTAssertEqual(parse(run.stdout), BmactlCanned.status)
    }

    func testTimeoutExits3() throws {
        let slow = try BmactlStubDaemon(mode: .slow(1.5))
        defer { slow.stop() }
        let run = try BmactlBinary.run(["--socket", slow.path, "--timeout", "0.3", "status"])
        XCTAssertEqual(run.status, 3, run.stderr)
        XCTAssertTrue(run.stderr.hasPrefix("bmactl: no answer from bmad to status within 0.3 s"), run.stderr)
    }

    func testUsageErrorsExit2() throws {
        for arguments in [["vm", "show"], ["policy", "add", "--mirror", "sometimes"], ["frobnicate"],
                          ["top", "--count", "0"], ["mirror", "force", "web1", "--seconds", "5", "--flow", "1.2.3.4,udp"]] {
            let run = try bmactl(arguments)
            XCTAssertEqual(run.status, 2, "\(arguments): \(run.stderr)")
            // One line naming the tool, as bmad's and bma-analyzer's usage errors are.
            XCTAssertTrue(run.stderr.hasPrefix("bmactl: "), "\(arguments): \(run.stderr)")
            XCTAssertEqual(run.stderr.filter { $0 == "\n" }.count, 1, "\(arguments): \(run.stderr)")
        }
        let missing = try bmactl(["vm", "show"])
        XCTAssertEqual(missing.stderr, "bmactl: Missing expected argument '<vm>' (see bmactl vm show --help)\n")
        let negative = try bmactl(["--timeout", "-3", "status"])
        XCTAssertEqual(negative.stderr, "bmactl: --timeout must be a positive number of seconds (see bmactl --help)\n")
        let badJSON = try bmactl(["policy", "add"], stdin: "{not json")
        XCTAssertEqual(badJSON.status, 2)
        XCTAssertTrue(badJSON.stderr.hasPrefix("bmactl: stdin is not valid JSON"), badJSON.stderr)
        XCTAssertTrue(daemon.requests.isEmpty, "nothing reached the daemon")
    }

    // MARK: changes

    func testPolicyAddFromFlagsSendsThePolicy() throws {
        let run = try bmactl([
            "policy", "add", "--name", "dns of web1", "--priority", "100", "--vm", "web1", "--vm", "102",
            "--src-cidr", "10.0.0.0/8", "--dst-cidr", "0.0.0.0/0", "--vlan", "100", "--protocol", "udp",
            "--src-ports", "1024-65535", "--dst-ports", "53,853", "--size-min", "0", "--size-max", "1500",
            "--direction", "out", "--mirror", "always", "--sensitivity", "2", "--snaplen", "128", "--pps", "1000",
            "--bps", "1000000", "--sticky", "30", "--pre-trigger", "8", "--encapsulation", "geneve",
        ])
        assertSuccess(run)
        let expected: [String: JSONValue] = [
            "name": "dns of web1", "priority": 100,
            "match": [
                "vms": ["web1", 102], "src_cidr": "10.0.0.0/8", "dst_cidr": "0.0.0.0/0", "vlan": 100,
                "protocol": "udp", "src_ports": "1024-65535", "dst_ports": "53,853", "size_min": 0,
                "size_max": 1500, "direction": "out",
            ],
            "action": [
                "mirror": "always", "sensitivity": 2.0, "snaplen": 128,
                "rate_limit": ["packets_per_second": 1000, "bytes_per_second": 1000000],
                "sticky_seconds": 30, "pre_trigger_packets": 8, "encapsulation": "geneve",
            ],
        ]
        XCTAssertEqual(daemon.requests("policy.add").map(\.params), [expected])
        XCTAssertEqual(run.lines.first, "policy 11 added")
        XCTAssertTrue(run.lines.contains("match:"), run.stdout)
        XCTAssertTrue(run.lines.contains("  vms: web1, 102"), run.stdout)
    }

    func testPolicyAddFromStdinAndFile() throws {
        let policy = #"{"name": "ntp", "match": {"protocol": "udp", "dst_ports": [123]}, "action": {"mirror": "never"}}"#
        let fromStdin = try bmactl(["policy", "add"], stdin: policy)
        assertSuccess(fromStdin)
        let file = daemon.directory + "/policy.json"
        try policy.write(toFile: file, atomically: true, encoding: .utf8)
        // Flags override the file's fields.
        let fromFile = try bmactl(["policy", "add", "--file", file, "--id", "12", "--mirror", "always"])
        assertSuccess(fromFile)
        XCTAssertEqual(daemon.requests("policy.add").map(\.params), [
            ["name": "ntp", "match": ["protocol": "udp", "dst_ports": [123]], "action": ["mirror": "never"]],
            ["id": 12, "name": "ntp", "match": ["protocol": "udp", "dst_ports": [123]], "action": ["mirror": "always"]],
        ])
        XCTAssertEqual(fromFile.lines.first, "policy 12 added")
    }

    func testPolicyUpdateFromFlagsChangesOnlyTheGivenFields() throws {
        let run = try bmactl(["policy", "update", "--id", "10", "--mirror", "never", "--vm", "web2"])
        assertSuccess(run)
        XCTAssertEqual(daemon.requests.map(\.method), ["policy.show", "policy.update"])
        var expected = BmactlCanned.dnsPolicy.objectValue!
        expected["action"] = ["mirror": "never", "snaplen": 128]
        expected["match"] = ["vms": ["web2"], "protocol": "udp", "dst_ports": "53,853", "direction": "out"]
        XCTAssertEqual(daemon.requests("policy.update").first?.params, expected)
        XCTAssertEqual(run.lines.first, "policy 10 updated")

        let noID = try bmactl(["policy", "update", "--mirror", "never"])
        XCTAssertEqual(noID.status, 2)
    }

    func testPolicyRemoveAndReplace() throws {
        let remove = try bmactl(["policy", "remove", "10"])
        assertSuccess(remove)
        XCTAssertEqual(remove.stdout, "policy 10 removed\n")

        let list = #"[{"id": 1, "match": {"protocol": "tcp"}}, {"id": 2}]"#
        let replace = try bmactl(["policy", "replace"], stdin: #"{"policies": \#(list)}"#)
        assertSuccess(replace)
        XCTAssertEqual(replace.stdout, "policies replaced: 2 policies, generation 8\n")
        let file = daemon.directory + "/policies.json"
        try list.write(toFile: file, atomically: true, encoding: .utf8)
        let fromFile = try bmactl(["policy", "replace", "-f", file, "--json"])
        assertSuccess(fromFile)
        XCTAssertEqual(parse(fromFile.stdout), ["generation": 8, "count": 2])
        let sent = daemon.requests("policy.replace").map(\.params)
        XCTAssertEqual(sent.count, 2)
        XCTAssertEqual(sent.first, ["policies": try JSONValue.parse(list)])
        XCTAssertEqual(sent.first, sent.last)
    }

    func testBaselineExportImportRoundTrip() throws {
        let file = daemon.directory + "/web1.baseline.json"
        let export = try bmactl(["baseline", "export", "web1", "-o", file])
        assertSuccess(export)
        XCTAssertEqual(export.stdout, "baseline of web1 written to \(file)\n")
        XCTAssertEqual(try JSONValue.parse(Array(FileManager.default.contents(atPath: file)!)), BmactlCanned.baselineDocument)

        let toStdout = try bmactl(["baseline", "export", "101"])
        assertSuccess(toStdout)
        XCTAssertEqual(parse(toStdout.stdout), BmactlCanned.baselineDocument)

        let fromFile = try bmactl(["baseline", "import", "web1", "-i", file])
        assertSuccess(fromFile)
        XCTAssertEqual(fromFile.stdout, "baseline of web1 imported\n")
        // The whole `export --json` output is accepted as well.
        let wrapped = try bmactl(["baseline", "export", "web1", "--json"])
        let fromStdin = try bmactl(["baseline", "import", "web1"], stdin: wrapped.stdout)
        assertSuccess(fromStdin)
        XCTAssertEqual(daemon.requests("baseline.import").map(\.params), [
            ["vm": "web1", "baseline": BmactlCanned.baselineDocument],
            ["vm": "web1", "baseline": BmactlCanned.baselineDocument],
        ])
    }

    func testBaselineFreezeUnfreezeReset() throws {
        XCTAssertEqual(try bmactl(["baseline", "freeze", "web1"]).stdout,
                       "baseline of web1 frozen: it keeps judging but learns nothing\n")
        XCTAssertEqual(try bmactl(["baseline", "unfreeze", "web1"]).stdout, "baseline of web1 unfrozen: it learns again\n")
        XCTAssertEqual(try bmactl(["baseline", "reset", "web1"]).stdout,
                       "baseline of web1 reset: it learns again from its next packet\n")
        XCTAssertEqual(daemon.requests.map(\.method), ["baseline.freeze", "baseline.unfreeze", "baseline.reset"])
    }

    func testSensitivityAndMirrorForceParams() throws {
        assertSuccess(try bmactl(["sensitivity", "set", "3.5"]))
        let perVM = try bmactl(["sensitivity", "set", "2", "--vm", "web1"])
        assertSuccess(perVM)
        XCTAssertEqual(perVM.stdout, "sensitivity of web1: 2\n")
        let force = try bmactl(["mirror", "force", "web1", "--seconds", "30", "--flow", "10.0.0.1,10.0.0.2,udp,5353,53"])
        assertSuccess(force)
        XCTAssertTrue(force.stdout.hasPrefix("mirroring flow 10.0.0.1,10.0.0.2,udp,5353,53 of web1 until 2100-01-01"), force.stdout)
        XCTAssertEqual(daemon.requests.map(\.params), [
            ["value": 3.5],
            ["value": 2, "vm": "web1"],
            ["vm": "web1", "seconds": 30,
             "flow": ["src": "10.0.0.1", "dst": "10.0.0.2", "proto": "udp", "src_port": 5353, "dst_port": 53]],
        ])
    }

    func testConfigShowAsKeyValueLines() throws {
        let run = try bmactl(["config", "show"])
        assertSuccess(run)
        XCTAssertEqual(run.stdout, """
            workers: 2
            control:
              group: bma
              socket: /run/bma/bmad.sock
            vms:
              - id: 101
                name: web1
              - id: 102
                name: db1

            """)
    }

    // MARK: robustness

    func testUnexpectedShapesArePrintedAsKeyValueLines() throws {
        let odd = try BmactlStubDaemon(mode: .odd)
        defer { odd.stop() }
        for arguments in [["vm", "list"], ["status"], ["policy", "list"], ["stats"], ["baseline", "show", "x"],
                          ["vm", "show", "x"], ["policy", "show", "1"], ["sensitivity", "set", "1"],
                          ["mirror", "force", "x", "--seconds", "1"], ["baseline", "freeze", "x"], ["top", "--count", "1"]] {
            let run = try BmactlBinary.run(["--socket", odd.path] + arguments)
            XCTAssertEqual(run.status, 0, "\(arguments): \(run.stderr)")
            XCTAssertFalse(run.stdout.isEmpty, "\(arguments)")
        }
        let vmList = try BmactlBinary.run(["--socket", odd.path, "vm", "list"])
        XCTAssertEqual(vmList.stdout, """
            vms: not a list
            note:
              nested:
                - 1
                - 2
                - deep: true

            """)
    }

    // MARK: top

    func testTopPrintsOneBlockPerRefresh() throws {
        let run = try bmactl(["top", "--count", "2", "--interval", "0.1"])
        assertSuccess(run)
        XCTAssertFalse(run.stdout.contains("\u{1B}["), "no escape codes when stdout is not a terminal")
        let headers = run.lines.filter { $0.hasPrefix("bmactl top: ") }
        XCTAssertEqual(headers.count, 2, run.stdout)
        XCTAssertEqual(headers.first, "bmactl top: uptime 1m 41s, 2 VMs, averages since start")
        XCTAssertEqual(headers.last, "bmactl top: uptime 1m 42s, 2 VMs, rates over 1.0 s")
        XCTAssertEqual(daemon.requests("stats").count, 2)
        let blocks = run.stdout.components(separatedBy: "\n\nbmactl top: ")
        XCTAssertEqual(blocks.count, 2, run.stdout)
        // One second of uptime between the samples: web1 sent 1500 packets, 20 anomalous, 10 mirrored.
        let second = blocks.last!.split(separator: "\n").map(String.init)
        XCTAssertTrue(second.contains("ports rx 2.0k/s, tx 1.5k/s; drops 1/s; mirror 10/s (1.0 kB/s)"), blocks.last!)
        XCTAssertTrue(second.contains("VM     ID  PKTS/S  ANOM/S  MIRR/S  DROPS/S  TOP REASONS"), blocks.last!)
        XCTAssertTrue(second.contains("web1  101  1.5k/s    20/s    10/s      0/s  new-service 4/s"), blocks.last!)
        XCTAssertTrue(second.contains("db1   102    10/s     0/s     0/s      0/s  -"), blocks.last!)
    }

    func testTopEndsWithSuccessOnCtrlC() throws {
        let process = try BmactlBinary.start(["--socket", daemon.path, "top", "--interval", "0.05"])
        let end = Date().addingTimeInterval(10)
        while daemon.requests("stats").count < 2 && Date() < end { usleep(10_000) }
        XCTAssertGreaterThanOrEqual(daemon.requests("stats").count, 2, "top refreshes")
        process.interrupt()
        while process.isRunning && Date() < end { usleep(10_000) }
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
            return XCTFail("top did not stop on SIGINT")
        }
        XCTAssertEqual(process.terminationReason, .exit)
        XCTAssertEqual(process.terminationStatus, 0)
    }

    func testTopJSONLines() throws {
        let run = try bmactl(["top", "--count", "2", "--interval", "0.05", "--json"])
        assertSuccess(run)
        let lines = run.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 2)
        let last = parse(lines.last ?? "")
        XCTAssertEqual(last?["since_start"], false)
        XCTAssertEqual(last?["vms"]?[0]?["name"], "web1")
        XCTAssertEqual(last?["vms"]?[0]?["packets_per_second"], 1500)
    }

    // MARK: completion and help

    func testCompletionScriptAndHelp() throws {
        let bash = try BmactlBinary.run(["--generate-completion-script", "bash"])
        XCTAssertEqual(bash.status, 0, bash.stderr)
        XCTAssertTrue(bash.stdout.contains("complete"), bash.stdout)
        XCTAssertTrue(bash.stdout.contains("bmactl"))
        for shell in ["zsh", "fish"] {
            XCTAssertEqual(try BmactlBinary.run(["--generate-completion-script", shell]).status, 0, shell)
        }
        let help = try BmactlBinary.run(["--help"])
        XCTAssertEqual(help.status, 0)
        XCTAssertTrue(help.stdout.contains("--generate-completion-script bash"), help.stdout)
    }
}
