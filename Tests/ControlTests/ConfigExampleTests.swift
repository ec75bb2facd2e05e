import BMAContract
import Control
import Foundation
import XCTest

final class ConfigExampleTests: XCTestCase {
    static var root: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    func testAnnotatedExampleLoads() throws {
        let c = try ConfigLoader.load(path: Self.root.appendingPathComponent("config/bmad.example.yaml").path)
        XCTAssertEqual(c.vms.map(\.name), ["web1", "db1"])
        XCTAssertEqual(c.vms[0].mac, 0x5254_0000_0101)
        XCTAssertEqual(c.vms[0].sensitivity, 1.5)
        XCTAssertEqual(c.mirror?.encapsulation, .geneve)
        XCTAssertEqual(c.mirror?.collectors.count, 2)
        XCTAssertEqual(c.detection.learningSeconds, 86_400)
    }

    func testMetricsListenIsCheckedWhenRead() throws {
        let base = "uplink: u\nvms: [{name: a, id: 1, devargs: x}]\n"
        for (listen, expected) in [("localhost:9465", "127.0.0.1:9465"), (":9465", "127.0.0.1:9465"), ("0.0.0.0:9100", "0.0.0.0:9100")] {
            XCTAssertEqual(try ConfigLoader.parse(base + "metrics: {listen: '\(listen)'}").metricsListen, expected, listen)
        }
    }

    func testErrorsNameTheField() {
        let cases: [(String, String)] = [
            ("vms: [{name: a, id: 1, devargs: x}]", "uplink"),
            ("uplink: u\nvms: [{name: a, id: 1, devargs: x}, {name: a, id: 2, devargs: y}]", "vms[1].name"),
            ("uplink: u\nvms: [{name: a, id: 1, devargs: x, mac: zz}]", "vms[0].mac"),
            ("uplink: u\nvms: [{name: a, id: 0, devargs: x}]", "vms[0].id"),
            ("uplink: u\nvms: [{name: a, id: 1, devargs: x}]\nbogus: 1", "bogus"),
            ("uplink: u\nvms: [{name: a, id: 1, devargs: u}]", "vms[0].devargs"),
            ("uplink: u\nvms: [{name: a, id: 1, devargs: x}]\ndetection: {sensitivity: -1}", "detection.sensitivity"),
            ("uplink: u\nvms: [{name: a, id: 1, devargs: x}]\nmirror: {devargs: m, collectors: [1.2.3]}", "mirror.collectors[0]"),
            ("uplink: u\nvms: [{name: a, id: 1, devargs: x}]\nmirror: {devargs: m, encapsulation: gre}", "mirror.encapsulation"),
            ("uplink: u\nvms: []", "vms"),
            ("uplink: u\nvms: [{name: a, id: 1, devargs: x}]\nmirror: {devargs: m, collectors: [192.0.2.1], budget: {vm_bytes_per_second: 125Q}}",
             "mirror.budget.vm_bytes_per_second"),
            ("uplink: u\nvms: [{name: a, id: 1, devargs: x}]\nmirror: {devargs: m, collectors: [192.0.2.1], budget: {vm_packets_per_second: 2G}}",
             "mirror.budget.vm_packets_per_second"),
            ("uplink: u\nvms: [{name: a, id: 1, devargs: x}]\nmetrics: {listen: 'metrics.example:9465'}", "metrics.listen"),
            ("uplink: u\nvms: [{name: a, id: 1, devargs: x}]\nmetrics: {listen: '127.0.0.1:99999'}", "metrics.listen"),
            ("uplink: u\nvms: [{name: a, id: 1, devargs: x}]\nmetrics: {listen: '9465'}", "metrics.listen"),
            ("- just\n- a list", ""),
            ("{{{", ""),
        ]
        for (yaml, field) in cases {
            XCTAssertThrowsError(try ConfigLoader.parse(yaml), yaml) { error in
                let e = error as! ConfigError
                XCTAssertEqual(e.field, field, "\(yaml): \(e)")
                XCTAssertFalse(e.message.isEmpty)
            }
        }
    }

    func testBudgetRatesTakeDecimalPrefixes() throws {
        let c = try ConfigLoader.parse("uplink: u\nvms: [{name: a, id: 1, devargs: x}]\nmirror: {devargs: m, collectors: [192.0.2.1], "
            + "budget: {vm_packets_per_second: 10k, vm_bytes_per_second: 125M, total_packets_per_second: 2500, total_bytes_per_second: 1.25G}}")
        XCTAssertEqual(c.mirror?.vmPacketsPerSecond, 10_000)
        XCTAssertEqual(c.mirror?.vmBytesPerSecond, 125_000_000)
        XCTAssertEqual(c.mirror?.totalPacketsPerSecond, 2_500)
        XCTAssertEqual(c.mirror?.totalBytesPerSecond, 1_250_000_000)
    }

    func testMirrorAsPlainDevargs() throws {
        let c = try ConfigLoader.parse("uplink: u\nmirror: net_pcap9,tx_pcap=/tmp/m.pcap\nvms: [{name: a, id: 1, devargs: x}]")
        XCTAssertEqual(c.mirror?.devargs, "net_pcap9,tx_pcap=/tmp/m.pcap")
        XCTAssertNil(c.mirror?.encapsulation, "not given: the dataplane runs its default (geneve)")
    }
}
