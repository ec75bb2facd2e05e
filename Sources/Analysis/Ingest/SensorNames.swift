import BMAContract

/// The text of sensor addresses, formatted once per address rather than once per packet: mirror
/// traffic comes from a handful of hosts. One per ingest thread or import (not thread-safe);
/// bounded (it starts over past `capacity` addresses).
public final class SensorNames {
    private var names: [Key: String] = [:]
    private var last: (key: Key, name: String)?
    let capacity: Int

    struct Key: Hashable {
        var hi: UInt64
        var lo: UInt64
    }

    public init(capacity: Int = 4096) {
        self.capacity = max(1, capacity)
    }

    /// The text of an address in the 128-bit form (IPv4 v4-mapped).
    public func name(hi: UInt64, lo: UInt64) -> String {
        let key = Key(hi: hi, lo: lo)
        if let last, last.key == key { return last.name }
        let name: String
        if let known = names[key] {
            name = known
        } else {
            if names.count >= capacity { names.removeAll(keepingCapacity: true) }
            name = IPAddressText.format(hi: hi, lo: lo)
            names[key] = name
        }
        last = (key, name)
        return name
    }
}
