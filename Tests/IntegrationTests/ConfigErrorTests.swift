import Foundation
import XCTest

/// A bad configuration file is rejected before EAL starts: exit status 2 and one line on stderr
/// naming the file and the field. These runs need neither root nor hugepages.
final class ConfigErrorTests: IntegrationTestCase {
    private static let vm = "vms:\n  - {name: vm1, id: 1, devargs: 'net_null1'}\n"

    func testMissingUplinkIsRejected() throws {
        try assertRejected(Self.vm, mentions: ["uplink", "is required"])
    }

    func testDuplicateVMNameIsRejected() throws {
        try assertRejected("""
            uplink: net_null0
            vms:
              - {name: web, id: 1, devargs: net_null1}
              - {name: web, id: 2, devargs: net_null2}
            """, mentions: ["vms[1].name", "'web'", "vms[0].name"])
    }

    func testMalformedMACIsRejected() throws {
        try assertRejected("""
            uplink: net_null0
            vms:
              - {name: vm1, id: 1, devargs: net_null1, mac: "aa:bb:cc:dd:ee"}
            """, mentions: ["vms[0].mac", "aa:bb:cc:dd:ee"])
    }

    func testMACWithSignedOctetsIsRejected() throws {
        let scratch = try makeScratch()
        let yaml = """
            uplink: 'net_null0,no-rx=1'
            vms:
              - {name: vm1, id: 1, devargs: 'net_null1,no-rx=1', mac: "+2:+0:00:00:00:01"}
            """
        let run = try BmadProcess.runExpectingRejection(config: Data(yaml.utf8), in: scratch, name: "bmad")
        XCTAssertEqual(run.status, .exited(2))
        XCTAssertTrue(run.stderr.contains("vms[0].mac"), "stderr names vms[0].mac")
    }

    func testMulticastMACIsRejected() throws {
        try assertRejected("""
            uplink: net_null0
            vms:
              - {name: vm1, id: 1, devargs: net_null1}
              - {name: vm2, id: 2, devargs: net_null2, mac: "01:00:5e:00:00:01"}
            """, mentions: ["vms[1].mac", "multicast"])
    }

    func testUnknownVMFieldIsRejected() throws {
        try assertRejected("""
            uplink: net_null0
            vms:
              - {name: vm1, id: 1, devargs: net_null1, macaddress: "02:00:00:00:00:01"}
            """, mentions: ["vms[0].macaddress", "unknown field"])
    }

    func testUnknownTopLevelFieldIsRejected() throws {
        try assertRejected("uplink: net_null0\nmirrors: net_null9\n" + Self.vm, mentions: ["mirrors", "unknown field"])
    }

    func testFileThatIsNotYAMLIsRejected() throws {
        // The parser's message points at the place with a caret line: several lines are fine.
        try assertRejected("uplink: [net_null0\nvms: {name: vm1\n", mentions: ["not valid YAML"], singleLine: false)
    }

    func testBinaryFileIsRejected() throws {
        let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0x0D, 0xFF, 0xFE, 0x00, 0x80]
        try assertRejected(Data(png), mentions: ["configuration"], singleLine: false)
    }

    func testMetricsListenWithAHostNameIsRejectedBeforeEAL() throws {
        try assertRejected("uplink: net_null0\nmetrics: {listen: 'collector.example:9465'}\n" + Self.vm,
                           mentions: ["metrics.listen", "collector.example", "IPv4"])
    }

    func testYAMLThatIsNotAMappingIsRejected() throws {
        try assertRejected("- uplink\n- vms\n", mentions: ["mapping"])
    }

    // MARK: Helper

    private func assertRejected(
        _ yaml: String, mentions: [String], singleLine: Bool = true, file: StaticString = #filePath, line: UInt = #line
    ) throws {
        try assertRejected(Data(yaml.utf8), mentions: mentions, singleLine: singleLine, file: file, line: line)
    }

    private func assertRejected(
        _ contents: Data, mentions: [String], singleLine: Bool, file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let scratch = try makeScratch()
        let run = try BmadProcess.runExpectingRejection(config: contents, in: scratch, name: "bmad")
        let output = "stdout: \(run.stdout)\nstderr: \(run.stderr)"
        XCTAssertEqual(run.status, .exited(2), output, file: file, line: line)
        let configPath = scratch.file("bmad.yaml")
        XCTAssertTrue(run.stderr.hasPrefix("bmad: \(configPath): "), "stderr names the file: \(run.stderr)", file: file, line: line)
        for text in mentions {
            XCTAssertTrue(run.stderr.contains(text), "stderr mentions '\(text)': \(run.stderr)", file: file, line: line)
        }
        if singleLine {
            XCTAssertEqual(run.stderr.split(separator: "\n").count, 1, "one line of error: \(run.stderr)", file: file, line: line)
        }
        XCTAssertFalse(run.ealStarted, "EAL created its runtime directory", file: file, line: line)
        XCTAssertFalse(output.contains("EAL:"), "EAL printed something: \(output)", file: file, line: line)
        XCTAssertEqual(run.stdout, "", file: file, line: line)
    }
}
