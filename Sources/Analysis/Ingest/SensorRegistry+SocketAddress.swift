import BMAContract
import NIOCore

extension SensorRegistry {
    /// The sensor a datagram's sender belongs to; an IPv4 sender on a dual-stack socket
    /// (::ffff:a.b.c.d) is looked up as IPv4.
    func sensor(_ address: SocketAddress?) -> Sensor? {
        guard let (hi, lo) = Self.halves(address) else { return nil }
        return sensor(hi: hi, lo: lo)
    }

    static func halves(_ address: SocketAddress?) -> (hi: UInt64, lo: UInt64)? {
        switch address {
        case .v4(let a):
            return IPAddressText.v4Mapped(UInt32(bigEndian: a.address.sin_addr.s_addr))
        case .v6(let a):
            return withUnsafeBytes(of: a.address.sin6_addr) { IPAddressText.halves($0) }
        default:
            return nil
        }
    }
}
