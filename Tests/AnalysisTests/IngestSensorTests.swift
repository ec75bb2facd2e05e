import BMAContract
import Testing
@testable import Analysis

/// Only configured sensors feed the analyzer: anyone else's datagrams are dropped before they
/// are decoded, and kept packets carry the sensor's name.
@Suite("Ingest: sensors", .serialized, .timeLimit(.minutes(1)))
struct IngestSensorTests {
    typealias E = IngestEncap

    static let lab: UInt32 = 0x7F00_0002      // 127.0.0.2
    static let stranger: UInt32 = 0x7F00_0003 // 127.0.0.3

    @Test("Sensor specifications: names, networks, errors")
    func parsing() throws {
        let hv1 = try SensorRegistry.parse("hv1=192.0.2.1")
        #expect(hv1.name == "hv1" && hv1.networks == [CIDR("192.0.2.1/32")!])
        let rack = try SensorRegistry.parse("rack-4.a=10.4.0.0/24,2001:db8:4::/64")
        #expect(rack.networks.map(\.description) == ["10.4.0.0/24", "2001:db8:4::/64"])
        for bad in ["192.0.2.1", "=192.0.2.1", "hv1=", "hv 1=192.0.2.1", "hv1=192.0.2.300", "hv1=10.0.0.0/33", "hv1=10.0.0.1,"] {
            #expect(throws: SensorRegistryError.self, "\(bad)") { try SensorRegistry.parse(bad) }
        }
        #expect(throws: SensorRegistryError.self) { try SensorRegistry([hv1, hv1]) }
        #expect(throws: SensorRegistryError.self) { try SensorRegistry([SensorRegistry.Sensor(name: "local", networks: hv1.networks)]) }
        #expect(throws: SensorRegistryError.self) { try SensorRegistry([], loopback: false) }

        let registry = try SensorRegistry([rack, hv1])
        #expect(registry.sensor(address: "192.0.2.1")?.name == "hv1")
        #expect(registry.sensor(address: "192.0.2.2") == nil)
        #expect(registry.sensor(address: "10.4.0.77")?.name == "rack-4.a")
        #expect(registry.sensor(address: "2001:db8:4::9")?.name == "rack-4.a")
        #expect(registry.sensor(address: "::ffff:10.4.0.77")?.name == "rack-4.a", "v4-mapped is IPv4")
        #expect(registry.sensor(address: "127.8.9.10")?.name == "local" && registry.sensor(address: "::1")?.name == "local")
        #expect(try SensorRegistry([hv1], loopback: false).sensor(address: "127.0.0.1") == nil)
        #expect(SensorRegistry.loopback.sensor(address: "192.0.2.1") == nil)
    }

    @Test("Datagrams from an address that is no sensor are counted as unknownSensor, never decoded")
    func strangersAreDropped() async throws {
        let box = IngestPacketBox()
        let sensors = try SensorRegistry([try SensorRegistry.parse("lab=127.0.0.2")], loopback: false)
        let listener = MirrorListener(configuration: .init(host: "127.0.0.1", sensors: sensors, genevePort: 0, vxlanPort: 0)) {
            box.append($0)
        }
        try listener.start()
        defer { listener.stop() }
        let binding = try #require(listener.binding)
        let geneve = try #require(binding.genevePort), vxlan = try #require(binding.vxlanPort)
        var meta = E.Meta()
        meta.vmID = 4242
        let datagram = E.tunnelPayload(E.build(.init(kind: .geneve), meta, inner: E.innerFrame()), .geneve)
        let vxlanDatagram = E.tunnelPayload(E.build(.init(kind: .vxlan), meta, inner: E.innerFrame()), .vxlan)

        let stranger = try IngestSender(udp: true, source: Self.stranger)
        let usual = try IngestSender(udp: true) // 127.0.0.1: loopback, but not allowed here
        for _ in 0..<5 {
            try stranger.send(datagram, port: geneve)
            try stranger.send(vxlanDatagram, port: vxlan)
            try usual.send(datagram, port: geneve)
        }
        let lab = try IngestSender(udp: true, source: Self.lab)
        try lab.send(datagram, port: geneve)
        try lab.send(vxlanDatagram, port: vxlan)

        #expect(await IngestWait.until { listener.statistics.received == 17 }, "\(listener.statistics)")
        let stats = listener.statistics
        #expect(stats.dropped == [.unknownSensor: 15])
        #expect(stats.decoded == 2)
        #expect(stats.lastError == .unknownSensor(address: "127.0.0.1") || stats.lastError == .unknownSensor(address: "127.0.0.3"))
        let packets = box.all
        #expect(packets.count == 2)
        #expect(packets.allSatisfy { $0.sensor == "lab" && $0.vmID == 4242 }, "named after the sensor, not the address")
    }

    @Test("By default only this host's loopback addresses are a sensor ('local'), and the listener binds to loopback")
    func loopbackByDefault() async throws {
        let box = IngestPacketBox()
        var configuration = MirrorListener.Configuration(genevePort: 0, vxlanPort: nil)
        #expect(configuration.host == "127.0.0.1")
        #expect(configuration.sensors == .loopback)
        configuration.genevePort = 0
        let listener = MirrorListener(configuration: configuration) { box.append($0) }
        try listener.start()
        defer { listener.stop() }
        let port = try #require(listener.binding?.genevePort)
        try IngestSender(udp: true, source: Self.stranger)
            .send(E.tunnelPayload(E.build(.init(kind: .geneve), E.Meta(), inner: E.innerFrame()), .geneve), port: port)
        #expect(await IngestWait.until { box.all.count == 1 })
        #expect(box.all.first?.sensor == "local")
    }

    @Test("The GRE socket drops ERSPAN from an address that is no sensor", .enabled(if: IngestWait.isRoot, "needs root (raw sockets)"))
    func greStrangersAreDropped() async throws {
        let box = IngestPacketBox()
        let sensors = try SensorRegistry([try SensorRegistry.parse("far=192.0.2.77")], loopback: false)
        let capture = GRECapture(configuration: .init(bindAddress: "127.0.0.1", sensors: sensors)) { box.append($0) }
        try capture.start()
        defer { capture.stop() }
        var meta = E.Meta()
        meta.vmID = 931
        let gre = E.tunnelPayload(E.build(.init(kind: .erspan2), meta, inner: E.innerFrame()), .erspan2)
        let sender = try IngestSender(udp: false)
        for _ in 0..<5 { try sender.send(gre) }
        #expect(await IngestWait.until { capture.statistics.dropped(.unknownSensor) >= 5 }, "\(capture.statistics)")
        #expect(box.all.filter { $0.vmID == 931 }.isEmpty)
    }
}
