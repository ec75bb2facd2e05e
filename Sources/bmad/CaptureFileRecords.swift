import CPcap
import PacketCapture

/// The records of a capture file as libpcap reads it: pcap (any byte order or resolution) and
/// pcapng, exactly what replay's net_pcap ports (pcap_open_offline) will send.
enum CaptureFileRecords {
    struct Failure: Error, CustomStringConvertible { var description: String }

    static func read(path: String) throws(Failure) -> [PcapRecord] {
        var errbuf = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE) + 1)
        guard let handle = pcap_open_offline_with_tstamp_precision(path, UInt32(PCAP_TSTAMP_PRECISION_NANO), &errbuf) else {
            throw Failure(description: String(cString: errbuf))
        }
        defer { pcap_close(handle) }
        guard pcap_datalink(handle) == DLT_EN10MB else { throw Failure(description: "link type is not Ethernet") }
        var records: [PcapRecord] = []
        var header: UnsafeMutablePointer<pcap_pkthdr>?
        var data: UnsafePointer<UInt8>?
        while true {
            let rc = pcap_next_ex(handle, &header, &data)
            if rc == PCAP_ERROR_BREAK { break }
            guard rc == 1, let h = header?.pointee, let data else {
                throw Failure(description: "record \(records.count + 1): \(String(cString: pcap_geterr(handle)))")
            }
            let ns = UInt64(h.ts.tv_sec) * 1_000_000_000 + UInt64(h.ts.tv_usec) // tv_usec holds ns here
            records.append(PcapRecord(timestampNanoseconds: ns, data: Array(UnsafeBufferPointer(start: data, count: Int(h.caplen))),
                                      originalLength: h.len))
        }
        return records
    }
}
