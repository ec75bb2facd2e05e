import CDPDK
import XCTest

@testable import Dataplane

/// Builds real Ethernet frames and parses them with `bma_parse`, the way the dataplane does.
/// Checksums are left zero: the parser does not verify them.
enum TestFrame {
    static let vmMAC: UInt64 = 0x02_00_00_00_00_01
    static let gatewayMAC: UInt64 = 0x02_00_00_00_00_fe
    static let vmIP: UInt32 = 0x0a00_0001  // 10.0.0.1

    static func ip(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) -> UInt32 {
        UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d)
    }

    static func be16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xff)] }
    static func be32(_ v: UInt32) -> [UInt8] {
        [UInt8(v >> 24), UInt8((v >> 16) & 0xff), UInt8((v >> 8) & 0xff), UInt8(v & 0xff)]
    }
    static func mac(_ v: UInt64) -> [UInt8] { (0..<6).map { UInt8((v >> (40 - 8 * UInt64($0))) & 0xff) } }

    static func ether(dst: UInt64 = gatewayMAC, src: UInt64 = vmMAC, type: UInt16, _ payload: [UInt8]) -> [UInt8] {
        var b = mac(dst) + mac(src) + be16(type) + payload
        if b.count < 60 { b += [UInt8](repeating: 0, count: 60 - b.count) }
        return b
    }

    static func ipv4(src: UInt32 = vmIP, dst: UInt32, proto: UInt8, _ payload: [UInt8]) -> [UInt8] {
        var b: [UInt8] = [0x45, 0]
        b += be16(UInt16(20 + payload.count))
        b += be16(0x1234) + be16(0x4000)
        b += [64, proto, 0, 0]
        b += be32(src) + be32(dst)
        return b + payload
    }

    /// TCP flags: FIN 0x01 SYN 0x02 RST 0x04 PSH 0x08 ACK 0x10.
    static func tcp(dst: UInt32, srcPort: UInt16 = 40_000, dstPort: UInt16, flags: UInt8 = 0x18,
                    payload: Int = 0) -> [UInt8] {
        var t = be16(srcPort) + be16(dstPort) + be32(1) + be32(1)
        t += [0x50, flags] + be16(65_535) + be16(0) + be16(0)
        t += [UInt8](repeating: 0x61, count: payload)
        return ether(type: 0x0800, ipv4(dst: dst, proto: 6, t))
    }

    /// A UDP frame of exactly `frameLength` bytes (>= 42).
    static func udp(dst: UInt32, srcPort: UInt16 = 50_000, dstPort: UInt16, frameLength: Int = 74) -> [UInt8] {
        let payload = max(0, frameLength - 42)
        var u = be16(srcPort) + be16(dstPort) + be16(UInt16(8 + payload)) + be16(0)
        u += [UInt8](repeating: 0x41, count: payload)
        return ether(type: 0x0800, ipv4(dst: dst, proto: 17, u))
    }

    /// ICMP echo request (type 8) by default, with 56 bytes of data like ping.
    static func icmp(dst: UInt32, type: UInt8 = 8, code: UInt8 = 0, data: Int = 56) -> [UInt8] {
        var i: [UInt8] = [type, code, 0, 0] + be16(0x77) + be16(1)
        i += [UInt8](repeating: 0x10, count: data)
        return ether(type: 0x0800, ipv4(dst: dst, proto: 1, i))
    }

    /// ARP request (who-has `target`).
    static func arp(target: UInt32) -> [UInt8] {
        var a = be16(1) + be16(0x0800) + [6, 4] + be16(1)
        a += mac(vmMAC) + be32(vmIP) + mac(0) + be32(target)
        return ether(dst: 0xffff_ffff_ffff, type: 0x0806, a)
    }

    static func parse(_ frame: [UInt8]) -> bma_pkt_t {
        var p = bma_pkt_t()
        frame.withUnsafeBufferPointer { b in
            bma_parse(b.baseAddress, UInt32(b.count), UInt32(b.count), &p)
        }
        return p
    }
}

let ns: UInt64 = 1_000_000_000

/// One VM's detector driven with packets at times the test controls.
struct DetectorHarness {
    var detector = Detector()
    var settings: DetectionSettings
    /// Current packet time, nanoseconds.
    var now: UInt64

    init(learningSeconds: UInt64 = 10, start: UInt64 = 1_000 * ns) {
        var s = DetectionSettings()
        s.learningNs = learningSeconds * ns
        settings = s
        now = start
    }

    func deallocate() { detector.deallocate() }

    @discardableResult
    mutating func send(_ frame: [UInt8], at t: UInt64? = nil) -> Verdict {
        if let t { now = t }
        var p = TestFrame.parse(frame)
        p.ts_ns = now
        let s = settings
        let at = now
        return withUnsafePointer(to: &p) { detector.evaluate($0, at: at, settings: s) }
    }

    @discardableResult
    mutating func send(_ p: bma_pkt_t, at t: UInt64? = nil) -> Verdict {
        if let t { now = t }
        var p = p
        let s = settings
        let at = now
        return withUnsafePointer(to: &p) { detector.evaluate($0, at: at, settings: s) }
    }
}

/// The hosts of the reference VM's normal traffic.
enum Hosts {
    static let web = TestFrame.ip(192, 168, 1, 10)
    static let dns = TestFrame.ip(192, 168, 1, 53)
    static let gateway = TestFrame.ip(192, 168, 1, 1)
}

/// The reference VM's normal traffic, interleaved in one packet schedule: HTTPS to one web server
/// at 10 packets/s, 74-byte DNS queries at 2/s, a ping to the gateway every 2 s.
struct NormalTraffic {
    static let https = TestFrame.tcp(dst: Hosts.web, dstPort: 443, payload: 200)
    static let dnsQuery = TestFrame.udp(dst: Hosts.dns, dstPort: 53, frameLength: 74)
    static let ping = TestFrame.icmp(dst: Hosts.gateway)

    /// Sends `seconds` of normal traffic starting at `h.now`, in 100 ms ticks; returns the verdicts.
    @discardableResult
    static func run(_ h: inout DetectorHarness, seconds: Int) -> [Verdict] {
        var out: [Verdict] = []
        let start = h.now
        for tick in 0..<(seconds * 10) {
            let t = start + UInt64(tick) * 100_000_000
            out.append(h.send(https, at: t))
            if tick % 5 == 0 { out.append(h.send(dnsQuery, at: t + 10_000_000)) }
            if tick % 20 == 0 { out.append(h.send(ping, at: t + 20_000_000)) }
        }
        h.now = start + UInt64(seconds) * ns
        return out
    }

    /// A harness whose VM has learned for `learningSeconds` and then sent normal traffic for
    /// `afterSeconds` more (so that detection is active).
    static func trained(learningSeconds: UInt64 = 10, afterSeconds: Int = 20,
                        configure: (inout DetectionSettings) -> Void = { _ in }) -> DetectorHarness {
        var h = DetectorHarness(learningSeconds: learningSeconds)
        configure(&h.settings)
        run(&h, seconds: Int(learningSeconds) + afterSeconds)
        return h
    }
}
