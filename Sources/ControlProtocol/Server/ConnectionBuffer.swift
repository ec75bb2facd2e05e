/// The bytes received on one connection, cut into lines at '\n'. A line (without its newline)
/// longer than `maxLineBytes` is reported as too large as soon as that is certain.
struct ConnectionBuffer {
    enum Line: Equatable {
        case line([UInt8])
        case tooLarge
    }

    let maxLineBytes: Int
    private var bytes: [UInt8] = []
    /// Where the current, unfinished line starts.
    private var start = 0
    /// How many bytes after `start` are known to hold no newline.
    private var scanned = 0

    init(maxLineBytes: Int) { self.maxLineBytes = maxLineBytes }

    /// Bytes received but not yet returned as a line.
    var pendingCount: Int { bytes.count - start }

    mutating func append(_ chunk: UnsafeRawBufferPointer) {
        if start > 0 && start >= bytes.count / 2 {
            bytes.removeSubrange(0..<start)
            start = 0
        }
        bytes.append(contentsOf: chunk)
    }

    mutating func append(_ chunk: [UInt8]) {
        chunk.withUnsafeBytes { append($0) }
    }

    /// The next complete line; nil when more bytes are needed.
    mutating func nextLine() -> Line? {
        if let newline = scan() {
            let line = Array(bytes[start..<newline])
            start = newline + 1
            scanned = 0
            return .line(line)
        }
        return pendingCount > maxLineBytes ? .tooLarge : nil
    }

    /// Whether `nextLine()` has something to return.
    mutating func hasLine() -> Bool {
        scan() != nil || pendingCount > maxLineBytes
    }

    /// The index of the newline ending the current line, if it has arrived. Remembers how far
    /// it looked, so each byte is examined once.
    private mutating func scan() -> Int? {
        // A newline beyond start + maxLineBytes could only end a line that is too long.
        let limit = min(bytes.count, start + maxLineBytes + 1)
        var i = start + scanned
        while i < limit {
            if bytes[i] == UInt8(ascii: "\n") {
                scanned = i - start
                return i
            }
            i += 1
        }
        scanned = i - start
        return nil
    }

    /// What is left after the last newline (at end of input), emptying the buffer.
    mutating func takeRemainder() -> [UInt8] {
        let rest = Array(bytes[start...])
        bytes = []
        start = 0
        scanned = 0
        return rest
    }
}
