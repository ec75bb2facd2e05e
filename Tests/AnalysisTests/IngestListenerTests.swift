import BMAContract
import Foundation
import Testing
@testable import Analysis
#if canImport(Glibc)
import Glibc
#endif

/// The UDP listener end to end on loopback: real datagrams from a plain socket, ephemeral ports.
@Suite("Ingest: UDP listener", .serialized, .timeLimit(.minutes(2)))
struct IngestListenerTests {
    typealias E = IngestEncap

    static func loopback(messages: Int = 16, maximumDatagramBytes: Int = 9216) -> MirrorListener.Configuration {
        .init(host: "127.0.0.1", genevePort: 0, vxlanPort: 0, maximumDatagramBytes: maximumDatagramBytes,
              vectorReadMessageCount: messages)
    }

    @Test("Geneve and VXLAN datagrams reach the sink; garbage is counted", arguments: [16, 1])
    func endToEnd(messages: Int) async throws {
        let box = IngestPacketBox()
        let listener = MirrorListener(configuration: Self.loopback(messages: messages)) { box.append($0) }
        try listener.start()
        defer { listener.stop() }
        let binding = try #require(listener.binding)
        let geneve = try #require(binding.genevePort)
        let vxlan = try #require(binding.vxlanPort)
        #expect(geneve != 0 && vxlan != 0 && geneve != vxlan)
        #expect(binding.host == "127.0.0.1")
        #expect(binding.receiveBufferBytes > 0)
        if IngestWait.isRoot { #expect(binding.receiveBufferBytes >= 8 << 20, "SO_RCVBUFFORCE as root") }

        let sender = try IngestSender(udp: true)
        let start = SystemClock.wallNanoseconds()
        var expectedGeneve: [MirroredPacket] = []
        var expectedVXLAN: [MirroredPacket] = []
        var bytes = 0
        for index in 0..<100 {
            var meta = E.Meta()
            meta.vmID = UInt32(1000 + index)
            meta.tsNs = 1_700_000_000_000_000_000 + UInt64(index)
            // Sizes up to a jumbo frame.
            let inner = E.innerFrame(payloadBytes: index == 99 ? 8900 : index * 13)
            let genevePayload = E.tunnelPayload(E.build(.init(kind: .geneve), meta, inner: inner), .geneve)
            let vxlanPayload = E.tunnelPayload(E.build(.init(kind: .vxlan), meta, inner: inner), .vxlan)
            try sender.send(genevePayload, port: geneve)
            try sender.send(vxlanPayload, port: vxlan)
            bytes += genevePayload.count + vxlanPayload.count
            expectedGeneve.append(try MirrorDecoder.decodeGeneve(udpPayload: genevePayload, sensor: SensorRegistry.loopbackName, receivedNs: 0))
            expectedVXLAN.append(try MirrorDecoder.decodeVXLAN(udpPayload: vxlanPayload, sensor: SensorRegistry.loopbackName, receivedNs: 0))
        }
        // Garbage, to both sockets.
        let valid = E.tunnelPayload(E.build(.init(kind: .vxlan), E.Meta(), inner: E.innerFrame()), .vxlan)
        var noFlag = valid
        noFlag[0] = 0
        var oam = E.tunnelPayload(E.build(.init(kind: .geneve), E.Meta(), inner: E.innerFrame()), .geneve)
        oam[1] = 0x80
        let garbage: [([UInt8], Int)] = [([], geneve), ([UInt8](repeating: 0xFF, count: 40), geneve), (oam, geneve),
                                         (Array(valid.prefix(12)), vxlan), (noFlag, vxlan), ([], vxlan)]
        for (datagram, port) in garbage {
            try sender.send(datagram, port: port)
            bytes += datagram.count
        }

        let total = UInt64(200 + garbage.count)
        #expect(await IngestWait.until { listener.statistics.received == total }, "received \(listener.statistics)")
        let end = SystemClock.wallNanoseconds()
        let packets = box.all
        #expect(packets.count == 200)
        // Each socket keeps its order.
        let receivedGeneve = packets.filter { $0.encapsulation == .geneve }
        let receivedVXLAN = packets.filter { $0.encapsulation == .vxlan }
        for packet in packets {
            #expect((start...end).contains(packet.receivedNs))
        }
        func withoutReceiveTime(_ packets: [MirroredPacket]) -> [MirroredPacket] {
            packets.map { packet in
                var packet = packet
                if packet.timestampNs == packet.receivedNs { packet.timestampNs = 0 }
                packet.receivedNs = 0
                return packet
            }
        }
        #expect(withoutReceiveTime(receivedGeneve) == expectedGeneve)
        #expect(withoutReceiveTime(receivedVXLAN) == expectedVXLAN)

        let stats = listener.statistics
        #expect(stats.received == total)
        #expect(stats.receivedBytes == UInt64(bytes))
        #expect(stats.decoded == 200)
        #expect(stats.decodedByEncapsulation == [.geneve: 100, .vxlan: 100])
        #expect(stats.dropped == [.truncated: 3, .badVersion: 1, .notMirrorTraffic: 1, .badFlags: 1])
        #expect(stats.droppedTotal == UInt64(garbage.count))
        #expect(stats.readErrors == 0)
        #expect(stats.lastError != nil)
    }

    @Test("A datagram longer than the receive buffer is cut and then rejected by its metadata")
    func oversizedDatagram() async throws {
        let box = IngestPacketBox()
        let listener = MirrorListener(configuration: Self.loopback(maximumDatagramBytes: 1024)) { box.append($0) }
        try listener.start()
        defer { listener.stop() }
        let port = try #require(listener.binding?.genevePort)
        let sender = try IngestSender(udp: true)
        try sender.send(E.tunnelPayload(E.build(.init(kind: .geneve), E.Meta(), inner: E.innerFrame(payloadBytes: 3000)), .geneve), port: port)
        try sender.send(E.tunnelPayload(E.build(.init(kind: .geneve), E.Meta(), inner: E.innerFrame(payloadBytes: 500)), .geneve), port: port)
        #expect(await IngestWait.until { listener.statistics.received == 2 })
        #expect(listener.statistics.dropped == [.badLength: 1])
        #expect(box.all.map(\.frame.count) == [E.innerFrame(payloadBytes: 500).count])
    }

    @Test("Start, stop, restart; a second start and a taken port are clear errors")
    func lifecycle() async throws {
        let box = IngestPacketBox()
        let listener = MirrorListener(configuration: Self.loopback()) { box.append($0) }
        #expect(listener.binding == nil)
        listener.stop()  // not running: nothing to do
        try listener.start()
        #expect(listener.isRunning)
        #expect(throws: MirrorListenerError.alreadyRunning) { try listener.start() }
        let taken = try #require(listener.binding?.genevePort)

        // Another listener on the same port: refused, not silently sharing the traffic.
        let other = MirrorListener(configuration: .init(host: "127.0.0.1", genevePort: 0, vxlanPort: taken)) { _ in }
        do {
            try other.start()
            Issue.record("binding a taken port succeeded")
            other.stop()
        } catch {
            guard case .bindFailed(let encapsulation, let host, let port, let reason) = error else {
                Issue.record("unexpected error \(error)")
                return
            }
            #expect(encapsulation == .vxlan && host == "127.0.0.1" && port == taken)
            #expect(reason.contains("in use"), "\(reason)")
            #expect(error.description.hasPrefix("cannot bind the vxlan listener to 127.0.0.1:\(taken): "))
            #expect(!other.isRunning)
        }

        listener.stop()
        #expect(listener.binding == nil && !listener.isRunning)
        try listener.start()
        let port = try #require(listener.binding?.vxlanPort)
        try IngestSender(udp: true).send(E.tunnelPayload(E.build(.init(kind: .vxlan), E.Meta(), inner: E.innerFrame()), .vxlan), port: port)
        #expect(await IngestWait.until { box.all.count == 1 })
        listener.stop()
        #expect(listener.statistics.decoded == 1, "counters survive a restart")
    }

    @Test("The sink may stop the listener: nothing more is delivered")
    func stopFromTheSink() async throws {
        let box = IngestPacketBox()
        let holder = IngestHolder<MirrorListener>()
        let listener = MirrorListener(configuration: Self.loopback()) { packet in
            box.append(packet)
            holder.value?.stop()
        }
        holder.value = listener
        defer { holder.value = nil }
        try listener.start()
        let port = try #require(listener.binding?.genevePort)
        let sender = try IngestSender(udp: true)
        for _ in 0..<5 {
            try sender.send(E.tunnelPayload(E.build(.init(kind: .geneve), E.Meta(), inner: E.innerFrame()), .geneve), port: port)
        }
        #expect(await IngestWait.until { !box.all.isEmpty && !listener.isRunning })
        try await Task.sleep(for: .milliseconds(50))
        #expect(box.all.count == 1)
        #expect(throws: Never.self) { try listener.start() }
        listener.stop()
    }

    @Test("Configuration errors")
    func configurationErrors() {
        let cases: [(MirrorListener.Configuration, String)] = [
            (.init(genevePort: nil, vxlanPort: nil), "neither a Geneve nor a VXLAN port is configured"),
            (.init(genevePort: 70000), "geneve port 70000 is not in 0...65535"),
            (.init(genevePort: 9999, vxlanPort: 9999), "Geneve and VXLAN cannot share UDP port 9999"),
            (.init(maximumDatagramBytes: 10), "maximumDatagramBytes 10 is not in 22...65535"),
            (.init(vectorReadMessageCount: 0), "vectorReadMessageCount 0 is not in 1...1024"),
        ]
        for (configuration, message) in cases {
            #expect(throws: MirrorListenerError.invalidConfiguration(message)) {
                try MirrorListener(configuration: configuration) { _ in }.start()
            }
        }
        #expect(throws: MirrorListenerError.self) {
            try MirrorListener(configuration: .init(host: "192.0.2.55", genevePort: 0, vxlanPort: nil)) { _ in }.start()
        }
    }

    @Test("Default configuration: loopback only, 6081 and 4789, 8 MiB, jumbo frames")
    func defaults() {
        let configuration = MirrorListener.Configuration()
        #expect(configuration.host == "127.0.0.1")
        #expect(configuration.sensors == .loopback)
        #expect(configuration.genevePort == 6081 && configuration.vxlanPort == 4789)
        #expect(configuration.receiveBufferBytes == 8 << 20)
        #expect(configuration.maximumDatagramBytes == 9216)
    }

    @Test("An IPv4 sender on a dual-stack socket reads as IPv4")
    func sensorText() {
        #expect(MirrorDatagramHandler.sensor(text: "::ffff:192.0.2.7") == "192.0.2.7")
        #expect(MirrorDatagramHandler.sensor(text: "::FFFF:192.0.2.7") == "192.0.2.7")
        #expect(MirrorDatagramHandler.sensor(text: "::ffff:c000:207") == "::ffff:c000:207")
        #expect(MirrorDatagramHandler.sensor(text: "2001:db8::5") == "2001:db8::5")
        #expect(MirrorDatagramHandler.sensor(text: "198.51.100.1") == "198.51.100.1")
        #expect(MirrorDatagramHandler.sensor(text: nil) == "unknown")
    }
}
