import BMAContract

/// The hosts allowed to send mirror traffic to this node, by name. A datagram whose source
/// address is in none of their networks is dropped (`unknownSensor`) before it is decoded, and
/// the packets that are kept carry the sensor's name, never just the address they came from.
///
/// The first sensor whose networks hold the address wins. Looked up once per datagram: a linear
/// scan over a handful of networks.
public struct SensorRegistry: Sendable, Equatable {
    public struct Sensor: Sendable, Equatable {
        /// What alerts and the store call it.
        public var name: String
        public var networks: [CIDR]

        public init(name: String, networks: [CIDR]) {
            self.name = name
            self.networks = networks
        }
    }

    public private(set) var sensors: [Sensor]

    /// The name of the sensor that the loopback networks belong to by default.
    public static let loopbackName = "local"
    public static let loopbackNetworks = [CIDR("127.0.0.0/8")!, CIDR("::1/128")!]
    /// Only this host (127.0.0.0/8 and ::1), named `local`.
    public static let loopback = SensorRegistry(unchecked: [Sensor(name: loopbackName, networks: loopbackNetworks)])

    private init(unchecked sensors: [Sensor]) {
        self.sensors = sensors
    }

    /// `sensors`, then the loopback sensor when `loopback` is true. Names must be unique and every
    /// sensor needs a network.
    public init(_ sensors: [Sensor], loopback: Bool = true) throws(SensorRegistryError) {
        var all = sensors
        if loopback { all.append(Sensor(name: Self.loopbackName, networks: Self.loopbackNetworks)) }
        var seen = Set<String>()
        for sensor in all {
            guard Self.isValidName(sensor.name) else { throw .invalid("'\(sensor.name)' is not a sensor name (1-64 of A-Z a-z 0-9 . _ -)") }
            guard seen.insert(sensor.name).inserted else {
                throw .invalid("sensor '\(sensor.name)' is configured twice\(sensor.name == Self.loopbackName && loopback ? " ('local' is the loopback sensor)" : "")")
            }
            guard !sensor.networks.isEmpty else { throw .invalid("sensor '\(sensor.name)' has no address") }
        }
        guard !all.isEmpty else { throw .invalid("no sensor is allowed: configure one, or keep the loopback sensor") }
        self.init(unchecked: all)
    }

    /// `NAME=CIDR[,CIDR...]`, e.g. `hv1=192.0.2.1` or `rack4=10.4.0.0/24,2001:db8:4::/64`.
    public static func parse(_ text: String) throws(SensorRegistryError) -> Sensor {
        let parts = text.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
            throw .invalid("'\(text)' is not NAME=ADDRESS[/PREFIX][,...] (a sensor needs a name)")
        }
        let name = String(parts[0])
        guard isValidName(name) else { throw .invalid("'\(name)' is not a sensor name (1-64 of A-Z a-z 0-9 . _ -)") }
        var networks: [CIDR] = []
        for item in parts[1].split(separator: ",", omittingEmptySubsequences: false) {
            do { networks.append(try CIDR.parse(String(item))) } catch { throw .invalid("sensor '\(name)': \(error.message)") }
        }
        return Sensor(name: name, networks: networks)
    }

    static func isValidName(_ name: String) -> Bool {
        (1...64).contains(name.utf8.count)
            && name.utf8.allSatisfy { c in (0x30...0x39).contains(c) || (0x41...0x5A).contains(c) || (0x61...0x7A).contains(c) || c == 0x2E || c == 0x5F || c == 0x2D }
    }

    /// The sensor an address (128-bit form, IPv4 v4-mapped) belongs to, nil when none.
    public func sensor(hi: UInt64, lo: UInt64) -> Sensor? {
        for sensor in sensors where sensor.networks.contains(where: { $0.contains(addressHi: hi, lo: lo) }) {
            return sensor
        }
        return nil
    }

    /// The sensor of an address as text (nil for text that is no address).
    public func sensor(address: String) -> Sensor? {
        guard let a = IPAddressText.parse(address) else { return nil }
        return sensor(hi: a.hi, lo: a.lo)
    }
}

public struct SensorRegistryError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String
    public init(message: String) { self.message = message }
    static func invalid(_ message: String) -> SensorRegistryError { SensorRegistryError(message: message) }
    public var description: String { message }
}
