import CDPDK

/// The question names (hash and text) of the DNS answers in a frame, read by the parsers the
/// workers use (bma_parse, bma_dns_frame) from plain bytes. Allocates: for offline tools
/// (`bmad replay --decisions` names destinations with it) and tests, never the packet path.
public enum DNSFrameNames {
    /// The name the frame's DNS response answers for, or nil when it gives no A/AAAA answer.
    public static func name(inFrame frame: [UInt8]) -> (hash: UInt64, text: String)? {
        frame.withUnsafeBufferPointer { f -> (UInt64, String)? in
            guard let base = f.baseAddress, !f.isEmpty else { return nil }
            var p = bma_pkt_t()
            bma_parse(base, UInt32(f.count), UInt32(f.count), &p)
            guard p.flags & UInt16(BMA_PF_DNS_RESPONSE) != 0 else { return nil }
            var answers = [bma_dns_answer_t](repeating: bma_dns_answer_t(), count: Int(BMA_DNS_MAX_RECORDS))
            var name = bma_dns_name_t()
            let n = bma_dns_frame(base, UInt32(f.count), &p, 0, &answers, UInt32(answers.count), &name, 0)
            guard n > 0 else { return nil }
            let text = withUnsafeBytes(of: name.text) { String(decoding: $0.prefix(Int(name.len)), as: UTF8.self) }
            return (answers[0].name_hash, text)
        }
    }

    /// Every name answered in `frames`, by hash.
    public static func names(inFrames frames: [[UInt8]]) -> [UInt64: String] {
        var out: [UInt64: String] = [:]
        for f in frames { if let n = name(inFrame: f) { out[n.hash] = n.text } }
        return out
    }
}
