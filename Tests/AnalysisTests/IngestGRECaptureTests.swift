import Foundation
import Testing
@testable import Analysis
#if canImport(Glibc)
import Glibc
#endif

/// The raw GRE socket end to end: ERSPAN II packets sent over loopback by a raw socket.
@Suite("Ingest: GRE capture", .serialized, .timeLimit(.minutes(1)))
struct IngestGRECaptureTests {
    typealias E = IngestEncap

    @Test("ERSPAN II over loopback reaches the sink; other GRE is counted", .enabled(if: IngestWait.isRoot, "needs root (raw sockets)"))
    func loopback() async throws {
        let box = IngestPacketBox()
        let capture = GRECapture(configuration: .init(bindAddress: "127.0.0.1")) { box.append($0) }
        try capture.start()
        defer { capture.stop() }
        #expect(capture.isRunning)
        #expect(throws: GRECaptureError.alreadyRunning) { try capture.start() }

        // Session ids 900...919: other GRE traffic on the host cannot be mistaken for them.
        let sender = try IngestSender(udp: false)
        var expected: [MirroredPacket] = []
        for index in 0..<20 {
            var meta = E.Meta()
            meta.vmID = UInt32(900 + index)
            let inner = E.innerFrame(payloadBytes: index * 50)
            let gre = E.tunnelPayload(E.build(.init(kind: .erspan2), meta, inner: inner), .erspan2)
            try sender.send(gre)
            expected.append(try MirrorDecoder.decodeERSPAN(grePacket: gre, sensor: SensorRegistry.loopbackName, receivedNs: 0))
        }
        // Plain GRE carrying IPv4: not ERSPAN.
        try sender.send(E.be16(0) + E.be16(0x0800) + [UInt8](repeating: 0x45, count: 20))

        let ours = { box.all.filter { (900..<920).contains($0.vmID) && $0.sensor == SensorRegistry.loopbackName } }
        #expect(await IngestWait.until { ours().count == 20 && capture.statistics.dropped(.unknownProtocol) >= 1 },
                "\(capture.statistics)")
        let received = ours().map { packet in
            var packet = packet
            packet.receivedNs = 0
            packet.timestampNs = 0
            return packet
        }
        #expect(received == expected)
        #expect(capture.statistics.decoded >= 20)
        capture.stop()
        #expect(!capture.isRunning)
        // Stopped: nothing more arrives.
        let before = capture.statistics.received
        try sender.send(E.tunnelPayload(E.build(.init(kind: .erspan2), E.Meta(), inner: E.innerFrame()), .erspan2))
        try await Task.sleep(for: .milliseconds(100))
        #expect(capture.statistics.received == before)
    }

    @Test("The sink may stop the capture", .enabled(if: IngestWait.isRoot, "needs root (raw sockets)"))
    func stopFromTheSink() async throws {
        let box = IngestPacketBox()
        let holder = IngestHolder<GRECapture>()
        let capture = GRECapture(configuration: .init(bindAddress: "127.0.0.1")) { packet in
            guard packet.vmID == 777 else { return }
            box.append(packet)
            holder.value?.stop()
        }
        holder.value = capture
        defer { holder.value = nil }
        try capture.start()
        var meta = E.Meta()
        meta.vmID = 777
        let sender = try IngestSender(udp: false)
        for _ in 0..<5 { try sender.send(E.tunnelPayload(E.build(.init(kind: .erspan2), meta, inner: E.innerFrame()), .erspan2)) }
        #expect(await IngestWait.until { !box.all.isEmpty && !capture.isRunning })
        try await Task.sleep(for: .milliseconds(50))
        #expect(box.all.count == 1)
        // It starts again (the old descriptors were closed by the old thread).
        try capture.start()
        capture.stop()
    }

    @Test("Without root the error says so", .enabled(if: !IngestWait.isRoot, "runs only as a user without CAP_NET_RAW"))
    func permission() {
        #expect(throws: GRECaptureError.permissionDenied) { try GRECapture { _ in }.start() }
    }

    @Test("A bad bind address is a clear error")
    func badAddress() {
        #expect(throws: GRECaptureError.invalidAddress("not-an-address")) {
            try GRECapture(configuration: .init(bindAddress: "not-an-address")) { _ in }.start()
        }
        #expect(GRECaptureError.permissionDenied.description == "cannot open a raw GRE socket: needs root or CAP_NET_RAW")
    }

    @Test("Raw IPv4 packets: the header is skipped by its IHL, the source is the sensor")
    func rawPackets() throws {
        let inner = E.innerFrame()
        let frame = E.build(.init(kind: .erspan2), E.Meta(), inner: inner)
        let ip = Array(frame[14...])
        let packet = try MirrorDecoder.decodeRawIPv4GRE(ip, receivedNs: 5)
        #expect(packet.sensor == "192.0.2.1" && packet.frame == inner && packet.vmID == 300)
        // With 8 bytes of IP options.
        var withOptions = Array(ip[0..<20]) + [1, 1, 1, 1, 1, 1, 1, 0] + Array(ip[20...])
        withOptions[0] = 0x47
        withOptions[2...3] = ArraySlice(E.be16(UInt16(withOptions.count)))
        #expect(try MirrorDecoder.decodeRawIPv4GRE(withOptions, receivedNs: 5) == packet)
        var udp = ip
        udp[9] = 17
        #expect(throws: MirrorDecodeError.notMirrorTraffic(.ipProtocol(17))) { try MirrorDecoder.decodeRawIPv4GRE(udp, receivedNs: 5) }
    }
}
