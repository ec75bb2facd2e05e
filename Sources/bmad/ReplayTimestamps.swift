import PacketCapture
import Foundation

/// net_pcap stamps what it writes with the time of writing. After a replay, the frames written to
/// --mirror-out and --forward-out get their capture time back: each written frame is matched, in
/// order, to the next identical frame of one VM's input (both keep each VM's capture order).
enum ReplayTimestamps {
    static func restamp(path: String, inputs: [[PcapRecord]]) throws {
        var reader = try PcapReader(path: path)
        let written = try reader.readAll()
        guard !written.isEmpty else { return }
        var next = Array(repeating: 0, count: inputs.count)
        var out: [PcapRecord] = []
        out.reserveCapacity(written.count)
        for var r in written {
            // The VM whose next matching frame comes soonest in its own capture.
            var best: (vm: Int, index: Int)?
            for (vm, input) in inputs.enumerated() {
                var i = next[vm]
                while i < input.count && input[i].data != r.data { i += 1 }
                if i < input.count && (best == nil || i - next[vm] < best!.index - next[best!.vm]) { best = (vm, i) }
            }
            if let best {
                r.timestampNanoseconds = inputs[best.vm][best.index].timestampNanoseconds
                r.originalLength = max(r.originalLength, inputs[best.vm][best.index].originalLength)
                next[best.vm] = best.index + 1
            }
            out.append(r)
        }
        let tmp = path + ".restamp"
        let w = try PcapWriter(path: tmp, resolution: .microseconds)
        for r in out { try w.write(r) }
        try w.close()
        if rename(tmp, path) != 0 { throw CocoaError(.fileWriteUnknown) }
    }
}
