import BMAContract
import Foundation

/// A packet handed to an external module, remembered (without its frame) so that the module's
/// output can be attributed to its VM, host and flow.
struct ExternalPacketReference: Sendable {
    /// The packet's 5-tuple, kept compact; its text is only made for packets an output line
    /// names.
    struct Tuple: Sendable {
        var source: PacketView.Address
        var destination: PacketView.Address
        var proto: UInt8
        var sourcePort: UInt16
        var destinationPort: UInt16
    }

    var packet: MirroredPacket
    var tuple: Tuple?

    init(packet: MirroredPacket, view: PacketView) {
        self.packet = packet
        if let ip = view.ip {
            let ports: (UInt16, UInt16)
            switch view.transport {
            case let .tcp(tcp): ports = (tcp.sourcePort, tcp.destinationPort)
            case let .udp(udp): ports = (udp.sourcePort, udp.destinationPort)
            case let .icmp(icmp): ports = (UInt16(icmp.type), UInt16(icmp.code))
            case nil: ports = (0, 0)
            }
            tuple = Tuple(source: ip.source, destination: ip.destination, proto: ip.protocolNumber,
                          sourcePort: ports.0, destinationPort: ports.1)
        }
    }

    var flow: FlowKey? {
        tuple.map {
            FlowKey(srcIP: $0.source.description, dstIP: $0.destination.description, proto: $0.proto,
                    srcPort: $0.sourcePort, dstPort: $0.destinationPort)
        }
    }
}

/// Turns one JSON line of an external module's output into an alert.
///
/// - An object with "alert": {"signature": ...} is taken as an alert: signature, signature_id,
///   category and severity come from it (the module's defaults fill what is missing), and
///   EVE-style src_ip/src_port/dest_ip/dest_port/proto and bma.details are kept.
/// - Any other object is wrapped: signature "external:<name>", the module's default id,
///   category and severity, and the line itself in details["output"].
/// - The packet it is about is found by number (1-based, counted since the child started, as
///   tshark numbers frames) under one of `packetNumberPaths`; without one, the latest packet
///   written. Flow, VM, host, time and reasons come from that packet unless the line says
///   otherwise.
/// - Elasticsearch bulk headers ({"index": ...} alone, as `tshark -T ek` writes) are ignored.
struct ExternalAlertMapper {
    enum Outcome {
        case alert(Alert)
        case ignored
        case invalid
    }

    let name: String
    let signatureID: Int
    let category: String
    let severity: Int
    let packetNumberPaths: [[String]]
    let maxDetailBytes: Int
    let alerts: AlertBuilder

    func map(_ line: ArraySlice<UInt8>, packets: (Int) -> ExternalPacketReference?, latest: ExternalPacketReference?) -> Outcome {
        let trimmed = line.drop { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }
        guard !trimmed.isEmpty else { return .ignored }
        guard let object = (try? JSONSerialization.jsonObject(with: Data(trimmed), options: [])) as? [String: Any] else {
            return .invalid
        }
        if object.count == 1, object["index"] != nil { return .ignored }

        let number = packetNumberPaths.lazy.compactMap { Self.integer(Self.value(at: $0, in: object)) }.first
        let reference = number.flatMap(packets) ?? latest
        let packet = reference?.packet ?? MirroredPacket(
            receivedNs: 0, timestampNs: SystemClock.wallNanoseconds(), sensor: "external:\(name)", vmID: 0,
            encapsulation: .pcap, metadata: nil, frame: [], originalLength: 0)

        var flow = reference?.flow
        if let source = object["src_ip"] as? String, let destination = object["dest_ip"] as? String {
            let proto = (object["proto"] as? String).map(Self.protocolNumber) ?? flow?.proto ?? 0
            flow = FlowKey(srcIP: source, dstIP: destination, proto: proto,
                           srcPort: UInt16(clamping: Self.integer(object["src_port"]) ?? 0),
                           dstPort: UInt16(clamping: Self.integer(object["dest_port"]) ?? 0))
        }

        let text = String(decoding: trimmed.prefix(maxDetailBytes), as: UTF8.self)
        var details: [String: String] = ["output": text]
        if trimmed.count > maxDetailBytes { details["output_truncated"] = String(trimmed.count) }
        if let number { details["packet_number"] = String(number) }

        let signature: Alert.Signature
        if let alert = object["alert"] as? [String: Any], let title = alert["signature"] as? String {
            signature = Alert.Signature(
                signature: title, signature_id: Self.integer(alert["signature_id"]) ?? signatureID,
                category: alert["category"] as? String ?? category,
                severity: min(255, max(1, Self.integer(alert["severity"]) ?? severity)))
            if let bma = object["bma"] as? [String: Any], let extra = bma["details"] as? [String: Any] {
                for (key, value) in extra.prefix(32) where details[key] == nil { details[key] = Self.text(value) }
            }
        } else {
            signature = Alert.Signature(signature: "external:\(name)", signature_id: signatureID, category: category,
                                        severity: severity)
        }
        let score = (object["bma"] as? [String: Any]).flatMap { ($0["score"] as? NSNumber)?.doubleValue }
        return .alert(alerts.alert(signature, module: name, packet: packet, flow: flow, score: score, count: 1, details: details))
    }

    static func value(at path: [String], in object: [String: Any]) -> Any? {
        var current: Any? = object
        for component in path {
            guard let dictionary = current as? [String: Any] else { return nil }
            current = dictionary[component]
        }
        // tshark -T json puts some values in one-element arrays.
        if let array = current as? [Any], array.count == 1 { return array[0] }
        return current
    }

    static func integer(_ value: Any?) -> Int? {
        switch value {
        case let number as NSNumber: Int(exactly: number.doubleValue)
        case let text as String: Int(text)
        default: nil
        }
    }

    static func text(_ value: Any) -> String {
        switch value {
        case let string as String: string
        case let number as NSNumber: number.stringValue
        default: String(describing: value)
        }
    }

    static func protocolNumber(_ name: String) -> UInt8 {
        switch name.uppercased() {
        case "TCP": 6
        case "UDP": 17
        case "ICMP": 1
        case "IPV6-ICMP", "ICMPV6": 58
        default: UInt8(name) ?? 0
        }
    }
}
