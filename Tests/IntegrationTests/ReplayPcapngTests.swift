import Foundation
import XCTest

/// `bmad replay` reads pcapng as it reads pcap (libpcap reads both): the same capture in either
/// format gives the same mirror output, packet for packet.
final class ReplayPcapngTests: IntegrationTestCase {
    func testPcapngInputMirrorsLikeThePcap() throws {
        guard let editcap = ["/usr/bin/editcap", "/usr/local/bin/editcap"].first(where: FileManager.default.isExecutableFile(atPath:)) else {
            throw XCTSkip("editcap (wireshark-common) is not installed")
        }
        let scratch = try makeScratch()
        let pcap = try TestEnvironment.capture("masscan-tcp-1000-ports.pcap")
        let pcapng = scratch.file("masscan.pcapng")
        let convert = try AnalyzerCommand.run(editcap, ["-F", "pcapng", pcap, pcapng], in: scratch, label: "editcap")
        XCTAssertEqual(convert.status, .exited(0), convert.description)

        let fromPcap = try DetectionReplay.run([.init(name: "cam", path: pcap)], in: scratch, label: "pcap", learning: 5)
        let fromNg = try DetectionReplay.run([.init(name: "cam", path: pcapng)], in: scratch, label: "pcapng", learning: 5)
        XCTAssertGreaterThan(fromPcap.mirrorRecords.count, 100, "the scan is mirrored")
        XCTAssertEqual(fromNg.mirrorRecords, fromPcap.mirrorRecords, "mirror output from pcapng vs pcap")
    }
}
