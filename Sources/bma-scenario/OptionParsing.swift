import PacketCapture
import ArgumentParser

/// Turns option strings into addresses, with errors that name the option.
enum OptionParsing {
    static func ipv4(_ text: String, option: String) throws -> IPv4Address {
        guard let address = IPv4Address(text) else {
            throw ValidationError("\(option): '\(text)' is not an IPv4 address (expected dotted quad, e.g. 192.168.1.129)")
        }
        return address
    }

    static func mac(_ text: String, option: String) throws -> MACAddress {
        guard let address = MACAddress(text) else {
            throw ValidationError("\(option): '\(text)' is not a MAC address (expected six hex pairs, e.g. f4:b8:5e:ff:2b:1b)")
        }
        return address
    }

    static func ipv4(_ text: String?, option: String) throws -> IPv4Address? {
        try text.map { try ipv4($0, option: option) }
    }

    static func mac(_ text: String?, option: String) throws -> MACAddress? {
        try text.map { try mac($0, option: option) }
    }
}
