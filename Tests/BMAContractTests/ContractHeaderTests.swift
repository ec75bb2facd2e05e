import BMAContract
import CDPDK
import Testing

/// The Swift contract and the C shim (include/bma_mirror.h, bma_encap.c) must say the same.
@Suite("contract matches the C header")
struct ContractHeaderTests {
    @Test("encapsulation codes are BMA_ENCAP_*")
    func encapsulationCodes() {
        #expect(MirrorEncapsulation.none.rawValue == UInt8(BMA_ENCAP_NONE))
        #expect(MirrorEncapsulation.vxlan.rawValue == UInt8(BMA_ENCAP_VXLAN))
        #expect(MirrorEncapsulation.geneve.rawValue == UInt8(BMA_ENCAP_GENEVE))
        #expect(MirrorEncapsulation.erspan2.rawValue == UInt8(BMA_ENCAP_ERSPAN2))
        #expect(MirrorEncapsulation.defaultCode == UInt8(BMA_ENCAP_DEFAULT))
        #expect(MirrorEncapsulation.allCases.count == 4)
    }

    @Test("flags are BMA_MF_* and fit the metadata's flags byte")
    func flags() {
        #expect(MirrorFlags.preTrigger.rawValue == UInt8(BMA_MF_PRETRIGGER))
        #expect(MirrorFlags.sticky.rawValue == UInt8(BMA_MF_STICKY))
        #expect(MirrorFlags.truncated.rawValue == UInt8(BMA_MF_TRUNCATED))
        #expect(MirrorFlags.forced.rawValue == UInt8(BMA_MF_FORCED))
        let all = MirrorFlags.all.reduce(into: UInt32(0)) { $0 |= UInt32($1.0.rawValue) }
        #expect(all == UInt32(BMA_MF_PRETRIGGER | BMA_MF_STICKY | BMA_MF_TRUNCATED | BMA_MF_FORCED))
    }

    @Test("Geneve option class, type and version are BMA_GENEVE_OPT_*")
    func geneveConstants() {
        #expect(GeneveOption.optionClass == UInt16(BMA_GENEVE_OPT_CLASS))
        #expect(GeneveOption.type == UInt8(BMA_GENEVE_OPT_TYPE))
        #expect(GeneveOption.version == UInt8(BMA_GENEVE_OPT_VERSION))
    }

    /// What bma_encap_build writes: the ports, the GRE protocol and the option header come from
    /// bma_encap.c's own constants, so the frames are the reference.
    static func build(_ kind: MirrorEncapsulation, flags: MirrorFlags = []) -> [UInt8] {
        var e = bma_encap_t()
        e.kind = UInt32(kind.rawValue)
        e.src_ip = 0x0a00_0001
        e.n_collectors = 1
        withUnsafeMutableBytes(of: &e.collectors) { $0.storeBytes(of: UInt32(0x0a00_0002), as: UInt32.self) }
        var m = bma_mirror_meta_t()
        m.vm_id = 7
        m.flags = UInt16(flags.rawValue)
        var out = [UInt8](repeating: 0, count: 256)
        let n = bma_encap_build(&e, &m, 64, 64, &out, UInt32(out.count))
        return Array(out.prefix(Int(n)))
    }

    static func be16(_ b: [UInt8], _ at: Int) -> UInt16 { UInt16(b[at]) << 8 | UInt16(b[at + 1]) }

    @Test("standard UDP ports and the ERSPAN GRE protocol are what the shim sends")
    func ports() {
        #expect(Self.be16(Self.build(.vxlan), 36) == MirrorWire.vxlanPort)
        #expect(Self.be16(Self.build(.geneve), 36) == MirrorWire.genevePort)
        #expect(Self.be16(Self.build(.erspan2), 36) == MirrorWire.erspanTypeIIProtocol)
    }

    @Test("the Geneve option header and data carry the contract's class, type, length, version and flags")
    func geneveOption() {
        let frame = Self.build(.geneve, flags: [.sticky, .forced])
        // Ethernet 14 + IPv4 20 + UDP 8 + Geneve base 8, then the option header.
        let option = 50
        #expect(frame.count == option + 4 + GeneveOption.dataLength)
        #expect(Self.be16(frame, option) == GeneveOption.optionClass)
        #expect(frame[option + 2] == GeneveOption.type)
        #expect(Int(frame[option + 3] & 0x1f) * 4 == GeneveOption.dataLength)
        #expect(frame[option + 4] == GeneveOption.version)
        #expect(MirrorFlags(rawValue: frame[option + 5]) == [.sticky, .forced])
    }

    @Test("names are distinct and read back")
    func names() {
        #expect(MirrorEncapsulation.names == ["none", "vxlan", "geneve", "erspan2"])
        for kind in MirrorEncapsulation.allCases { #expect(MirrorEncapsulation(name: kind.name) == kind) }
        #expect(MirrorEncapsulation(name: "gre") == nil)
        #expect(MirrorEncapsulation.choices == "none, vxlan, geneve or erspan2")
        #expect(Set(Reason.all.map(\.1)).count == Reason.all.count)
        #expect(Reason.all.count == Reason.count)
        for (bit, (reason, name)) in Reason.all.enumerated() {
            #expect(reason.rawValue == 1 << UInt32(bit))
            #expect(Reason.named(name) == reason)
        }
        #expect(Reason(rawValue: 0b1001).names == ["new-destination", "port-scan"])
        #expect(MirrorFlags(rawValue: 0b0101).names == ["pre-trigger", "truncated"])
    }

    @Test("VM references: numbers are ids, JSON strings are names")
    func vmReference() {
        #expect(VMReference(text: "101") == .id(101))
        #expect(VMReference(text: "web1") == .name("web1"))
        #expect(VMReference.idRange == 1...16_777_215)
        #expect(VMReference.id(5).refers(toID: 5, name: "x"))
        #expect(!VMReference.name("x").refers(toID: 5, name: "y"))
    }
}
