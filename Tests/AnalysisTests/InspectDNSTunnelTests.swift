import Foundation
import Testing
@testable import Analysis

@Suite("inspect: DNS tunnel module")
struct InspectDNSTunnelTests {
    typealias F = InspectFrames
    static let t0: UInt64 = 1_700_000_000_000_000_000

    @Test("iodine: one alert naming the client, the resolver and the domain", RealCaptures.required)
    func iodine() throws {
        let packets = InspectSupport.packets(try RealCaptures.read(RealCaptures.iodine).records, vmID: 3)
        let alerts = InspectSupport.run([DNSTunnelModule(alerts: AlertBuilder(vmNames: [3: "db1"]))], packets)
        #expect(alerts.count == 1)  // 24.5 s of tunnel: one window
        let alert = try #require(alerts.first)
        #expect(alert.alert.signature_id == 9_200_200 && alert.alert.severity == 1 && alert.alert.category == "Covert Channel")
        #expect(alert.src_ip == "10.0.2.30" && alert.dest_ip == "10.0.2.20" && alert.dest_port == 53 && alert.proto == "UDP")
        #expect(alert.vm == "db1" && alert.bma.module == "dns-tunnel")
        let details = alert.bma.details
        #expect(details["domain"] == "pirate.sea")
        #expect(details["query_types"]?.hasPrefix("NULL:") == true)
        let indicators = Set(details["indicators"]?.split(separator: ",").map(String.init) ?? [])
        #expect(indicators.isSuperset(of: ["long-names", "unusual-types", "binary-labels"]))
        #expect(Int(details["unique_subdomains"] ?? "") ?? 0 >= 20)
    }

    @Test("the camera's week of DNS raises nothing", RealCaptures.required)
    func benignCamera() throws {
        let module = DNSTunnelModule()
        let alerts = InspectSupport.run([module], InspectSupport.packets(try RealCaptures.read(RealCaptures.benign).records))
        #expect(alerts.isEmpty)
    }

    static func base32(_ generator: inout SeededGenerator, count: Int) -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz234567")
        return String((0..<count).map { _ in alphabet[Int.random(in: 0..<32, using: &generator)] })
    }

    @Test("a TXT tunnel with base32 names alerts; the same names as A queries at a low rate too")
    func craftedTXT() throws {
        var generator = SeededGenerator(seed: 11)
        let packets = (0..<40).map { index in
            let name = Self.base32(&generator, count: 50) + "." + Self.base32(&generator, count: 20) + ".t.evil.example"
            return InspectSupport.packet(F.dnsQueryFrame(port: UInt16(30_000 + index), name: name, type: 16),
                                         at: Self.t0 + UInt64(index) * 500_000_000)
        }
        let alerts = InspectSupport.run([DNSTunnelModule()], packets)
        let alert = try #require(alerts.first)
        #expect(alerts.count == 1)
        #expect(alert.bma.details["domain"] == "evil.example")
        #expect(alert.bma.details["indicators"]?.contains("high-entropy") == true)
        #expect(alert.bma.details["indicators"]?.contains("unusual-types") == true)
    }

    @Test("ordinary browsing: many names, short and wordy, A/AAAA/HTTPS: no alert")
    func browsing() {
        let words = ["www", "mail", "api", "cdn", "static", "img", "login", "accounts", "news", "docs", "drive", "maps",
                     "play", "video", "search", "support", "store", "blog", "m", "edge", "assets", "fonts", "ads", "stats",
                     "metrics", "telemetry", "update", "download", "auth", "id"]
        var packets: [MirroredPacket] = []
        var time = Self.t0
        for round in 0..<4 {
            for (index, word) in words.enumerated() {
                for type: UInt16 in [1, 28, 65] {
                    let name = "\(word)\(round == 0 ? "" : String(round)).example.com"
                    packets.append(InspectSupport.packet(F.dnsQueryFrame(port: UInt16(20_000 + index), name: name, type: type), at: time))
                    time += 100_000_000
                }
            }
        }
        #expect(InspectSupport.run([DNSTunnelModule()], packets).isEmpty)
    }

    @Test("reverse lookups and names under an allow-listed domain are not counted")
    func ignored() {
        var generator = SeededGenerator(seed: 12)
        var packets: [MirroredPacket] = []
        for index in 0..<200 {
            let reverse = (0..<32).map { _ in String(Int.random(in: 0..<16, using: &generator), radix: 16) }.joined(separator: ".") + ".ip6.arpa"
            packets.append(InspectSupport.packet(F.dnsQueryFrame(name: reverse, type: 12), at: Self.t0 + UInt64(index) * 100_000_000))
        }
        #expect(InspectSupport.run([DNSTunnelModule()], packets).isEmpty)

        var configuration = DNSTunnelModule.Configuration()
        configuration.ignoredDomains.insert("evil.example")
        let tunnel = (0..<60).map { index in
            InspectSupport.packet(F.dnsQueryFrame(name: Self.base32(&generator, count: 60) + ".evil.example", type: 16),
                                  at: Self.t0 + UInt64(index) * 100_000_000)
        }
        #expect(InspectSupport.run([DNSTunnelModule(configuration: configuration)], tunnel).isEmpty)
        #expect(InspectSupport.run([DNSTunnelModule()], tunnel).count == 1)
    }

    @Test("a tunnel that goes on alerts again in the next window, and state stays bounded")
    func windowsAndBounds() {
        var generator = SeededGenerator(seed: 13)
        let packets = (0..<600).map { index in
            InspectSupport.packet(F.dnsQueryFrame(name: Self.base32(&generator, count: 60) + ".evil.example", type: 10),
                                  at: Self.t0 + UInt64(index) * 500_000_000)  // 5 minutes
        }
        #expect(InspectSupport.run([DNSTunnelModule()], packets).count == 5)

        var configuration = DNSTunnelModule.Configuration()
        configuration.maxTracked = 100
        let module = DNSTunnelModule(configuration: configuration)
        let pipeline = InspectionPipeline(modules: [module])
        for index in 0..<20_000 {
            let frame = F.dnsQueryFrame(client: "10.\(index % 250).\(index / 250 % 250).1", name: "a.domain\(index).com")
            pipeline.process(InspectSupport.packet(frame, at: Self.t0 + UInt64(index) * 1_000_000)) { _ in }
        }
        #expect(module.trackedCount <= 100)
    }

    @Test("registered domains and entropy")
    func helpers() {
        #expect(DomainName.registeredDomain(F.labels("a.b.Example.CO.uk")) == "example.co.uk")
        #expect(DomainName.registeredDomain(F.labels("x.y.example.com")) == "example.com")
        #expect(DomainName.registeredDomain(F.labels("localhost")) == "localhost")
        #expect(Array(DomainName.subdomainLabels(F.labels("x.y.example.com"))) == F.labels("x.y"))
        var histogram = [UInt32](repeating: 0, count: 256)
        for octet in UInt8(0)..<16 { histogram[Int(octet)] = 4 }
        #expect(abs(DomainName.entropy(histogram, total: 64) - 4) < 1e-9)
    }
}
