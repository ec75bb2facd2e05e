import CDPDK

/// DNS answers toward the VM: the address stands for the question name for the answer's TTL
/// (DNSNames), and the name's text is kept for people (NameTexts). Once per answer, off the
/// packet path.
extension Detector {
    /// Takes one answer at `t`; `names` holds the texts its `name` field indexes (bma_dns_burst).
    public mutating func take(_ a: bma_dns_answer_t, names: UnsafePointer<bma_dns_name_t>, at t: UInt64) {
        context.names.learn(a, at: t)
        let n = names + Int(a.name)
        let text = (UnsafeRawPointer(n) + MemoryLayout<bma_dns_name_t>.offset(of: \.text)!).assumingMemoryBound(to: UInt8.self)
        context.texts.record(a.name_hash, text: text, length: Int(n.pointee.len), expiresNs: DNSNames.expiry(a, at: t), at: t,
                             hosts: baseline.hosts)
    }
}
