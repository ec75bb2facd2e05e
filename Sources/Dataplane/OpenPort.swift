import BMAContract
import CDPDK

/// A port the dataplane opened: its DPDK id, role, and what the device says about itself.
public struct OpenPort: Sendable {
    public var name: String
    public var role: PortRole
    public var devargs: String
    public var portId: UInt16
    public var driver: String
    public var mac: UInt64
    public var rxQueues: UInt16
    public var txQueues: UInt16
    public var rxTimestamp: Bool
    /// VM id (the VNI on the mirror) for VM ports.
    public var vmId: UInt32?
}

extension OpenPort {
    /// Attaches the device and reads its info; does not configure it yet.
    static func attach(name: String, role: PortRole, devargs: String, vmId: UInt32?) throws(DataplaneError) -> OpenPort {
        let id = bma_port_attach(devargs)
        if id < 0 { throw DataplaneError("\(name): \(String(cString: bma_last_error()))") }
        var info = bma_port_info_t()
        if bma_port_info(UInt16(id), &info) != 0 {
            throw DataplaneError("\(name): \(String(cString: bma_last_error()))")
        }
        let driver = withUnsafeBytes(of: info.driver) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        return OpenPort(name: name, role: role, devargs: devargs, portId: UInt16(id), driver: driver,
                        mac: info.mac, rxQueues: 0, txQueues: 0, rxTimestamp: info.rx_timestamp != 0,
                        vmId: vmId)
    }
}

/// Formats a 48-bit MAC as aa:bb:cc:dd:ee:ff (the contract's MAC text).
public func formatMAC(_ mac: UInt64) -> String { MACText.format(mac) }
