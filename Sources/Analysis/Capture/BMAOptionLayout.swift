/// BMA's custom option value after the PEN (layout in `BMAPacketOption`), sized and written in
/// place by the segment writer, byte for byte what `BMAPacketOption.encodedPayload()` gives.
enum BMAOptionLayout {
    /// Bytes of the value after the PEN.
    static func length(sensorBytes: Int, encapsulation: MirroredPacket.Encapsulation, hasMetadata: Bool) -> Int {
        BMAMetadata.length + 3 + sensorBytes + 3 + encapsulation.rawValue.utf8.count + 3 + 8 + (hasMetadata ? 0 : 3)
    }

    static func write(_ packet: MirroredPacket, sensorBytes: Int, to out: inout BlockCursor) {
        if let metadata = packet.metadata {
            out.putByte(metadata.version)
            out.putByte(metadata.flags.rawValue)
            out.putBig(metadata.policyID)
            out.putBig(metadata.reasons.rawValue)
            out.putBig(metadata.scoreMilli)
            out.putBig(metadata.originalLength)
            out.putBig(metadata.timestampNs)
        } else {
            out.offset += BMAMetadata.length  // zeroed
        }
        out.putByte(BMAPacketOption.tlvSensor)
        out.putBig(UInt16(sensorBytes))
        var sensor = packet.sensor
        sensor.withUTF8 { out.putBytes(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer($0)[..<sensorBytes])) }
        var encapsulation = packet.encapsulation.rawValue
        out.putByte(BMAPacketOption.tlvEncapsulation)
        out.putBig(UInt16(encapsulation.utf8.count))
        encapsulation.withUTF8 { out.putBytes(UnsafeRawBufferPointer($0)) }
        out.putByte(BMAPacketOption.tlvReceived)
        out.putBig(UInt16(8))
        out.putBig(packet.receivedNs)
        if packet.metadata == nil {
            out.putByte(BMAPacketOption.tlvNoMetadata)
            out.putBig(UInt16(0))
        }
    }
}
