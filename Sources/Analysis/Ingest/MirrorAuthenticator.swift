import BMAContract
import Synchronization

/// What a Geneve copy's authentication option says (MirrorAuthentication in the contract).
public struct MirrorAuthenticationTag: Sendable, Equatable {
    public var keyID: UInt8
    public var stream: UInt8
    /// The reserved bytes as received (0 from bmad).
    public var reserved: UInt16 = 0
    public var sequence: UInt64
    public var mac: UInt64
    /// The Geneve header's VNI word as received (VNI and reserved byte): the MAC covers it.
    public var vniWord: UInt32

    public init(keyID: UInt8, stream: UInt8, sequence: UInt64, mac: UInt64, vniWord: UInt32) {
        self.keyID = keyID
        self.stream = stream
        self.sequence = sequence
        self.mac = mac
        self.vniWord = vniWord
    }
}

/// Checks the copies of sensors that have keys: the MAC under the key the copy names (a sensor
/// has at most two, so a key can be replaced without a gap), then the sequence number against a
/// replay window per (sensor, stream). Copies of a sensor without keys pass unchecked.
///
/// Thread-safe (one lock around the replay windows); the MAC is computed outside it.
public final class MirrorAuthenticator: Sendable {
    /// Sequence numbers this far behind the highest seen on a stream are still accepted once
    /// (copies of one worker can be reordered on the way).
    public static let window: UInt64 = 64
    /// Keys a sensor may have at once: the current one and the next (or the previous).
    public static let maximumKeysPerSensor = 2

    private let keys: [String: [MirrorKey]]
    private let windows = Mutex<[StreamID: ReplayWindow]>([:])

    struct StreamID: Hashable {
        var sensor: String
        var stream: UInt8
    }

    struct ReplayWindow {
        var highest: UInt64
        /// Bit k: highest - k was seen.
        var seen: UInt64

        /// Records `sequence`; false when it was seen or is too old.
        mutating func accept(_ sequence: UInt64) -> Bool {
            if sequence > highest {
                let shift = sequence - highest
                seen = shift >= 64 ? 1 : seen << shift | 1
                highest = sequence
                return true
            }
            let age = highest - sequence
            guard age < MirrorAuthenticator.window, seen & (1 << age) == 0 else { return false }
            seen |= 1 << age
            return true
        }
    }

    /// `keys`: per sensor name, one or two keys with distinct ids.
    public init(keys: [String: [MirrorKey]]) throws(SensorRegistryError) {
        for (sensor, list) in keys {
            guard (1...Self.maximumKeysPerSensor).contains(list.count) else {
                throw SensorRegistryError(message: "sensor '\(sensor)' has \(list.count) keys; 1 or 2 (the current and the next) are allowed")
            }
            guard Set(list.map(\.id)).count == list.count else {
                throw SensorRegistryError(message: "sensor '\(sensor)' has two keys with the same id")
            }
        }
        self.keys = keys
    }

    /// True when copies from `sensor` must be authenticated.
    public func requiresAuthentication(_ sensor: String) -> Bool { keys[sensor] != nil }

    public var sensorsWithKeys: [String] { keys.keys.sorted() }

    /// Throws `.unauthenticated` unless `packet` (already named after its sensor) carries a valid,
    /// fresh authentication option, or its sensor has no keys.
    public func verify(_ packet: MirroredPacket) throws(MirrorDecodeError) {
        guard let sensorKeys = keys[packet.sensor] else { return }
        func refuse(_ problem: MirrorDecodeError.AuthenticationProblem) -> MirrorDecodeError {
            .unauthenticated(sensor: packet.sensor, problem: problem)
        }
        guard let tag = packet.authentication, let metadata = packet.metadata else { throw refuse(.missing) }
        guard let key = sensorKeys.first(where: { $0.id == tag.keyID }) else { throw refuse(.unknownKey(tag.keyID)) }
        let expected = MirrorAuthentication.mac(key: key, vniWord: tag.vniWord, metadata: Self.metadataBytes(metadata),
                                                stream: tag.stream, reserved: tag.reserved, sequence: tag.sequence,
                                                frame: packet.frame)
        guard expected == tag.mac else { throw refuse(.badMAC(keyID: tag.keyID)) }
        let id = StreamID(sensor: packet.sensor, stream: tag.stream)
        let fresh = windows.withLock { windows in
            guard var window = windows[id] else {
                windows[id] = ReplayWindow(highest: tag.sequence, seen: 1)
                return true
            }
            let ok = window.accept(tag.sequence)
            windows[id] = window
            return ok
        }
        guard fresh else { throw refuse(.replayed(stream: tag.stream, sequence: tag.sequence)) }
    }

    /// The option's 24 data bytes as bmad sent them (the decoder keeps every field).
    static func metadataBytes(_ m: BMAMetadata) -> [UInt8] {
        var out: [UInt8] = [m.version, m.flags.rawValue]
        MirrorAuthentication.appendBE(m.policyID, 2, to: &out)
        MirrorAuthentication.appendBE(m.reasons.rawValue, 4, to: &out)
        MirrorAuthentication.appendBE(m.scoreMilli, 4, to: &out)
        MirrorAuthentication.appendBE(m.originalLength, 4, to: &out)
        MirrorAuthentication.appendBE(m.timestampNs, 8, to: &out)
        return out
    }
}

extension MirrorAuthenticator: Equatable {
    public static func == (a: MirrorAuthenticator, b: MirrorAuthenticator) -> Bool { a === b }
}
