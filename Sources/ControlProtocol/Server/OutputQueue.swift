/// Response bytes waiting to be written to one connection.
struct OutputQueue {
    private var bytes: [UInt8] = []
    private var offset = 0

    var count: Int { bytes.count - offset }
    var isEmpty: Bool { count == 0 }

    mutating func append(_ data: [UInt8]) {
        if offset > 0 && offset >= bytes.count / 2 {
            bytes.removeSubrange(0..<offset)
            offset = 0
        }
        bytes.append(contentsOf: data)
    }

    /// Offers the pending bytes to `write`, which answers how many it took.
    mutating func drain(_ write: (UnsafeRawBufferPointer) -> Int) -> Int {
        guard !isEmpty else { return 0 }
        let n = bytes.withUnsafeBytes { write(UnsafeRawBufferPointer(rebasing: $0[offset...])) }
        offset += n
        if offset == bytes.count {
            bytes.removeAll(keepingCapacity: bytes.count <= 65536)
            offset = 0
        }
        return n
    }
}
