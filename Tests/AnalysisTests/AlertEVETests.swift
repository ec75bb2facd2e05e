import Foundation
import Testing
@testable import Analysis

@Suite("alerts: EVE JSON")
struct AlertEVETests {
    static func scanAlert() throws -> Alert {
        let frames = (UInt16(1)...30).map { InspectFrames.tcp("10.0.0.5", 40_000, "10.0.0.9", $0, flags: TCPFlag.syn) }
        let packets = frames.enumerated().map {
            InspectSupport.packet($0.element, at: 1_615_216_935_831_389_000 + UInt64($0.offset) * 1_000,
                                  metadata: InspectSupport.metadataNewDestination)
        }
        return try #require(InspectSupport.run([ScanModule()], packets).first)
    }

    @Test("field names and types are EVE's")
    func fields() throws {
        var alert = try Self.scanAlert()
        alert.pcap = Alert.PcapReference(file: "2021/03/08/vm7-0001.pcapng", packet: 12)
        let line = AlertSink.eveLine(alert)
        #expect(!line.contains(0x0A))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any])
        let timestamp = try #require(object["timestamp"] as? String)
        #expect(timestamp.range(of: #"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}\+0000$"#, options: .regularExpression) != nil)
        #expect(timestamp.hasPrefix("2021-03-08T15:22:15.83"))
        #expect(object["event_type"] as? String == "alert")
        let flowID = try #require(object["flow_id"] as? NSNumber)
        #expect(flowID.uint64Value == alert.flow_id && flowID.uint64Value > 0)
        #expect(object["src_ip"] as? String == "10.0.0.5" && object["dest_ip"] as? String == "10.0.0.9")
        #expect(object["src_port"] is NSNumber && object["dest_port"] is NSNumber)
        #expect(object["proto"] as? String == "TCP" && object["host"] as? String == "host-a" && object["vm"] as? String == "vm7")
        #expect(object["community_id"] == nil)  // absent, as Suricata leaves out what it does not know
        let signature = try #require(object["alert"] as? [String: Any])
        #expect(signature["signature"] as? String == "BMA SCAN vertical port scan of one host")
        #expect((signature["signature_id"] as? NSNumber)?.intValue == 9_200_100)
        #expect((signature["severity"] as? NSNumber)?.intValue == 2)
        #expect(signature["category"] as? String == "Detection of a Network Scan" && signature["action"] as? String == "allowed")
        let bma = try #require(object["bma"] as? [String: Any])
        #expect(bma["module"] as? String == "scan" && bma["reasons"] as? [String] == ["new-destination", "port-scan"])
        #expect((bma["count"] as? NSNumber)?.intValue == 20 && (bma["score"] as? NSNumber)?.doubleValue == 1)
        #expect((bma["details"] as? [String: String])?["distinct_ports"] == "20")
        let pcap = try #require(object["pcap"] as? [String: Any])
        #expect(pcap["file"] as? String == "2021/03/08/vm7-0001.pcapng" && (pcap["packet"] as? NSNumber)?.intValue == 12)
        // And it reads back as the same alert.
        #expect(try JSONDecoder().decode(Alert.self, from: Data(line)) == alert)
    }

    @Test("every built-in signature id is in BMA's block and unique")
    func signatureIDs() {
        let ids = InspectionSignatures.all.map(\.signature_id)
        #expect(Set(ids).count == ids.count)
        #expect(ids.allSatisfy { (9_200_000..<9_201_000).contains($0) })
        #expect(InspectionSignatures.all.allSatisfy { (1...3).contains($0.severity) && !$0.category.isEmpty })
    }

    @Test("the EVE file is appended, one line per alert, and survives reopening")
    func appendFile() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("eve.json")
        for round in 0..<2 {
            let sink = try AlertSink(configuration: AlertSink.Configuration(evePath: path))
            sink.submit(AlertSinkTests.alert(sid: 1 + round))
            sink.submit(AlertSinkTests.alert(sid: 10 + round))
            sink.close()
        }
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 5 && lines.last == "")
        let ids = try lines.dropLast().map { try JSONDecoder().decode(Alert.self, from: Data($0.utf8)).alert.signature_id }
        #expect(ids == [1, 10, 2, 11])
    }

    @Test("the EVE file rotates by size and keeps N old files")
    func rotation() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("eve.json")
        var configuration = AlertSink.Configuration(evePath: path)
        configuration.rotateBytes = 2_000
        configuration.rotatedFiles = 2
        let sink = try AlertSink(configuration: configuration)
        for sid in 0..<40 { sink.submit(AlertSinkTests.alert(sid: sid)) }
        sink.close()
        let files = FileManager.default
        #expect(files.fileExists(atPath: path) && files.fileExists(atPath: path + ".1") && files.fileExists(atPath: path + ".2"))
        #expect(!files.fileExists(atPath: path + ".3"))
        for file in [path, path + ".1", path + ".2"] {
            let text = try String(contentsOfFile: file, encoding: .utf8)
            #expect(text.utf8.count <= 2_000 && text.hasSuffix("\n"))
            for line in text.split(separator: "\n") { _ = try JSONDecoder().decode(Alert.self, from: Data(line.utf8)) }
        }
        #expect(sink.stats.rotations >= 2 && sink.stats.writeErrors == 0)
    }

    @Test("an EVE path that cannot be opened fails at start")
    func badPath() {
        #expect(throws: (any Error).self) {
            _ = try AlertSink(configuration: AlertSink.Configuration(evePath: "/nonexistent-dir/eve.json"))
        }
    }
}
