import Testing
@testable import PacketCapture

@Suite("addresses")
struct AddressTests {
    @Test("MAC addresses parse and print", arguments: [
        ("f4:b8:5e:ff:2b:1b", "f4:b8:5e:ff:2b:1b"), ("F4-B8-5E-FF-2B-1B", "f4:b8:5e:ff:2b:1b"),
        ("00:00:00:00:00:00", "00:00:00:00:00:00"), ("ff:ff:ff:ff:ff:ff", "ff:ff:ff:ff:ff:ff"),
    ])
    func macParse(text: String, printed: String) throws {
        #expect(try #require(MACAddress(text)).description == printed)
    }

    @Test("malformed MAC addresses are rejected", arguments: [
        "", "f4:b8:5e:ff:2b", "f4:b8:5e:ff:2b:1b:00", "f4:b8:5e:ff:2b:1", "g4:b8:5e:ff:2b:1b", "f4b85eff2b1b", "f4:b8:5e:ff:2b:+1", "f4:b8:5e:ff:2b-1b",
    ])
    func macReject(text: String) {
        #expect(MACAddress(text) == nil)
    }

    @Test("MAC octets and flags")
    func macOctets() throws {
        let mac = try #require(MACAddress("01:00:5e:00:00:fb"))
        #expect(mac.octets == [0x01, 0x00, 0x5E, 0x00, 0x00, 0xFB])
        #expect(mac.isMulticast)
        #expect(!mac.isBroadcast)
        #expect(MACAddress("ff:ff:ff:ff:ff:ff")!.isBroadcast)
        #expect(MACAddress(mac.octets, at: 0) == mac)
    }

    @Test("IPv4 addresses parse and print", arguments: ["192.168.1.129", "0.0.0.0", "255.255.255.255", "10.87.1.10"])
    func ipv4Parse(text: String) throws {
        #expect(try #require(IPv4Address(text)).description == text)
    }

    @Test("malformed IPv4 addresses are rejected", arguments: [
        "", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.-4", "1..2.3", "+1.2.3.4", " 1.2.3.4", "1.2.3.4 ", "0001.2.3.4", "a.b.c.d", "١.٢.٣.٤",
    ])
    func ipv4Reject(text: String) {
        #expect(IPv4Address(text) == nil)
    }

    @Test("IPv4 raw value is first octet most significant")
    func ipv4Raw() {
        #expect(IPv4Address(1, 2, 3, 4).rawValue == 0x0102_0304)
        #expect(IPv4Address(1, 2, 3, 4).octets == [1, 2, 3, 4])
        #expect(IPv4Address(10, 0, 0, 1) < IPv4Address(10, 0, 1, 0))
    }
}
